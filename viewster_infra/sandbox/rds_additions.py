"""What the sandbox's RDS does that moto 5.2.5 does not, so the database's own live state can be proven here:

- an instance keeps its Performance Insights setting (EnablePerformanceInsights, its retention) and shows it;
- a reboot records the events RDS records (DB instance shutdown, DB instance restarted: category availability);
- changing a static parameter (ApplyMethod pending-reboot) of an instance's parameter group leaves the instance's
  group "pending-reboot" until it is rebooted, as RDS shows it;
- `rds:DescribePendingMaintenanceActions` answers from actions the sandbox schedules (AWS schedules them, nobody
  can through the API), in the API's shape, judged by moto's IAM like any RDS action;
- events AWS raises by itself (storage full, failover) are recorded through the sandbox route below, as RDS would
  record them.

    POST /_sandbox/rds/events        {"identifier": "...", "categories": ["low storage"], "message": "..."}
    POST /_sandbox/rds/maintenance   {"identifier": "...", "action": "system-update", "apply_date": ISO,
                                      "description": "..."}

Everything lives in moto's RDS backend, so a snapshot restore puts it back as it was.
"""

from __future__ import annotations

import json
from datetime import datetime

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.rds.models import DBInstance, Event, RDSBackend, rds_backends
from moto.rds.responses import RDSResponse

from viewster_infra.sandbox.moto_server import RDS_EVENTS_PATH, RDS_MAINTENANCE_PATH

EVENTS_PATH, MAINTENANCE_PATH = RDS_EVENTS_PATH, RDS_MAINTENANCE_PATH
Event.EVENT_MAP.update(
    {
        "DB_INSTANCE_SHUTDOWN": {"Categories": ["availability"], "Message": "DB instance shutdown"},
        "DB_INSTANCE_RESTART": {"Categories": ["availability"], "Message": "DB instance restarted"},
    }
)


class RdsRoutes:
    """WSGI: the two sandbox routes (the region of the body, default the first backend's), everything else on."""

    def __init__(self, app, region: str = "ap-northeast-2") -> None:
        self.app = app
        self.region = region

    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        if method != "POST" or path not in (EVENTS_PATH, MAINTENANCE_PATH):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        backend = rds_backends[body.get("account_id", DEFAULT_ACCOUNT_ID)][body.get("region", self.region)]
        database = backend.databases[body["identifier"]]
        if path == EVENTS_PATH:
            record_event(backend, database, body["categories"], body["message"])
        else:
            backend.__dict__.setdefault("pending_maintenance", []).append(
                {
                    "ResourceIdentifier": database.arn,
                    "Action": body["action"],
                    "CurrentApplyDate": datetime.fromisoformat(body["apply_date"]),
                    "Description": body.get("description", ""),
                }
            )
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"recorded"]


def record_event(backend: RDSBackend, database: DBInstance, categories: list[str], message: str) -> None:
    event = Event.__new__(Event)
    event.source_identifier = database.resource_id
    event.source_type = database.event_source_type
    event.message = message
    event.event_categories = categories
    event.source_arn = database.arn
    event.date = utcnow()
    backend.events.append(event)


_moto_init = DBInstance.__init__
_moto_reboot = RDSBackend.reboot_db_instance
_moto_modify_group = RDSBackend.modify_db_parameter_group


def _init(self: DBInstance, *args, **kwargs) -> None:
    _moto_init(self, *args, **kwargs)
    self.enable_performance_insights = bool(kwargs.get("enable_performance_insights"))
    self.performance_insights_retention_period = kwargs.get("performance_insights_retention_period")


def _performance_insights_enabled(self: DBInstance) -> bool:
    return bool(self.__dict__.get("enable_performance_insights"))  # ModifyDBInstance sets it under the same name


def _reboot(self: RDSBackend, db_instance_identifier: str) -> DBInstance:
    database = _moto_reboot(self, db_instance_identifier)
    database.add_event("DB_INSTANCE_SHUTDOWN")
    database.add_event("DB_INSTANCE_RESTART")
    database.__dict__.pop("pending_reboot", None)  # static parameters take effect now
    return database


def _modify_group(self: RDSBackend, db_parameter_group_name: str, db_parameter_group_parameters):
    parameters = list(db_parameter_group_parameters)
    group = _moto_modify_group(self, db_parameter_group_name, parameters)
    if any(p.get("ApplyMethod") == "pending-reboot" for p in parameters):
        for database in self.databases.values():
            if database.db_parameter_group_name == db_parameter_group_name:
                database.__dict__["pending_reboot"] = True
    return group


def _group_status(self: DBInstance):
    groups = self.db_parameter_groups()
    for group in groups:
        group.ParameterApplyStatus = "pending-reboot" if self.__dict__.get("pending_reboot") else "in-sync"
    return groups


def describe_pending_maintenance_actions(self: RDSResponse) -> ActionResult:
    """Filters: db-instance-id (identifiers or ARNs); ResourceIdentifier (an ARN)."""
    wanted: set[str] = set()
    for found in self._get_param("Filters") or []:
        if found.get("Name") == "db-instance-id":
            wanted |= set(found.get("Values") or [])
    if self._get_param("ResourceIdentifier"):
        wanted.add(self._get_param("ResourceIdentifier"))
    by_resource: dict[str, list[dict]] = {}
    for action in self.backend.__dict__.get("pending_maintenance", []):
        arn = action["ResourceIdentifier"]
        if wanted and arn not in wanted and arn.rsplit(":", 1)[-1] not in wanted:
            continue
        detail = {key: value for key, value in action.items() if key != "ResourceIdentifier"}
        detail["OptInStatus"] = "next-maintenance"
        by_resource.setdefault(arn, []).append(detail)
    return ActionResult(
        {
            "PendingMaintenanceActions": [
                {"ResourceIdentifier": arn, "PendingMaintenanceActionDetails": details}
                for arn, details in by_resource.items()
            ]
        }
    )


DBInstance.__init__ = _init
DBInstance.performance_insights_enabled = property(_performance_insights_enabled)
RDSBackend.reboot_db_instance = _reboot
RDSBackend.modify_db_parameter_group = _modify_group
DBInstance.db_parameter_group_status_list = property(_group_status)
RDSResponse.describe_pending_maintenance_actions = describe_pending_maintenance_actions
