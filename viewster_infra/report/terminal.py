"""The run in the terminal, after pytest's own lines: the checklists the failures belong to, what failed (each root
cause once), waivers with their words, recommendations, the verdict, and where the reports are. Rendered from the
RunResult, so the verdict line says what the exit code says."""

from __future__ import annotations

from dataclasses import dataclass, field

from viewster_infra import diagnosis
from viewster_infra.results import RunResult

Section = tuple[str | None, str, list[str]]  # (title or None for plain lines, separator, lines)


@dataclass
class Extras:
    """What the terminal shows beside the results: known to the plugin, not to the result model."""

    verdicts: list = field(default_factory=list)  # diagnosis.Verdict
    diagnosed: bool = False  # --diagnose: the one chain, link by link
    annotations: list[str] = field(default_factory=list)  # GitHub workflow commands, under GitHub Actions
    facts: dict[str, str] = field(default_factory=dict)  # closing facts: calls, SSH, duration
    phases: str = ""
    changes: dict | None = None
    compare_error: str | None = None
    paths: dict[str, str] = field(default_factory=dict)  # "Report", "JUnit XML", "JSON" -> path
    exit_code: int | None = None  # pytest's, when it is not the verdict's (an interrupted run)


def sections(run: RunResult, extras: Extras) -> list[Section]:
    shown: list[Section] = []
    if extras.diagnosed and extras.verdicts:
        shown.append(("diagnosis (문제 진단 체크리스트)", "=", diagnosis.chain_lines(extras.verdicts[0])))
    elif any(v.implicated for v in extras.verdicts):
        title = "which checklists the failures belong to (문제 진단 체크리스트)"
        shown.append((title, "-", diagnosis.looks_like(extras.verdicts)))
    incidents = [r for r in run.results if r.incident]
    if incidents:
        shown.append(("incident regression tests", "-", [_incident(r) for r in incidents]))
    settled = [f"{r.id}: {r.settle}" for r in run.results if r.settle]
    if settled:
        shown.append(("settle: checks that needed more than one read", "-", settled))
    failing = run.summary_lines(run.failing())
    if failing:
        shown.append(("what fails the run (each cause once)", "-", _lines(failing)))
    below = run.summary_lines(run.below_fail_on())
    if below:
        title = f"reported, below --fail-on={run.fail_on} (not failing the run)"
        shown.append((title, "-", _lines(below)))
    waived = run.with_status("waived")
    if waived or run.unused_waivers:
        lines = [f"WAIVED {r.id}: {r.line}\n    waiver {r.waiver.name}: {r.waiver.words}" for r in waived]
        lines += [_unused(w, run) for w in run.unused_waivers]
        shown.append(("waivers", "-", lines))
    advisory = run.with_status("advisory")
    if advisory:
        title = "recommendations not followed (the guide's 비용 최적화 팁; failing nothing)"
        shown.append((title, "-", [f"{r.control} {r.line}" for r in advisory]))
    plain = list(extras.annotations)
    plain += [f"{key}: {value}" for key, value in extras.facts.items()]
    plain.append(extras.phases)
    if extras.compare_error:
        plain.append(f"Since the previous report: not compared ({extras.compare_error})")
    elif extras.changes is not None and extras.changes["compared_to"]:
        c = extras.changes
        plain.append(
            f"Since {c['compared_to']}: {len(c['new_failures'])} new failure(s), {len(c['fixed'])} fixed, "
            f"{len(c['still_failing'])} still failing"
        )
    plain += [f"{name}: {path}" for name, path in extras.paths.items()]
    plain.append(verdict_line(run, extras.exit_code))
    shown.append((None, "", [line for line in plain if line]))
    return shown


def verdict_line(run: RunResult, exit_code: int | None = None) -> str:
    """The verdict and why; an interrupted run (Ctrl-C, an internal error) says that instead of the verdict's code."""
    if exit_code not in (None, 0, 1):
        return f"Verdict: not reached (the run was interrupted; exit code {exit_code}): the checks above are partial"
    failing, below = run.failing(), run.below_fail_on()
    why = f"{len(failing)} failure(s) at {run.fail_on} or worse" if failing else "nothing fails the run"
    if below:
        why += f"; {len(below)} failure(s) below --fail-on={run.fail_on} reported, not failing"
    return f"Verdict: {run.verdict()} ({why}; exit code {run.exit_code})"


def _lines(lines) -> list[str]:
    out = []
    for line in lines:
        result = line.result
        out.append(f"{result.control or '-'} {result.severity or ''} {line.text}".replace("  ", " "))
        out += [f"    {text}" for text in line.beneath]
    return out


def _incident(result) -> str:
    incident = result.incident
    state = "guard passed" if result.status == "passed" else f"guard {result.status.upper()}"
    return f"{incident['id']} ({incident['date']}) {state}: {incident['summary']}"


def _unused(waiver, run: RunResult) -> str:
    """An unused waiver, and what the failures of its control are named, when one was meant and mistyped."""
    line = f"unused: the waiver for {waiver.name} matched no failure in this run"
    named = sorted({r.finding.resource for r in run.with_status("failed") if r.control == waiver.control and r.finding})
    if waiver.resource and named:
        line += f" (failures of {waiver.control} name: {', '.join(repr(n) for n in named)})"
    return line
