"""SSM Parameter Store: existence and type of each parameter the spec names, and the names of every parameter under
the environment's path (changes.parameters_path).

Only DescribeParameters is used: it returns metadata and never a value (GetParameter* is refused by the
read-only guard for that reason). One paginated read covers both: the parameters under the longest path that holds
the spec's names and the environment's path ("/viewster"), and the environment's own are picked from those.
"""

from __future__ import annotations

import posixpath

from viewster_infra.aws.collectors._common import RunOptions, paginate
from viewster_infra.spec.model import EnvironmentSpec


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    own = spec.changes.parameters_path.rstrip("/")
    names = sorted({p.name for p in spec.ssm.parameters.values()})
    under = posixpath.commonpath([*names, own + "/"])
    filters = [{"Key": "Path", "Option": "Recursive", "Values": [under]}] if under != "/" else []
    found = {
        p["Name"]: p
        for p in paginate(reader.client("ssm"), "describe_parameters", "Parameters", ParameterFilters=filters)
    }
    return {
        "parameters": {
            key: {"name": want.name, "type": found[want.name]["Type"]} if want.name in found else None
            for key, want in spec.ssm.parameters.items()
        },
        "all_parameters": sorted(name for name in found if name.startswith(own + "/")),
    }
