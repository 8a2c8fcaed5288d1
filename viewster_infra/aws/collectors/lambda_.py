"""Lambda: each function the spec names. Only names and ARNs are kept: a function's configuration can carry
secrets in its environment variables, and nothing of it is stored."""

from __future__ import annotations

from viewster_infra.aws.collectors._common import RunOptions, paginate
from viewster_infra.spec.model import EnvironmentSpec


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    arns = {
        f["FunctionName"]: f["FunctionArn"] for f in paginate(reader.client("lambda"), "list_functions", "Functions")
    }
    return {
        "functions": {
            key: {"name": want.name, "arn": arns[want.name]} if want.name in arns else None
            for key, want in spec.lambda_.functions.items()
        },
        "all_functions": sorted(arns),
    }
