"""Writes a run's JSON report, its HTML page and reports/index.html from the RunResult, and says what changed since
the previous run."""

from __future__ import annotations

from pathlib import Path

from viewster_infra import reporting
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
    records.write(json_path, doc)
    html.write(html_path, html.render_run(doc))
    html.write(html_path.parent / "index.html", html.render_index(html_path.parent))
    return doc
