"""The database's own live state, each check failing on what happens to a real database: slow statements run
against the sandbox's PostgreSQL (its Performance Insights reads that server's pg_stat_statements), a reboot, storage
exhausted, maintenance AWS scheduled; and the settings the slow-query check needs. No statement's value ever
reaches an output: the tests plant recognisable literals and look for them everywhere."""

import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import requests

from tests_unit.harness import proves, set_live
from viewster_infra.sandbox.hosts.lifecycle import statistics_dsn
from viewster_infra.sandbox.moto_server import RDS_EVENTS_PATH, RDS_MAINTENANCE_PATH

DB = "viewster-staging-database"
LABEL = f"rds {DB}"
PLANTED = "Kim Minji 010-9876-5432"  # a value a query might carry: it must never be shown
CHECKS = "slow_statements or events_needing or maintenance_due or sql_statistics or performance_insights or rds_parameter_group"
AT = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"


def database(sandbox):
    return psycopg.connect(statistics_dsn(sandbox.state.hosts["hosts"]["database"]["address"]), autocommit=True)


def run(sandbox, *args):
    return sandbox.run("-k", CHECKS, *args)


def everything_said(result) -> str:
    """What a person or a machine could read of a run: messages, report sections, the JSON report."""
    return json.dumps(result.messages) + json.dumps(result.sections) + json.dumps(result.report)


def test_the_compliant_database_passes_with_three_more_requests(staging_hosts):
    result = run(staging_hosts)
    assert result.exit_code == 0, result.failures
    assert {name.split("[")[0] for name in result.outcomes} == {
        "test_rds_no_slow_statements",
        "test_rds_no_events_needing_attention",
        "test_rds_no_maintenance_due",
        "test_rds_sql_statistics_collected",
        "test_rds_performance_insights_enabled",
        "test_rds_parameter_group",
    }
    operations = result.operations
    assert operations["pi:DescribeDimensionKeys"] == 1
    assert operations["rds:DescribeEvents"] == operations["rds:DescribePendingMaintenanceActions"] == 1


@proves("test_rds_no_slow_statements")
def test_a_slow_statement_is_named_without_its_values(staging_hosts):
    with database(staging_hosts) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS members (id int, phone text)")
        for _ in range(2):
            connection.execute(f"SELECT pg_sleep(1.1), count(*) FROM members WHERE phone = '{PLANTED}'")
        connection.execute(f"DO $$BEGIN PERFORM pg_sleep(1.05); PERFORM '{PLANTED}'; END$$")  # kept as written
    result = run(staging_hosts)
    failures = result.failures
    finding = failures.pop("test_rds_no_slow_statements[staging-database]")
    assert failures == {}
    assert finding.startswith(
        f"{LABEL}: slow statements expected none over 1000 ms a call or 50% of the load, found "
        '"SELECT pg_sleep($1), count(*) FROM members WHERE phone = $2" 2 calls, mean 11'
    )
    assert '"DO ?" 1 calls, mean 10' in finding
    assert PLANTED not in everything_said(result) and "010-9876" not in everything_said(result)


def test_a_statement_carrying_most_of_a_busy_databases_load(staging_hosts, spec_copy):
    """Fast per call (200 ms), but most of the load while the database is busy (the floor lowered to this test's
    scale: the stand-in spreads what pg_stat_statements counted over the whole hour)."""
    set_live(spec_copy, slow_statement_share_min_load=0.0001)
    with database(staging_hosts) as connection:
        for _ in range(5):
            connection.execute("SELECT pg_sleep(0.2)")
        connection.execute("SELECT 1")
    result = run(staging_hosts, f"--spec-dir={spec_copy}")
    failures = result.failures
    assert re.fullmatch(
        rf'{LABEL}: slow statements expected none over 1000 ms a call or 50% of the load, found "SELECT pg_sleep\(\$1\)" '
        r"5 calls, mean 20\d ms, (9\d|100)% of the load",
        failures.pop("test_rds_no_slow_statements[staging-database]"),
    )
    assert failures == {}


@proves("test_rds_sql_statistics_collected")
def test_without_pg_stat_statements_there_are_no_sql_statistics(staging_hosts):
    """As Performance Insights without pg_stat_statements: it sees what runs (sampled), not calls or time per call."""
    with database(staging_hosts) as connection:
        connection.execute("DROP EXTENSION pg_stat_statements")
    sleeper = threading.Thread(target=lambda: database(staging_hosts).execute("SELECT pg_sleep(4)"))
    sleeper.start()
    with database(staging_hosts) as connection:  # running before the suite samples what runs
        while not connection.execute("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(4)'").fetchall():
            time.sleep(0.02)
    try:
        result = run(staging_hosts)
    finally:
        sleeper.join()
        with database(staging_hosts) as connection:
            connection.execute("CREATE EXTENSION pg_stat_statements")
    assert result.failures == {
        "test_rds_sql_statistics_collected[staging-database]": f"{LABEL}: SQL statistics (calls, time per call) "
        "expected collected, found none: pg_stat_statements is not loaded (shared_preload_libraries of "
        "viewster-staging-postgres15)"
    }


