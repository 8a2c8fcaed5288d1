"""RDS: each database instance the spec names, by identifier, with what happened to it over the live window (its
events) and what is about to (pending maintenance; a parameter group waiting for a reboot). Three reads at once,
each the whole account's in one call: instances, events, pending maintenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from viewster_infra.aws.collectors._common import RunOptions, paginate
from viewster_infra.spec.model import EnvironmentSpec


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    rds = reader.client("rds")
    window = spec.live.window_minutes
    instances, events, maintenance = reader.parallel(
        lambda: list(paginate(rds, "describe_db_instances", "DBInstances")),
        lambda: list(paginate(rds, "describe_events", "Events", SourceType="db-instance", Duration=window)),
        lambda: list(paginate(rds, "describe_pending_maintenance_actions", "PendingMaintenanceActions")),
    )
    found = {db["DBInstanceIdentifier"]: db for db in instances}
    since = datetime.now(UTC) - timedelta(minutes=window)
    return {
        "databases": {
            key: _facts(found.get(want.identifier), events, maintenance, since)
            for key, want in spec.rds.databases.items()
        },
    }


def _facts(db: dict | None, events: list[dict], maintenance: list[dict], since: datetime) -> dict | None:
    if db is None:
        return None
    arn = db.get("DBInstanceArn")
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
        "parameter_group": next((g["DBParameterGroupName"] for g in db.get("DBParameterGroups", [])), None),
        "parameter_groups_pending_reboot": sorted(
            g["DBParameterGroupName"]
            for g in db.get("DBParameterGroups", [])
            if g.get("ParameterApplyStatus") == "pending-reboot"
        ),
        "performance_insights": bool(db.get("PerformanceInsightsEnabled")),
        "events": [
            {"time": e["Date"].isoformat(), "categories": sorted(e.get("EventCategories", [])), "message": e["Message"]}
            for e in events
            if e.get("SourceIdentifier") == db["DBInstanceIdentifier"] and e["Date"] >= since
        ],
        "pending_maintenance": [
            {
                "action": detail["Action"],
                "apply_date": _apply_date(detail),
                "description": detail.get("Description", ""),
            }
            for pending in maintenance
            if pending["ResourceIdentifier"] == arn
            for detail in pending.get("PendingMaintenanceActionDetails", [])
        ],
    }


def _apply_date(detail: dict) -> str | None:
    """When it will be applied: the date AWS gives as current, else the earliest of auto-applied and forced."""
    dates = [detail.get(k) for k in ("CurrentApplyDate", "AutoAppliedAfterDate", "ForcedApplyDate")]
    dates = [d for d in dates if d is not None]
    return (detail.get("CurrentApplyDate") or min(dates)).isoformat() if dates else None
