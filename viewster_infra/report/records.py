"""One JSON document per run, rendered from the RunResult: the run's facts, counts, what changed since the previous
run, the root causes, and one record per check and resource. SCHEMA_VERSION changes whenever a field changes
meaning or goes away (schema.json); earlier versions are still read to compare with (READABLE)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path

from viewster_infra.results import STATUSES, CheckResult, RunResult

SCHEMA_VERSION = 2
READABLE = (1, 2)  # what "since the previous report" can compare with (v1: waiver a name, changes by test id)
SCHEMA = Path(__file__).with_name("schema.json")


def record(result: CheckResult, titles: dict[str, str], found_by: dict[int, list[str]]) -> dict:
    finding = result.finding
    return {
        "id": result.id,
        "nodeid": result.nodeid,
        "check": result.check,
        "area": result.area,
        "control": result.control,
        "title": titles.get(result.control or ""),
        "severity": result.severity,
        "status": result.status,
        **result.what_drifted(),
        "message": result.line if result.status != "passed" else None,
        "cause": {"resource": finding.cause, "found_by": found_by.get(id(result), [])}
        if finding and finding.cause
        else None,
        "waiver": asdict(result.waiver) if result.waiver else None,
        "settle": result.settle,
        "duration_seconds": round(result.duration, 4),
        "details": [{"title": title, "text": text} for title, text in result.details],
        "incident": result.incident,
        "chart": result.chart,
    }


def records(run: RunResult, titles: dict[str, str]) -> list[dict]:
    found_by = {id(r): [f.id for f in cause.found_by] for cause in run.causes() for r in cause.blocked}
    return [record(result, titles, found_by) for result in run.results]


def summary(run: RunResult) -> list[dict]:
    """The failures as the terminal says them: each root cause once, with what it explains beneath it."""
    return [
        {"id": line.result.id, "line": line.text, "beneath": line.beneath, "fails_run": line.result in failing}
        for failing in [run.failing()]
        for line in run.summary_lines()
    ]


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


def document(run_facts: dict, run: RunResult, results: list[dict], changes: dict, diagnosis: dict | None) -> dict:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "run": run_facts | {"verdict": run.verdict(), "fail_on": run.fail_on},
        "counts": counts(results),
        "summary": summary(run),
        "unused_waivers": [asdict(w) for w in run.unused_waivers],
        "changes": changes,
        "results": results,
    }
    if diagnosis is not None:
        doc["diagnosis"] = diagnosis
    return doc


def write(path: Path, doc: dict) -> None:
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    partial.replace(path)


def read(path: Path, versions: tuple[int, ...] = (SCHEMA_VERSION,)) -> dict:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("schema_version") not in versions:
        readable = " or ".join(map(str, versions))
        raise ValueError(f"{path}: schema_version {doc.get('schema_version')!r}, this suite reads {readable}")
    return doc
