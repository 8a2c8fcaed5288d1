"""아키텍처 (RDS) and 점검 절차 4: the PostgreSQL instance's engine, size, storage, exposure and backups; and what the
slow-query check (높은 CPU 사용률 4) needs of it: its parameter group, Performance Insights, SQL statistics."""

import pytest

from tests_infra.aws.memberships import expect_security_group
from viewster_infra.findings import drift, expect, note, require

pytestmark = pytest.mark.aws("rds")  # the AWS services these checks read (prefetch.py)


def _database(database, aws):
    return require(
        database.label, aws.facts("rds")["databases"][database.key], f"no DB instance {database.want.identifier}"
    )


def test_rds_engine(database, aws):
    expect(database.label, "engine", database.want.engine, _database(database, aws)["engine"])


def test_rds_engine_version(database, aws):
    expect(database.label, "engine version", database.want.engine_version, _database(database, aws)["engine_version"])


def test_rds_instance_class(database, aws):
    expect(database.label, "instance class", database.want.instance_class, _database(database, aws)["instance_class"])


def test_rds_status(database, aws):
    expect(database.label, "status", database.want.status, _database(database, aws)["status"])


def test_rds_storage_type(database, aws):
    expect(database.label, "storage type", database.want.storage_type, _database(database, aws)["storage_type"])


def test_rds_allocated_storage(database, aws):
    found = _database(database, aws)["allocated_storage_gib"]
    expect(database.label, "allocated storage (GiB)", database.want.allocated_storage_gib, found)


def test_rds_storage_autoscaling_limit(database, aws):
    found = _database(database, aws)["max_allocated_storage_gib"]
    expect(database.label, "storage autoscaling limit (GiB)", database.want.max_allocated_storage_gib, found)


def test_rds_not_publicly_accessible(database, aws):
    found = _database(database, aws)["publicly_accessible"]
    expect(database.label, "publicly accessible", database.want.publicly_accessible, found)


def test_rds_backup_retention(database, aws):
    found = _database(database, aws)["backup_retention_days"]
    want = database.want
    if want.backup_retention_days is not None:
        expect(database.label, "backup retention (days)", want.backup_retention_days, found)
    elif found < want.min_backup_retention_days:
        drift(
            database.label,
            prop="backup retention (days)",
            expected=f"at least {want.min_backup_retention_days}",
            found=str(found),
        )


@pytest.mark.aws("ec2")
def test_rds_security_group(database, aws):
    attached = _database(database, aws)["security_group_ids"]
    expect_security_group(database.label, database.want.security_group, attached, aws)


def test_rds_parameter_group(database, aws):
    found = _database(database, aws)["parameter_group"]
    expect(database.label, "parameter group", database.want.parameter_group, found)


def test_rds_performance_insights_enabled(database, aws):
    found = _database(database, aws)["performance_insights"]
    expect(database.label, "Performance Insights", database.want.performance_insights, found)


@pytest.mark.aws("pi")
def test_rds_sql_statistics_collected(database, aws):
    """Performance Insights gives each statement's calls and time per call only when pg_stat_statements is loaded
    (shared_preload_libraries of the parameter group; RDS for PostgreSQL 11 and later load it by default)."""
    if not database.want.performance_insights:
        pytest.skip("Performance Insights is off in the spec: there are no SQL statistics to read")
    facts = _database(database, aws)
    insights = require(
        f"{database.label} Performance Insights",
        aws.facts("pi")["databases"][database.key],
        "not enabled on the instance",
        cause=database.label,
    )
    if insights["sql_statistics"] is None:
        note("SQL statistics", "no statement ran in the window: nothing to tell whether they are collected")
    elif not insights["sql_statistics"]:
        drift(
            database.label,
            prop="SQL statistics (calls, time per call)",
            expected="collected",
            found=f"none: pg_stat_statements is not loaded (shared_preload_libraries of {facts['parameter_group']})",
        )
