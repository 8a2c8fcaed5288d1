"""Terraform 참조 ("인프라 변경은 반드시 Terraform을 통해 수행한다. AWS Console 직접 수정 금지"): every resource the
spec names is in the environment's Terraform state with the id AWS has, and what the spec checks of it reads the
same in the state as in AWS. A difference is a change Terraform has not seen (a console edit) or a resource
replaced or deleted outside it."""

import pytest

from viewster_infra import terraform
from viewster_infra.findings import drift

# The services whose facts give the spec's resources, and the state itself (prefetch.py).
pytestmark = pytest.mark.aws("terraform", "ec2", "rds", "s3", "ecr", "cloudwatch", "sns", "lambda", "route53", "ssm")


def _in_state(managed, aws, run) -> tuple[dict, dict | None]:
    """(the state's facts, the state's resource of this spec entry or None). A parameter another environment's
    state manages (ssm.parameters.*.state_of) is not a parameter of this one's checks (expectations.py)."""
    kind, naming = managed.want
    state = aws.facts("terraform")
    return state, terraform.in_state(state, kind, naming)


def test_terraform_manages_resource(managed, aws, run):
    kind, naming = managed.want
    state, resource = _in_state(managed, aws, run)
    if resource is None:
        drift(
            managed.label,
            f"not in the Terraform state ({state['location']} has no {kind.tf_type} for it)",
            prop="in Terraform state",
            expected=kind.tf_type,
            found="none",
        )
    address, state_id = resource["address"], resource["attributes"].get("id")
    facts = aws.facts(kind.service)
    found = kind.aws(facts, managed.key)
    if found is None:
        drift(
            managed.label,
            f"deleted outside Terraform: the state has {address} = {state_id}, AWS has none",
            prop="exists",
            expected=f"{address} = {state_id}",
            found="none",
        )
    aws_id = kind.aws_id(found, facts, naming)
    if aws_id != state_id:
        drift(
            managed.label,
            f"replaced outside Terraform: the state has {address} = {state_id}, AWS has {aws_id}",
            prop="id",
            expected=str(state_id),
            found=str(aws_id),
        )


def test_terraform_state_matches_aws(compared_resource, aws, run):
    managed = compared_resource
    kind, _ = managed.want
    _, resource = _in_state(managed, aws, run)
    found = kind.aws(aws.facts(kind.service), managed.key)
    if resource is None or found is None:
        pytest.skip("not both in the state and in AWS: test_terraform_manages_resource says which")
    differ = [
        (attribute.label, attribute.state(resource["attributes"]), attribute.aws(found))
        for attribute in kind.compared
        if attribute.state(resource["attributes"]) != attribute.aws(found)
    ]
    if differ:
        said = "; ".join(_difference(label, state, now) for label, state, now in differ)
        drift(
            managed.label,
            f"changed outside Terraform: {said}",
            prop=", ".join(label for label, _, _ in differ),
            expected="; ".join(repr(state) for _, state, _ in differ),
            found="; ".join(repr(now) for _, _, now in differ),
        )


def _difference(label: str, state, now) -> str:
    """ "state says instance class 'db.t3.micro', AWS says 'db.t3.small'"; for a list (rules, groups, values), only
    what one side has and the other has not."""
    if isinstance(state, list) and isinstance(now, list):
        added, gone = [v for v in now if v not in state], [v for v in state if v not in now]
        parts = [f"AWS has {', '.join(map(str, added))}, the state has not"] if added else []
        parts += [f"the state has {', '.join(map(str, gone))}, AWS has not"] if gone else []
        return f"{label}: " + "; ".join(parts)
    return f"state says {label} {state!r}, AWS says {now!r}"
