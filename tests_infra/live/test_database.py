"""점검 절차 4 and CloudWatch 메트릭 조회: over the spec's window the database's CPU stays under 70%, its free
storage above 5 GB, and its connections in the normal range."""

from statistics import mean

from viewster_infra.findings import drift, require
from viewster_infra.live import datapoints

GIB = 2**30


def _values(database, aws, spec, metric: str) -> list[float]:
    require(database.label, aws.facts("rds")["databases"][database.key], "no database of that identifier")
    return datapoints(database.label, metric, aws, "databases", database.key, spec)


def test_rds_cpu_utilization_average(database, aws, spec):
    average = mean(_values(database, aws, spec, "CPUUtilization"))
    limit = spec.live.rds_cpu_average_max_percent
    if average >= limit:
        drift(database.label, f"CPUUtilization average (%) expected under {limit:g}, found {average:.1f}")


def test_rds_free_storage_minimum(database, aws, spec):
    lowest = min(_values(database, aws, spec, "FreeStorageSpace"))
    floor = spec.live.rds_free_storage_min
    if lowest <= floor:
        drift(
            database.label, f"FreeStorageSpace minimum (GiB) expected above {floor / GIB:g}, found {lowest / GIB:.2f}"
        )


def test_rds_connections_maximum(database, aws, spec):
    highest = max(_values(database, aws, spec, "DatabaseConnections"))
    limit = spec.live.rds_connections_max
    if highest >= limit:
        drift(database.label, f"DatabaseConnections maximum expected under {limit}, found {highest:g}")
