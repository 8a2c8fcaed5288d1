"""The database's own live state (높은 CPU 사용률 4 "RDS: slow query 확인", 점검 절차 4): over the spec's window no
statement was slow, nothing happened to the instance that needs attention, and no maintenance is about to happen
unplanned. Statements come from Performance Insights, events and maintenance from RDS."""

from datetime import UTC, datetime, timedelta

import pytest

from viewster_infra.findings import drift, note, require

pytestmark = pytest.mark.aws("rds")  # the AWS services these checks read (prefetch.py)


def _facts_of(database, aws) -> dict:
    return require(database.label, aws.facts("rds")["databases"][database.key], "no database of that identifier")


@pytest.mark.aws("pi")
def test_rds_no_slow_statements(database, aws, spec):
    """높은 CPU 사용률 4 (RDS: slow query 확인): over the window, no statement is slow per call, and none alone carries
    most of a busy database's load. Statements come from Performance Insights, normalised (never a value)."""
    _facts_of(database, aws)
    if not database.want.performance_insights:
        pytest.skip("Performance Insights is off in the spec: no statement to read")
    insights = require(
        f"{database.label} Performance Insights",
        aws.facts("pi")["databases"][database.key],
        "not enabled on the instance",
        cause=database.label,
    )
    live = spec.live
    statements = insights["statements"]
    load = sum(s["load"] for s in statements)
    share = {id(s): (s["load"] / load if load else 0.0) for s in statements}
    if statements:
        note("statements by load (Performance Insights)", "\n".join(_said(s, share[id(s)]) for s in statements[:10]))
    slow = [
        s
        for s in statements
        if (s["mean_ms"] or 0) > live.slow_statement_mean_max_ms
        or (load >= live.slow_statement_share_min_load and share[id(s)] > live.slow_statement_load_share_max)
    ]
    if slow:
        drift(
            database.label,
            prop="slow statements",
            expected=f"none over {live.slow_statement_mean_max_ms:g} ms a call or "
            f"{live.slow_statement_load_share_max:.0%} of the load",
            found="; ".join(_said(s, share[id(s)]) for s in slow),
        )


def _said(statement: dict, share: float) -> str:
    """ "SELECT pg_sleep($1)" 3 calls, mean 1203 ms, 100% of the load (Performance Insights gives no maximum)"""
    calls = "?" if statement["calls"] is None else statement["calls"]
    mean = "?" if statement["mean_ms"] is None else f"{statement['mean_ms']:.0f}"
    return f'"{statement["statement"]}" {calls} calls, mean {mean} ms, {share:.0%} of the load'


def test_rds_no_events_needing_attention(database, aws, spec):
    """What happened to the instance in the window (RDS events): a reboot, a failover, storage exhausted fail
    (live.rds_event_categories_failing); the rest (a backup, a configuration change) are noted."""
    events = _facts_of(database, aws)["events"]
    failing_categories = set(spec.live.rds_event_categories_failing)
    if events:
        note("RDS events in the window", "\n".join(_event(e) for e in events))
    failing = [e for e in events if failing_categories & set(e["categories"])]
    if failing:
        drift(
            database.label,
            prop=f"events in the last {spec.live.window_minutes} min",
            expected=f"none of {', '.join(sorted(failing_categories))}",
            found="; ".join(_event(e) for e in failing),
        )


def _event(event: dict) -> str:
    when = datetime.fromisoformat(event["time"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{when} {'/'.join(event['categories'])}: {event['message']}"


def test_rds_no_maintenance_due(database, aws, spec, run):
    """What is about to happen to it: maintenance AWS has scheduled fails when due within
    live.rds_maintenance_notice_days (so the team plans it), and is noted otherwise; a parameter group whose
    changes wait for a reboot is noted."""
    facts = _facts_of(database, aws)
    now = datetime.fromtimestamp(run.inputs.started_at, UTC)
    horizon = now + timedelta(days=spec.live.rds_maintenance_notice_days)
    for group in facts["parameter_groups_pending_reboot"]:
        note("parameter group pending-reboot", f"{group}: its changes apply at the instance's next reboot")
    pending = facts["pending_maintenance"]
    if pending:
        note("pending maintenance", "\n".join(_maintenance(p) for p in pending))
    due = [p for p in pending if p["apply_date"] and datetime.fromisoformat(p["apply_date"]) <= horizon]
    if due:
        drift(
            database.label,
            prop="maintenance due",
            expected=f"none within {spec.live.rds_maintenance_notice_days} days",
            found="; ".join(_maintenance(p) for p in due),
        )


def _maintenance(pending: dict) -> str:
    when = pending["apply_date"]
    date = datetime.fromisoformat(when).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when else "no date yet"
    return f"{pending['action']} on {date}: {pending['description']}"
