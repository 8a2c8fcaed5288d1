"""ECR 리포지토리 and 점검 절차 6: scan on push, and a `latest` image to deploy."""

import pytest

from viewster_infra.findings import expect, expect_includes, require

pytestmark = pytest.mark.aws("ecr")  # the AWS services these checks read (prefetch.py)


def _repository(repository, aws):
    return require(repository.label, aws.facts("ecr")["repositories"][repository.key], "no such repository")


def test_ecr_scan_on_push(repository, aws):
    expect(repository.label, "scan on push", repository.want.scan_on_push, _repository(repository, aws)["scan_on_push"])


def test_ecr_required_tags(repository, aws):
    found = _repository(repository, aws)["tags"]
    for tag in repository.want.required_tags:
        expect_includes(repository.label, "image tags", tag, found)
