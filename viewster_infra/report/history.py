"""What changed since the previous run of the same environment: new failures, fixed ones, and those still failing
with the time they were first seen (carried from report to report). Each change is said as people read a
finding: its control, its resource and its one line, with the check's id kept for machines."""

from __future__ import annotations

from pathlib import Path

from viewster_infra.report import records

FAILING = {"failed", "error"}


def previous_report(reports_dir: Path, env: str, current: Path) -> Path | None:
    """The newest earlier JSON report of `env` in reports_dir (names sort by time)."""
    earlier = sorted(p for p in reports_dir.glob(f"{env}-*.json") if p.name < current.name)
    return earlier[-1] if earlier else None


def compare(previous: dict | None, current: list[dict], started: str, compared_to: str | None) -> dict:
    """Changes, and each current record's first_seen: for a failure, when it first failed (its own run's start when
    it is new); None for the rest. A check that did not run now (-k) is neither fixed nor new."""
    before = {r["id"]: r for r in (previous or {}).get("results", []) if r["status"] in FAILING}
    ran = {r["id"] for r in current}
    for r in current:
        if r["status"] not in FAILING:
            r["first_seen"] = None
        elif r["id"] in before:
            r["first_seen"] = before[r["id"]].get("first_seen") or previous["run"]["started"]
        else:
            r["first_seen"] = started
    now = {r["id"]: r for r in current if r["status"] in FAILING}
    return {
        "compared_to": compared_to,
        "new_failures": [_change(now[rid]) for rid in sorted(now) if rid not in before],
        "fixed": [_change(before[rid]) for rid in sorted(before) if rid in ran and rid not in now],
        "still_failing": [
            _change(now[rid]) | {"first_seen": now[rid]["first_seen"]} for rid in sorted(now) if rid in before
        ],
    }


def _change(result: dict) -> dict:
    return {"id": result["id"], "control": result["control"], "line": result["message"] or result["status"]}


def load_previous(path: Path | None) -> dict | None:
    """The earlier report to compare with; OSError or ValueError (one line) when it cannot be read."""
    return records.read(path, records.READABLE) if path is not None else None
