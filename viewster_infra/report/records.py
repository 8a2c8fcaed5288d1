"""One JSON document per run: the run's facts, counts, what changed since the previous run, and one record per
check and resource. SCHEMA_VERSION changes whenever a field changes meaning or goes away (schema.json)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from viewster_infra import gate

SCHEMA_VERSION = 1
SCHEMA = Path(__file__).with_name("schema.json")
STATUSES = ("failed", "error", "waived", "advisory", "skipped", "passed")


def record(outcome: gate.Outcome, env: str, titles: dict[str, str]) -> dict:
    properties = outcome.properties
    return {
        "id": outcome.check,
        "nodeid": outcome.nodeid,
        "check": outcome.check.split("[", 1)[0],
        "area": gate.area(outcome.nodeid, env),
        "control": outcome.control or None,
        "title": titles.get(outcome.control),
        "severity": outcome.severity or None,
        "status": outcome.outcome,
        "resource": properties.get("resource"),
        "property": properties.get("property"),
        "expected": properties.get("expected"),
        "found": properties.get("found"),
        "message": outcome.message if outcome.outcome != "passed" else None,
        "waiver": properties.get("waiver"),
        "settle": properties.get("settle"),
        "duration_seconds": round(outcome.duration, 4),
        "details": [{"title": title, "text": text} for title, text in outcome.details],
        "incident": _incident(properties),
    }


def _incident(properties: dict) -> dict | None:
    if "incident" not in properties:
        return None
    return {
        "id": properties["incident"],
        "date": properties["incident_date"],
        "summary": properties["incident_summary"],
        "link": properties.get("incident_link"),
    }


def counts(records: list[dict]) -> dict:
    by_status = Counter(r["status"] for r in records)
    by_severity: dict[str, Counter] = defaultdict(Counter)
    by_area: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        by_severity[r["severity"] or "none"][r["status"]] += 1
        by_area[r["area"]][r["status"]] += 1
    return {
        "by_status": {status: by_status[status] for status in STATUSES},
        "by_severity": {k: dict(v) for k, v in sorted(by_severity.items())},
        "by_area": {k: dict(v) for k, v in sorted(by_area.items())},
    }


def document(run: dict, records: list[dict], changes: dict, diagnosis: dict | None = None) -> dict:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "run": run,
        "counts": counts(records),
        "changes": changes,
        "results": records,
    }
    if diagnosis is not None:
        doc["diagnosis"] = diagnosis
    return doc


def write(path: Path, doc: dict) -> None:
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    partial.replace(path)


def read(path: Path) -> dict:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: schema_version {doc.get('schema_version')!r}, this suite reads {SCHEMA_VERSION}")
    return doc
