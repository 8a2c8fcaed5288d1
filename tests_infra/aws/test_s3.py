"""S3 버킷 and 점검 절차 5: versioning, AES256 default encryption, lifecycle, public access blocked."""

import pytest

from viewster_infra.findings import expect, require

pytestmark = pytest.mark.aws("s3")  # the AWS services these checks read (prefetch.py)

PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _bucket(bucket, aws):
    return require(bucket.label, aws.facts("s3")["buckets"][bucket.key], "no such bucket")


def test_s3_versioning(bucket, aws):
    expect(bucket.label, "versioning", bucket.want.versioning, _bucket(bucket, aws)["versioning"])


def test_s3_default_encryption(bucket, aws):
    expect(bucket.label, "default encryption", [bucket.want.encryption], _bucket(bucket, aws)["encryption"])


def test_s3_lifecycle_transitions(bucket, aws):
    expected = {(t.days, t.storage_class) for t in bucket.want.lifecycle.transitions}
    found = {tuple(t) for t in _bucket(bucket, aws)["lifecycle_transitions"]}
    expect(bucket.label, "lifecycle transitions (days, storage class)", expected, found)


def test_s3_noncurrent_version_expiration(bucket, aws):
    expected = [bucket.want.lifecycle.noncurrent_version_expiration_days]
    found = _bucket(bucket, aws)["noncurrent_version_expiration_days"]
    expect(bucket.label, "noncurrent version expiration (days)", expected, found)


def test_s3_public_access_blocked(bucket, aws):
    block = _bucket(bucket, aws)["public_access_block"]
    found = {flag: block.get(flag, False) for flag in PUBLIC_ACCESS_FLAGS}
    expected = {flag: bucket.want.block_public_access for flag in PUBLIC_ACCESS_FLAGS}
    expect(bucket.label, "public access block", expected, found)
