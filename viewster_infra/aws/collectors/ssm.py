"""SSM Parameter Store: existence and type of each parameter the spec names.

Only DescribeParameters is used: it returns metadata and never a value (GetParameter* is refused by the
read-only guard for that reason).
"""

from __future__ import annotations

from viewster_infra.aws.collectors._common import RunOptions, paginate
from viewster_infra.spec.model import EnvironmentSpec


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    names = sorted({p.name for p in spec.ssm.parameters.values()})
    found = {
        p["Name"]: p
        for p in paginate(
            reader.client("ssm"),
            "describe_parameters",
            "Parameters",
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": names}],
        )
    }
    return {
        "parameters": {
            key: {"name": want.name, "type": found[want.name]["Type"]} if want.name in found else None
            for key, want in spec.ssm.parameters.items()
        }
    }
