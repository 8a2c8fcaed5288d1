"""SNS: each topic the spec names and who subscribes to it."""

from __future__ import annotations

from viewster_infra.aws.collectors._common import RunOptions, paginate
from viewster_infra.spec.model import EnvironmentSpec


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    sns = reader.client("sns")
    arns = {arn.rsplit(":", 1)[1]: arn for arn in (t["TopicArn"] for t in paginate(sns, "list_topics", "Topics"))}
    subscriptions = list(paginate(sns, "list_subscriptions", "Subscriptions"))
    topics = {}
    for key, want in spec.sns.topics.items():
        arn = arns.get(want.name)
        topics[key] = (
            None
            if arn is None
            else {
                "arn": arn,
                "subscriptions": sorted([s["Protocol"], s["Endpoint"]] for s in subscriptions if s["TopicArn"] == arn),
            }
        )
    return {"topics": topics, "all_topics": sorted(arns.values())}
