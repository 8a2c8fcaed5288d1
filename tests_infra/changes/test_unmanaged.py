"""Terraform 참조: nothing of the environment exists in AWS that neither its Terraform state nor the spec knows (an
instance launched by hand, a rule added in the console, a bucket, parameter or record made by hand). AWS's own
defaults (the VPC's default security group, a zone's NS and SOA, interfaces AWS manages) are not findings."""

import pytest

from viewster_infra import changes
from viewster_infra.findings import drift

pytestmark = pytest.mark.aws(
    "terraform", "ec2", "rds", "s3", "ecr", "cloudwatch", "sns", "lambda", "route53", "ssm", "tag"
)


def test_no_unmanaged_resources(unmanaged_kind, aws, run):
    service, label = unmanaged_kind.want
    state = aws.facts("terraform")
    facts = aws.facts(service)
    # What the spec names, as AWS has it: the kind's own service's, and every service's for tagged resources
    services = changes.UNMANAGED_SERVICES if unmanaged_kind.key == "tagged" else [service]
    known = changes.estate(state, {s: aws.facts(s) for s in services if s != "tag"})
    found = changes.unmanaged(unmanaged_kind.key, run.spec, facts, state, known)
    if len(found) == 1:
        resource, what = found[0]
        drift(
            resource,
            f"in neither the Terraform state nor the spec ({what})",
            prop="managed",
            expected="True",
            found="False",
        )
    if found:
        listed = "; ".join(f"{resource} ({what})" for resource, what in found)
        drift(
            f"{run.env} {unmanaged_kind.label}",
            f"{len(found)} in neither the Terraform state nor the spec: {listed}",
            prop="managed",
            expected="True",
            found=f"{len(found)} unmanaged",
        )
