"""Writes a run's JSON report, its HTML page and reports/index.html from the RunResult, and says what changed since
the previous run."""

from __future__ import annotations

from pathlib import Path

from viewster_infra import changes as change_control
from viewster_infra import factstore, reporting
from viewster_infra.report import history, html, records
from viewster_infra.results import RunResult


def reports(
    context,
    run: RunResult,
    paths: tuple[Path, Path, Path],
    *,
    previous: tuple[Path, dict] | None,
    root: Path,
    diagnosis: dict | None = None,
) -> dict:
    """paths: (html, JUnit xml, json); previous: the report to compare with (--compare-to, read when the run
    started), or None for the newest earlier one in the reports directory. Returns the document written."""
    html_path, _, json_path = paths
    titles = {control_id: control.title for control_id, control in context.registry.controls.items()}
    titles |= {r.control: r.incident["summary"] for r in run.results if r.incident}
    results = records.records(run, titles)
    facts = reporting.run_document(context, root)
    if previous is None:
        found = history.previous_report(json_path.parent, context.env, json_path)
        try:
            previous = (found, history.load_previous(found)) if found else None
        except (OSError, ValueError) as exc:  # an unreadable earlier report of our own: say so, compare with nothing
            facts["compare_error"] = f"{found}: {exc}"
    previous_path, previous_doc = previous or (None, None)
    changes = history.compare(previous_doc, results, facts["started"], str(previous_path) if previous_path else None)
    doc = records.document(facts, run, results, changes, diagnosis)
    doc["estate_changes"] = estate_changes(context, results)
    records.write(json_path, doc)
    html.write(html_path, html.render_run(doc))
    html.write(html_path.parent / "index.html", html.render_index(html_path.parent))
    return doc


def estate_changes(context, results: list[dict]) -> dict:
    """Who changed the environment (CloudTrail, when the run read it), and beside each failure the newest change to
    its resource, whoever made it: a console edit that broke a check says so where the failure is read."""
    gathered = {
        name.removeprefix("aws-"): factstore.recorded(context.run_dir, name)
        for name in [f"aws-{s}" for s in ("cloudtrail", "terraform", *change_control.UNMANAGED_SERVICES)]
    }
    facts = {service: found.data if found else None for service, found in gathered.items()}
    trail = gathered["cloudtrail"]
    section = change_control.section(context.spec, facts, trail.error if trail else None)
    for result in results:
        if result["status"] not in ("failed", "error") or not facts["cloudtrail"] or not result["resource"]:
            continue
        event = change_control.last_change_of(result["resource"], facts["cloudtrail"]["writes"], facts)
        if event is not None:
            allowed = change_control.allowed_as(event, context.spec)
            said = f"allowed: {allowed}" if allowed else "not a principal the spec allows"
            result["details"].append({"title": "last changed", "text": f"{change_control.describe(event)} ({said})"})
    return section
