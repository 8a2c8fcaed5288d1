"""Performance Insights: each database's statements over the live window, by their share of its load
(`pi:DescribeDimensionKeys` grouped by db.sql_tokenized, db.load.avg, with the per-call SQL statistics RDS for
PostgreSQL takes from pg_stat_statements). One request per database with Performance Insights on (the RDS facts say
which, and give its DbiResourceId). Each statement is kept normalised (sql_text.py): its shape, never a value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from viewster_infra import sql_text
from viewster_infra.aws.collectors._common import RunOptions
from viewster_infra.spec.model import EnvironmentSpec

LATENCY = "db.sql_tokenized.stats.avg_latency_per_call.avg"  # ms per call
CALLS = "db.sql_tokenized.stats.calls_per_sec.avg"
TOP_STATEMENTS = 25  # the API's largest group


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    rds = (options.facts("rds") or {}).get("databases") or {}
    end = datetime.now(UTC)
    start = end - timedelta(minutes=spec.live.window_minutes)
    wanted = [(key, db) for key, db in rds.items() if db and db["performance_insights"] and db["resource_id"]]
    found = reader.parallel(*[lambda db=db: _statements(reader, db["resource_id"], start, end) for _, db in wanted])
    read = dict(zip((key for key, _ in wanted), found, strict=True))
    return {
        "window": {"start": start.isoformat(timespec="seconds"), "end": end.isoformat(timespec="seconds")},
        "databases": {key: read.get(key) for key in spec.rds.databases},
    }


def _statements(reader, resource_id: str, start: datetime, end: datetime) -> dict:
    answer = reader.client("pi").describe_dimension_keys(
        ServiceType="RDS",
        Identifier=resource_id,
        StartTime=start,
        EndTime=end,
        Metric="db.load.avg",
        GroupBy={"Group": "db.sql_tokenized", "Limit": TOP_STATEMENTS},
        AdditionalMetrics=[LATENCY, CALLS],
    )
    seconds = (end - start).total_seconds()
    statements = []
    for key in answer.get("Keys", []):
        dimensions, extra = key.get("Dimensions", {}), key.get("AdditionalMetrics") or {}
        statements.append(
            {
                "id": dimensions.get("db.sql_tokenized.id"),
                "statement": sql_text.normalised(dimensions.get("db.sql_tokenized.statement", "")),
                "load": key.get("Total", 0.0),  # average active sessions over the window
                "mean_ms": extra.get(LATENCY),
                "calls": round(extra[CALLS] * seconds) if CALLS in extra else None,
            }
        )
    return {
        "statements": statements,
        # pg_stat_statements loaded: the per-call statistics come with the statements
        "sql_statistics": any(s["mean_ms"] is not None for s in statements) if statements else None,
    }