@proves("test_rds_no_events_needing_attention")
def test_a_reboot_shows_as_an_event(staging_hosts):
    staging_hosts.client("rds", staging_hosts.person()).reboot_db_instance(DBInstanceIdentifier=DB)
    staging_hosts.restart_host("database")  # the stand-in really restarts: connections drop, statistics go
    failures = run(staging_hosts).failures
    assert re.fullmatch(
        rf"{LABEL}: events in the last 60 min expected none of availability, failover, failure, low storage, "
        rf"recovery, found {AT} availability: DB instance shutdown; {AT} availability: DB instance restarted",
        failures.pop("test_rds_no_events_needing_attention[staging-database]"),
    )
    assert failures == {}


def test_storage_exhausted_fails_and_a_backup_is_a_note(staging_hosts):
    endpoint = staging_hosts.state.aws_endpoint_url
    for categories, message in (
        (["backup"], "Backing up DB instance"),
        (["low storage"], "Allocated storage has been exhausted"),
    ):
        requests.post(
            f"{endpoint}{RDS_EVENTS_PATH}", json={"identifier": DB, "categories": categories, "message": message}
        ).raise_for_status()
    result = run(staging_hosts)
    assert re.fullmatch(
        rf"{LABEL}: events in the last 60 min expected none of .*, found {AT} low storage: Allocated storage has been "
        "exhausted",
        result.failures["test_rds_no_events_needing_attention[staging-database]"],
    )
    assert "backup: Backing up DB instance" in result.sections["test_rds_no_events_needing_attention[staging-database]"]


@proves("test_rds_no_maintenance_due")
@pytest.mark.parametrize(("days", "fails"), [(3, True), (30, False)])
def test_maintenance_inside_the_notice_fails_and_later_is_a_note(staging_hosts, days, fails):
    when = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    requests.post(
        f"{staging_hosts.state.aws_endpoint_url}{RDS_MAINTENANCE_PATH}",
        json={
            "identifier": DB,
            "action": "system-update",
            "apply_date": when.isoformat(),
            "description": "New Operating System update is available",
        },
    ).raise_for_status()
    result = run(staging_hosts)
    said = f"system-update on {when:%Y-%m-%d %H:%M} UTC: New Operating System update is available"
    check = "test_rds_no_maintenance_due[staging-database]"
    if fails:
        assert result.failures == {check: f"{LABEL}: maintenance due expected none within 7 days, found {said}"}
    else:
        assert result.exit_code == 0 and said in result.sections[check]


def test_a_static_parameter_change_waits_for_a_reboot_as_a_note(staging_hosts):
    staging_hosts.client("rds").modify_db_parameter_group(
        DBParameterGroupName="viewster-staging-postgres15",
        Parameters=[{"ParameterName": "shared_buffers", "ParameterValue": "32768", "ApplyMethod": "pending-reboot"}],
    )
    result = run(staging_hosts)
    assert result.exit_code == 0, result.failures
    assert (
        "viewster-staging-postgres15: its changes apply at the instance's next reboot"
        in result.sections["test_rds_no_maintenance_due[staging-database]"]
    )


@proves("test_rds_performance_insights_enabled", "test_rds_parameter_group")
def test_performance_insights_off_and_another_parameter_group(staging_hosts):
    rds = staging_hosts.client("rds")
    rds.create_db_parameter_group(
        DBParameterGroupName="hand-made-postgres15", DBParameterGroupFamily="postgres15", Description="by hand"
    )
    rds.modify_db_instance(
        DBInstanceIdentifier=DB,
        EnablePerformanceInsights=False,
        DBParameterGroupName="hand-made-postgres15",
        ApplyImmediately=True,
    )
    result = run(staging_hosts)
    assert result.failures == {
        "test_rds_performance_insights_enabled[staging-database]": f"{LABEL}: Performance Insights expected True, "
        "found False",
        "test_rds_parameter_group[staging-database]": f"{LABEL}: parameter group expected "
        "'viewster-staging-postgres15', found 'hand-made-postgres15'",
        "test_rds_no_slow_statements[staging-database]": f"{LABEL} Performance Insights: not found (not enabled on "
        "the instance)",
        "test_rds_sql_statistics_collected[staging-database]": f"{LABEL} Performance Insights: not found (not "
        "enabled on the instance)",
    }
