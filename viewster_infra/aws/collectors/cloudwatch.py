"""CloudWatch: the alarms the spec names (one paginated read) with their state, the metric namespaces each dashboard
shows, and the live metrics of the instances and databases over the spec's window: all of them in one
GetMetricData request (it takes up to 500 queries), however many metrics the spec names."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from viewster_infra.aws.collectors._common import RunOptions, paginate
from viewster_infra.spec.model import EnvironmentSpec

# What each live check reads: (metric, the statistic per period). The window's figure is then the average of the
# averages (CPU), the lowest minimum (credits, free storage) or the highest maximum (connections).
INSTANCE_METRICS = {"CPUUtilization": "Average", "CPUCreditBalance": "Minimum"}
DATABASE_METRICS = {"CPUUtilization": "Average", "FreeStorageSpace": "Minimum", "DatabaseConnections": "Maximum"}


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    cloudwatch = reader.client("cloudwatch")
    dashboards = list(spec.cloudwatch.dashboards.items())
    # Alarms, each dashboard and the metrics at once (the metrics wait for the EC2 facts, for instance ids).
    found_alarms, metrics, *found_dashboards = reader.parallel(
        lambda: list(paginate(cloudwatch, "describe_alarms", "MetricAlarms", AlarmTypes=["MetricAlarm"])),
        lambda: _metrics(cloudwatch, spec, options.facts("ec2")),
        *[lambda name=want.name: _dashboard(cloudwatch, name) for _, want in dashboards],
    )
    alarms = {a["AlarmName"]: a for a in found_alarms}
    return {
        "alarms": {key: _alarm(alarms.get(want.name)) for key, want in spec.cloudwatch.alarms.items()},
        "dashboards": {key: found for (key, _), found in zip(dashboards, found_dashboards, strict=True)},
        "metrics": metrics,
        "all_alarms": sorted(alarms),
    }


def _metrics(cloudwatch, spec: EnvironmentSpec, ec2: dict | None) -> dict:
    """Datapoints per (instances|databases, spec key, metric), newest first; an instance whose id the EC2 facts do
    not give has None."""
    queries, where = [], {}
    instances = (ec2 or {}).get("instances", {})
    targets = [
        ("instances", key, "AWS/EC2", "InstanceId", (instances.get(key) or {}).get("id"), INSTANCE_METRICS)
        for key in spec.ec2.instances
    ]
    targets += [
        ("databases", key, "AWS/RDS", "DBInstanceIdentifier", db.identifier, DATABASE_METRICS)
        for key, db in spec.rds.databases.items()
    ]
    found: dict = {"instances": {}, "databases": {}}
    for kind, key, namespace, dimension, value, metrics in targets:
        found[kind][key] = None if value is None else {}
        for metric, statistic in metrics.items() if value is not None else ():
            query_id = f"q{len(queries)}"
            where[query_id] = (kind, key, metric)
            queries.append(
                {
                    "Id": query_id,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": namespace,
                            "MetricName": metric,
                            "Dimensions": [{"Name": dimension, "Value": value}],
                        },
                        "Period": spec.live.period_seconds,
                        "Stat": statistic,
                    },
                }
            )
    end = datetime.now(UTC)
    start = end - timedelta(minutes=spec.live.window_minutes)
    if queries:
        pages = cloudwatch.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampDescending"
        )
        for page in pages:
            for result in page["MetricDataResults"]:
                kind, key, metric = where[result["Id"]]
                found[kind][key].setdefault(metric, []).extend(result.get("Values", []))
    return found


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
        "state_reason": alarm.get("StateReason"),
        "state_since": alarm["StateUpdatedTimestamp"].isoformat() if alarm.get("StateUpdatedTimestamp") else None,
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
