"""What live checks share: the datapoints of one metric over the spec's window, or a finding that there are none
(no data is its own finding, never a pass)."""

from __future__ import annotations

from viewster_infra.findings import drift


def datapoints(label: str, metric: str, aws, kind: str, key: str, spec) -> list[float]:
    """Datapoints of `metric` for the instance or database `key` (kind: "instances" or "databases")."""
    per_metric = aws.facts("cloudwatch")["metrics"][kind][key]
    if per_metric is None:
        drift(label, f"{metric}: not read (the EC2 facts give no instance id)", cause=label)
    values = per_metric.get(metric) or []
    if not values:
        drift(label, f"{metric}: no data in the last {spec.live.window_minutes} min")
    return values
