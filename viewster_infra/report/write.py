"""Writes a run's JSON report, its HTML page and reports/index.html, and says what changed since the previous run."""

from __future__ import annotations

from pathlib import Path

from viewster_infra import gate, reporting
from viewster_infra.report import history, html, records


def reports(
    context,
    outcomes: list[gate.Outcome],
    paths: tuple[Path, Path, Path],
    *,
    fail_on: str,
    compare_to,
    root: Path,
    diagnosis: dict | None = None,
) -> dict:
    """paths: (html, JUnit xml, json). Returns the changes since the previous report (or --compare-to)."""
    html_path, _, json_path = paths
    titles = {control_id: control.title for control_id, control in context.registry.controls.items()}
    titles |= {o.control: o.properties["incident_summary"] for o in outcomes if "incident" in o.properties}
    results = [records.record(outcome, context.env, titles) for outcome in outcomes]
    verdict = "FAILED" if gate.failing(outcomes, fail_on) else "PASSED"
    run = reporting.run_document(context, root, verdict, fail_on)
    previous_path = compare_to or history.previous_report(json_path.parent, context.env, json_path)
    try:
        previous = history.load_previous(previous_path)
    except (OSError, ValueError) as exc:  # an unreadable earlier report: say so, compare with nothing
        run["compare_error"] = f"{previous_path}: {exc}"
        previous, previous_path = None, None
    changes = history.compare(previous, results, run["started"], str(previous_path) if previous_path else None)
    doc = records.document(run, results, changes, diagnosis)
    records.write(json_path, doc)
    html.write(html_path, html.render_run(doc))
    html.write(html_path.parent / "index.html", html.render_index(html_path.parent))
    return changes
