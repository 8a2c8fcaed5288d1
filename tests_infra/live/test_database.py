"""점검 절차 4 and CloudWatch 메트릭 조회: over the spec's window the database's CPU stays under 70%, its free
storage above 5 GB, and its connections in the normal range."""

from statistics import mean

import pytest

from viewster_infra.findings import chart, drift, require
from viewster_infra.live import datapoints

pytestmark = pytest.mark.aws("cloudwatch", "rds")  # the AWS services these checks read (prefetch.py)

GIB = 2**30


def _values(database, aws, spec, metric: str) -> list[float]:
    require(database.label, aws.facts("rds")["databases"][database.key], "no database of that identifier")
    return datapoints(database.label, metric, aws, "databases", database.key, spec)


def test_rds_cpu_utilization_average(database, aws, spec):
    values = _values(database, aws, spec, "CPUUtilization")
    average, limit = mean(values), spec.live.rds_cpu_average_max_percent
    chart("CPUUtilization", values, limit, "%")
    if average >= limit:
        drift(database.label, prop="CPUUtilization average (%)", expected=f"under {limit:g}", found=f"{average:.1f}")


def test_rds_free_storage_minimum(database, aws, spec):
    values = _values(database, aws, spec, "FreeStorageSpace")
    lowest, floor = min(values), spec.live.rds_free_storage_min
    chart("FreeStorageSpace", values, floor, "GiB", breaks="below")
    if lowest <= floor:
        drift(
            database.label,
            prop="FreeStorageSpace minimum (GiB)",
            expected=f"above {floor / GIB:g}",
            found=f"{lowest / GIB:.2f}",
        )


def test_rds_connections_maximum(database, aws, spec):
    values = _values(database, aws, spec, "DatabaseConnections")
    highest, limit = max(values), spec.live.rds_connections_max
    chart("DatabaseConnections", values, limit, "connections")
    if highest >= limit:
        drift(database.label, prop="DatabaseConnections maximum", expected=f"under {limit}", found=f"{highest:g}")
