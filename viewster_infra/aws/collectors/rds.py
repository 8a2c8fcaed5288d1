"""RDS: each database instance the spec names, by identifier."""

from __future__ import annotations

from viewster_infra.aws.collectors._common import RunOptions, paginate
from viewster_infra.spec.model import EnvironmentSpec


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    found = {
        db["DBInstanceIdentifier"]: db for db in paginate(reader.client("rds"), "describe_db_instances", "DBInstances")
    }
    return {
        "databases": {key: _facts(found.get(want.identifier)) for key, want in spec.rds.databases.items()},
    }


def _facts(db: dict | None) -> dict | None:
    if db is None:
        return None
    return {
        "identifier": db["DBInstanceIdentifier"],
        "resource_id": db.get("DbiResourceId"),
        "engine": db["Engine"],
        "engine_version": db["EngineVersion"],
        "instance_class": db["DBInstanceClass"],
        "status": db["DBInstanceStatus"],
        "storage_type": db.get("StorageType"),
        "allocated_storage_gib": db["AllocatedStorage"],
        "max_allocated_storage_gib": db.get("MaxAllocatedStorage"),
        "publicly_accessible": db["PubliclyAccessible"],
        "backup_retention_days": db["BackupRetentionPeriod"],
        "endpoint": (db.get("Endpoint") or {}).get("Address"),
        "security_group_ids": sorted(g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups", [])),
    }
