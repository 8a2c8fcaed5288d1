"""Cost Explorer (비용 조회): this month's unblended cost so far, per service, for the environment's tag. One
request (pages followed), in us-east-1 where Cost Explorer answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from viewster_infra.aws.collectors._common import RunOptions
from viewster_infra.spec.model import EnvironmentSpec


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    ce = reader.client("ce", region=spec.cost.region)
    today = datetime.now(UTC).date()
    start, end = today.replace(day=1), today + timedelta(days=1)  # End is exclusive: today's partial day counts
    environment = spec.vpc.tags.get(spec.cost.environment_tag)
    request = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "MONTHLY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}],
        "Filter": {"Tags": {"Key": spec.cost.environment_tag, "Values": [environment]}},
    }
    per_service: dict[str, float] = {}
    unit = None
    while True:
        page = ce.get_cost_and_usage(**request)
        for period in page.get("ResultsByTime", []):
            for group in period.get("Groups", []):
                amount = group["Metrics"]["UnblendedCost"]
                per_service[group["Keys"][0]] = per_service.get(group["Keys"][0], 0.0) + float(amount["Amount"])
                unit = amount.get("Unit", unit)
        if not page.get("NextPageToken"):
            break
        request["NextPageToken"] = page["NextPageToken"]
    return {"from": start.isoformat(), "to": today.isoformat(), "unit": unit, "per_service": per_service}
