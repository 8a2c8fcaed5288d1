"""Performance Insights for the sandbox: moto has no `pi` service, and the sandbox's RDS instance is a real
PostgreSQL 15 (the database host), so `pi:DescribeDimensionKeys` is answered from that server's own
pg_stat_statements, in the API's response shape.

    POST /_sandbox/performance-insights   {"resource_id": "db-...", "dsn": "host=... user=... dbname=..."}
                                          where the stand-in of that DbiResourceId is (the hosts' lifecycle says so
                                          once the database host is up; without it the instance reports no SQL)

What AWS computes from its samples over the asked range, the stand-in computes from pg_stat_statements since its
statistics were last reset (the sandbox resets them when a test gets its sandbox back), spread over the asked range:
    Total (db.load.avg, average active sessions)     total_exec_time / range
    db.sql_tokenized.stats.calls_per_sec.avg         calls / range
    db.sql_tokenized.stats.avg_latency_per_call.avg  mean_exec_time (ms)
The statement is pg_stat_statements' normalised text ($1 for each constant), as Performance Insights shows
PostgreSQL's. Statements of the role the stand-in reads as are left out, as PI leaves out its own. A stand-in that
cannot be reached (the instance down) has no load to report, and the answer says none. Without
pg_stat_statements (dropped, or not loaded), it answers as PI does without it: the load of the statements running
now, tokenised, with no per-call statistics.
moto's IAM judges the request like any action (`pi:DescribeDimensionKeys`).
"""

from __future__ import annotations

import io
import json
import re
import threading
from datetime import datetime

from moto import settings
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam.access_control import IAMRequest
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import HTTPException

from viewster_infra import sql_text
from viewster_infra.sandbox.moto_server import PERFORMANCE_INSIGHTS_PATH

CONTROL_PATH = PERFORMANCE_INSIGHTS_PATH
TARGET_PREFIX = "PerformanceInsightsv20180227."
PER_CALL_LATENCY = "db.sql_tokenized.stats.avg_latency_per_call.avg"
CALLS_PER_SECOND = "db.sql_tokenized.stats.calls_per_sec.avg"
ACTIVE = """
    SELECT query, (EXTRACT(EPOCH FROM now() - query_start) * 1000)::float8
    FROM pg_stat_activity
    WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'
    LIMIT %s
"""
STATEMENTS = """
    SELECT s.queryid, s.query, s.calls, s.total_exec_time, s.mean_exec_time
    FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
    WHERE r.rolname <> current_user AND s.calls > 0
    ORDER BY s.total_exec_time DESC
    LIMIT %s
"""


class PerformanceInsights:
    """WSGI: requests signed for `pi` answered here; the control route; everything else to the next app."""

    def __init__(self, app) -> None:
        self.app = app
        self.sources: dict[str, str] = {}  # DbiResourceId -> the stand-in's DSN
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        if method == "POST" and path == CONTROL_PATH:
            body = json.loads(_body(environ) or b"{}")
            with self._lock:
                self.sources[body["resource_id"]] = body["dsn"]
            return _answer(start_response, 200, {"configured": body["resource_id"]})
        if not re.search(r"Credential=[^/]+/\d+/[^/]+/pi/", environ.get("HTTP_AUTHORIZATION", "")):
            return self.app(environ, start_response)
        body = _body(environ)
        operation = environ.get("HTTP_X_AMZ_TARGET", "").removeprefix(TARGET_PREFIX)
        try:
            _authorize(environ, body, operation)
        except HTTPException as exc:
            return _answer(start_response, exc.code, exc.description, content_type="application/xml")
        if operation != "DescribeDimensionKeys":
            return _answer(
                start_response, 400, _error("InvalidArgumentException", f"{operation} is not in the sandbox")
            )
        try:
            return _answer(start_response, 200, self.describe_dimension_keys(json.loads(body or b"{}")))
        except Exception as exc:  # the stand-in could not be read: said as AWS says a failure of its own
            return _answer(start_response, 500, _error("InternalServiceError", f"the database stand-in: {exc}"))

    def describe_dimension_keys(self, asked: dict) -> dict:
        start, end = float(asked["StartTime"]), float(asked["EndTime"])
        seconds = max(end - start, 1.0)
        limit = min(int((asked.get("GroupBy") or {}).get("Limit", 10)), 25)
        with self._lock:
            dsn = self.sources.get(asked.get("Identifier", ""))
        rows = _statements(dsn, limit, seconds) if dsn else []
        wanted = set(asked.get("AdditionalMetrics") or [])
        keys = []
        for queryid, query, calls, total_ms, mean_ms in rows:
            extra = {} if calls is None else {CALLS_PER_SECOND: calls / seconds, PER_CALL_LATENCY: mean_ms}
            keys.append(
                {
                    "Dimensions": {
                        "db.sql_tokenized.id": str(queryid),
                        "db.sql_tokenized.db_id": f"pi-{queryid}",
                        "db.sql_tokenized.statement": query,
                    },
                    "Total": total_ms / 1000 / seconds,
                    "AdditionalMetrics": {name: value for name, value in extra.items() if name in wanted},
                }
            )
        return {
            "AlignedStartTime": start,
            "AlignedEndTime": end,
            "Keys": keys,
        }


def _statements(dsn: str, limit: int, seconds: float) -> list[tuple]:
    """(id, statement, calls, total ms, mean ms) per statement. Without pg_stat_statements, as PI without it: the
    load of what is running now (sampled from pg_stat_activity, its text tokenised as PI does), and no per-call
    statistics."""
    import psycopg  # the sandbox's extra; imported only when a stand-in is configured

    try:
        connection = psycopg.connect(dsn, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError:
        return []  # the instance is down: PI samples no load from it, and answers so
    with connection:
        try:
            return connection.execute(STATEMENTS, (limit,)).fetchall()
        except (psycopg.errors.UndefinedTable, psycopg.errors.ObjectNotInPrerequisiteState):
            running = connection.execute(ACTIVE, (limit,)).fetchall()
    return [(abs(hash(text)), sql_text.normalised(text), None, min(ms, seconds * 1000), None) for text, ms in running]


def _authorize(environ, body: bytes, operation: str) -> None:
    """moto's IAM check of `pi:<operation>`, as its own responses make it (once auth is on)."""
    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        ActionAuthenticatorMixin.request_count += 1
        return
    headers = EnvironHeaders(environ)
    request = IAMRequest(
        account_id=DEFAULT_ACCOUNT_ID,
        method=environ["REQUEST_METHOD"],
        path=environ.get("PATH_INFO", "/"),
        data={},
        body=body,
        headers=headers,
        action=operation,
    )
    request.check_signature()
    request.check_action_permitted("*")


def _body(environ) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _error(code: str, message: str) -> dict:
    return {"__type": code, "Message": message}


def _answer(start_response, status: int, body, content_type: str = "application/x-amz-json-1.1"):
    text = body if isinstance(body, str) else json.dumps(body, default=_json_default)
    reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 401: "Unauthorized"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", content_type)])
    return [text.encode()]


def _json_default(value):
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(type(value).__name__)
