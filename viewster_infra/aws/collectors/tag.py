"""Resource Groups Tagging API: the ARN of every resource tagged with the environment (its cost allocation tag,
cost.environment_tag), whatever the service: one paginated read finds what no other collector lists."""

from __future__ import annotations

from viewster_infra.aws.collectors._common import RunOptions, paginate
from viewster_infra.spec.model import EnvironmentSpec


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    env = spec.vpc.tags.get(spec.cost.environment_tag)
    tagged = paginate(
        reader.client("resourcegroupstaggingapi"),
        "get_resources",
        "ResourceTagMappingList",
        TagFilters=[{"Key": spec.cost.environment_tag, "Values": [env]}],
    )
    return {"tag": {spec.cost.environment_tag: env}, "arns": sorted(r["ResourceARN"] for r in tagged)}
