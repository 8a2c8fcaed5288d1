"""The run as a short Markdown summary (for $GITHUB_STEP_SUMMARY): the verdict, the run's facts, the counts, then
the failures that fail the run and those reported below --fail-on, each root cause once. Rendered from the
RunResult, so it says what the exit code says."""

from __future__ import annotations

from collections import defaultdict

from viewster_infra.results import Line, RunResult

MAX_SUMMARY_LINES = 60
TALLY_ORDER = ("failed", "error", "waived", "advisory", "passed", "skipped")


def summary(run: RunResult, facts: dict[str, str]) -> str:
    """At most MAX_SUMMARY_LINES lines."""
    found = run.tally()
    tally = ", ".join(f"{found[k]} {k}" for k in TALLY_ORDER if found[k])
    head = [f"## Viewster infrastructure checks: {run.env}: {run.verdict()}", "", "| | |", "|---|---|"]
    head += [f"| {key} | {cell(value)} |" for key, value in facts.items()]
    head += [f"| Fails on | {run.fail_on} and worse |", f"| Result | {tally or 'no checks ran'} |"]
    body = _section("Failing the run", run.summary_lines(run.failing()))
    body += _section(
        f"Reported, below --fail-on={run.fail_on} (not failing the run)", run.summary_lines(run.below_fail_on())
    )
    waived = run.with_status("waived")
    if waived:
        body += ["", "### Waived"] + [f"- {cell(r.line)} (waiver: {cell(r.waiver.words)})" for r in waived]
    return "\n".join(_cut(head + body)) + "\n"


def _section(title: str, lines: list[Line]) -> list[str]:
    if not lines:
        return []
    by_area: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        by_area[line.result.area].append(line)
    body = ["", f"### {title}"]
    for name in sorted(by_area):
        body += ["", f"**{name}**"]
        for line in by_area[name]:
            body.append(f"- `{line.result.control or line.result.check}` {cell(line.text)}")
            body += [f"  - {cell(text)}" for text in line.beneath]
    return body


def _cut(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_SUMMARY_LINES:
        return lines
    kept = lines[: MAX_SUMMARY_LINES - 1]
    while kept[-1] == "" or kept[-1].startswith(("**", "###")):  # no heading left without its lines
        kept.pop()
    hidden = sum(1 for line in lines[len(kept) :] if line.startswith("- "))
    return kept + [f"and {hidden} more (the report lists them all)"]


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
