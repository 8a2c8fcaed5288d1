"""RDS checks, each failing on its own drift, with one line naming resource, property, expected and found."""

import pytest

from tests_unit.harness import PRODUCTION, proves

DB = "viewster-staging-database"
LABEL = f"rds {DB}"


def modify(staging, **changes):
    staging.client("rds").modify_db_instance(DBInstanceIdentifier=DB, ApplyImmediately=True, **changes)


@proves("test_rds_engine")
def test_engine_drift(staging):
    staging.reset(drift=lambda spec: spec["rds"]["databases"]["database"].update(engine="mysql"))
    assert staging.run().failures == {
        "test_rds_engine[staging-database]": f"{LABEL}: engine expected 'postgres', found 'mysql'"
    }


@proves(
    "test_rds_engine_version",
    "test_rds_instance_class",
    "test_rds_storage_type",
    "test_rds_allocated_storage",
    "test_rds_storage_autoscaling_limit",
    "test_rds_not_publicly_accessible",
    "test_rds_backup_retention",
)
@pytest.mark.parametrize(
    "change, check, message",
    [
        pytest.param(
            {"EngineVersion": "15.13"},
            "test_rds_engine_version",
            "engine version expected '15.14', found '15.13'",
            id="test_rds_engine_version",
        ),
        pytest.param(
            {"DBInstanceClass": "db.t3.small"},
            "test_rds_instance_class",
            "instance class expected 'db.t3.micro', found 'db.t3.small'",
            id="test_rds_instance_class",
        ),
        pytest.param(
            {"StorageType": "gp2"},
            "test_rds_storage_type",
            "storage type expected 'gp3', found 'gp2'",
            id="test_rds_storage_type",
        ),
        pytest.param(
            {"AllocatedStorage": 30},
            "test_rds_allocated_storage",
            "allocated storage (GiB) expected 20, found 30",
            id="test_rds_allocated_storage",
        ),
        pytest.param(
            {"MaxAllocatedStorage": 100},
            "test_rds_storage_autoscaling_limit",
            "storage autoscaling limit (GiB) expected 40, found 100",
            id="test_rds_storage_autoscaling_limit",
        ),
        pytest.param(
            {"PubliclyAccessible": True},
            "test_rds_not_publicly_accessible",
            "publicly accessible expected False, found True",
            id="test_rds_not_publicly_accessible",
        ),
        pytest.param(
            {"BackupRetentionPeriod": 7},
            "test_rds_backup_retention",
            "backup retention (days) expected 0, found 7",
            id="test_rds_backup_retention",
        ),
    ],
)
def test_modified_property(staging, change, check, message):
    modify(staging, **change)
    assert staging.run().failures == {f"{check}[staging-database]": f"{LABEL}: {message}"}


@proves("test_rds_status")
def test_stopped_database(staging):
    staging.client("rds").stop_db_instance(DBInstanceIdentifier=DB)
    assert staging.run().failures == {
        "test_rds_status[staging-database]": f"{LABEL}: status expected 'available', found 'stopped'"
    }


@proves("test_rds_security_group")
def test_security_group_drift(staging):
    ec2 = staging.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["viewster-staging-vpc"]}])["Vpcs"][0]["VpcId"]
    default = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    modify(staging, VpcSecurityGroupIds=[default])
    assert staging.run().failures == {
        "test_rds_security_group[staging-database]": f"{LABEL}: security groups expected to include "
        f"'viewster-staging-rds-sg', found {{'{default}'}}"
    }


@PRODUCTION
def test_production_needs_at_least_one_day_of_backups(sandboxes):
    production = sandboxes("production")
    production.reset()
    production.client("rds").modify_db_instance(
        DBInstanceIdentifier="viewster-production-database", BackupRetentionPeriod=0, ApplyImmediately=True
    )
    assert production.run().failures == {
        "test_rds_backup_retention[production-database]": "rds viewster-production-database: backup retention (days) "
        "expected at least 1, found 0"
    }


def test_missing_database_is_not_found(staging):
    staging.client("rds").delete_db_instance(DBInstanceIdentifier=DB, SkipFinalSnapshot=True)
    failures = staging.run().failures
    assert failures["test_rds_engine_version[staging-database]"] == f"{LABEL}: not found (no DB instance {DB})"
    assert {name for name in failures if "[staging-database]" in name} == {
        name for name in failures if name.startswith("test_rds_")
    }
