"""The run's HTML report and reports/index.html, rendered from the JSON document (so the numbers a person reads are
the numbers a machine reads). One self-contained file: inline CSS and a few lines of script for the filters, no
network. pytest-html's own page is one table of test ids; this page leads with the verdict, what changed, and
the failures as controls with their severity, resource, expected and found."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from viewster_infra.controls import SEVERITIES
from viewster_infra.report import charts

TEMPLATES = Path(__file__).with_name("templates")
_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]))
_environment.filters["metric_chart"] = charts.metric
_environment.filters["trend_chart"] = charts.trend
ORDER = {severity: rank for rank, severity in enumerate(reversed(SEVERITIES))}  # critical first


def render_run(doc: dict) -> str:
    results = doc["results"]
    failing = sorted(
        (r for r in results if r["status"] in ("failed", "error")),
        key=lambda r: (ORDER.get(r["severity"], 9), r["area"], r["id"]),
    )
    passed_by_area: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        if r["status"] == "passed" and r["area"] != "recommendations":  # those have their own section
            passed_by_area[r["area"]].append(r)
    by_id = {r["id"]: r for r in results}
    fails_run = {entry["id"]: entry["fails_run"] for entry in doc["summary"]}
    blocked_under = _blocked_under(failing)
    hidden = {b["id"] for blocked in blocked_under.values() for b in blocked}
    rows = [r | {"fails_run": fails_run.get(r["id"], True)} for r in failing if r["id"] not in hidden]
    return _environment.get_template("run.html.j2").render(
        doc=doc,
        run=doc["run"],
        counts=doc["counts"],
        changes=doc["changes"],
        by_id=by_id,
        failing=failing,
        rows=rows,
        blocked_under=blocked_under,
        hidden_blocked=len(hidden),
        waived=[r for r in results if r["status"] == "waived"],
        recommendations=[r for r in results if r["area"] == "recommendations"],
        skipped=[r for r in results if r["status"] == "skipped"],
        incidents=sorted((r for r in results if r.get("incident")), key=lambda r: r["incident"]["date"], reverse=True),
        passed_by_area=dict(sorted(passed_by_area.items())),
        areas=sorted({r["area"] for r in results}),
        severities=[s for s in reversed(SEVERITIES)],
        statuses=["failed", "error", "waived", "advisory", "skipped", "passed"],
    )


def _blocked_under(failing: list[dict]) -> dict[str, list[dict]]:
    """Failures that could not read their facts, under the failure that found their cause (or the first of them
    when no check found it): one row per cause instead of one per consequence."""
    by_cause: dict[str, list[dict]] = defaultdict(list)
    for r in failing:
        if r["cause"]:
            by_cause[r["cause"]["resource"]].append(r)
    under = {}
    for blocked in by_cause.values():
        found_by = blocked[0]["cause"]["found_by"]
        head = found_by[-1] if found_by else blocked[0]["id"]
        under[head] = [b for b in blocked if b["id"] != head]
    return under


def render_index(reports_dir: Path) -> str:
    """Every run in reports_dir per environment, newest first, with verdict and counts."""
    runs: dict[str, list[dict]] = defaultdict(list)
    for path in sorted(reports_dir.glob("*.json"), reverse=True):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            run, counts = doc["run"], doc["counts"]["by_status"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not one of ours
        html = path.with_suffix(".html")
        runs[run["env"]].append({"run": run, "counts": counts, "html": html.name if html.exists() else None})
    return _environment.get_template("index.html.j2").render(runs=dict(sorted(runs.items())))


def write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
