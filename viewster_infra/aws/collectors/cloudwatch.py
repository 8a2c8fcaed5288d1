"""CloudWatch: the alarms the spec names (one paginated read) and the metric namespaces each dashboard shows."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from viewster_infra.aws.collectors._common import RunOptions, paginate
from viewster_infra.spec.model import EnvironmentSpec


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    cloudwatch = reader.client("cloudwatch")
    alarms = {
        a["AlarmName"]: a for a in paginate(cloudwatch, "describe_alarms", "MetricAlarms", AlarmTypes=["MetricAlarm"])
    }
    return {
        "alarms": {key: _alarm(alarms.get(want.name)) for key, want in spec.cloudwatch.alarms.items()},
        "dashboards": {key: _dashboard(cloudwatch, want.name) for key, want in spec.cloudwatch.dashboards.items()},
    }


def _alarm(alarm: dict | None) -> dict | None:
    if alarm is None:
        return None
    return {
        "name": alarm["AlarmName"],
        "namespace": alarm.get("Namespace"),
        "metric": alarm.get("MetricName"),
        "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])},
        "statistic": alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
        "comparison": alarm["ComparisonOperator"],
        "threshold": alarm.get("Threshold"),
        "period_seconds": alarm.get("Period"),
        "evaluation_periods": alarm["EvaluationPeriods"],
        "actions_enabled": alarm.get("ActionsEnabled", True),
        "alarm_actions": sorted(alarm.get("AlarmActions", [])),
        "state": alarm.get("StateValue"),
    }


def _dashboard(cloudwatch, name: str) -> dict | None:
    try:
        body = cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFound":
            return None
        raise
    return {"name": name, "namespaces": sorted(_namespaces(json.loads(body)))}


def _namespaces(body: dict) -> set[str]:
    """Namespaces of every metric a dashboard widget plots: a metric row starts with its namespace."""
    found = set()
    for widget in body.get("widgets", []):
        for row in widget.get("properties", {}).get("metrics", []):
            if row and isinstance(row[0], str) and not row[0].startswith("..."):
                found.add(row[0])
    return found
