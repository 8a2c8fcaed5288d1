"""Terraform 참조 ("AWS Console 직접 수정 금지") and 배포 방식 ("수동 배포 금지"): since the previous report, every
write CloudTrail recorded on the environment's resources was made by a principal the spec allows (the Terraform
role, the CI deploy role). Read-only calls, failed calls and changes to other environments are not findings."""

import pytest

from viewster_infra import changes
from viewster_infra.findings import drift, note

pytestmark = pytest.mark.aws(
    "cloudtrail", "terraform", "ec2", "rds", "s3", "ecr", "cloudwatch", "sns", "lambda", "route53", "ssm"
)


def test_changes_only_by_allowed_principals(changed_service, aws, run):
    trail = aws.facts("cloudtrail")
    known = changes.estate(aws.facts("terraform"), {s: aws.facts(s) for s in changes.UNMANAGED_SERVICES if s != "tag"})
    events = [e for e in trail["writes"] if e["source"] == changed_service.want and not e.get("error")]
    mine = [e for e in events if changes.touches(e, known, run.spec)]
    note("window", f"{trail['since']} to {trail['until']} ({', '.join(trail['regions'])}): {len(mine)} change(s)")
    outside = [e for e in mine if changes.allowed_as(e, run.spec) is None]
    if outside:
        allowed = ", ".join(run.spec.changes.principals)
        drift(
            f"{run.env} {changed_service.label}",
            f"{len(outside)} change(s) by someone other than {allowed}: " + "; ".join(map(changes.describe, outside)),
            prop="changed by",
            expected=allowed,
            found="; ".join(changes.who(e) for e in outside),
        )
