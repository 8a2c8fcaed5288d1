"""Each check's result as data (results.CheckResult), made where the check ran from what it left in its stash:
its finding, the facts it read, how --settle ended; judged waived (a waiver in force covers it) or advisory (one of
the guide's recommendations, not followed). The result travels on the report (also from xdist workers) and the
controller's Recorder keeps one per check: every output is rendered from those, none from report text."""

from __future__ import annotations

from pathlib import Path

import pytest

from viewster_infra import results
from viewster_infra.findings import CHART, FINDING

RECOMMENDATIONS = "recommendations"  # the folder of tests_infra/ whose checks are the guide's recommendations
CHECK = pytest.StashKey[dict]()  # control, severity, resource, incident: set at collection (plugin.py)
READS = pytest.StashKey[set]()  # the facts the check read (fixtures.py)
SETTLED = pytest.StashKey[str]()  # how --settle ended for it (settle.py)
ATTRIBUTE = "viewster_result"  # the report attribute the result travels in (plain data: xdist serialises it)
STATUS_WORDS = {"waived": ("waived", "w", "WAIVED"), "advisory": ("advisory", "a", "ADVISORY")}


def judge(item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport, context, strict: bool) -> None:
    """Make the check's result and put it on its report. A waived or advisory failure fails nothing: pytest
    counts it as skipped, with the result's line as the reason (JUnit's skipped message)."""
    if CHECK not in item.stash or (report.when != "call" and report.passed):
        return
    result = _result(item, call, report, context, strict)
    setattr(report, ATTRIBUTE, result.as_dict())
    if result.status in STATUS_WORDS:
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1], _skipped_reason(result))
    report.user_properties = junit_properties(result)
    item.user_properties[:] = report.user_properties  # the teardown report's: what junitxml writes


def _result(item, call, report, context, strict: bool) -> results.CheckResult:
    meta = item.stash[CHECK]
    finding = item.stash.get(FINDING, None) if report.failed else None
    status, reason, waiver = report.outcome, None, None
    if report.skipped:
        reason = _skip_reason(call, report)
    elif report.failed and report.when != "call":
        status, reason = "error", _exception(call)
    elif report.failed and finding is None:
        reason = _exception(call)  # the check broke on something it did not expect: a bug, said as its exception
    if status == "failed" and finding is not None:
        if RECOMMENDATIONS in Path(item.path).parts and finding.cause is None and not strict:
            status = "advisory"
        else:
            waiver = _waiver(meta, finding, context)
            status = "waived" if waiver is not None else status
    return results.CheckResult(
        nodeid=item.nodeid,
        area=results.area(item.nodeid, context.env),
        status=status,
        control=meta.get("control"),
        severity=meta.get("severity"),
        resource=meta.get("resource"),
        finding=finding,
        reason=reason,
        waiver=waiver,
        settle=item.stash.get(SETTLED, None),
        reads=tuple(sorted(item.stash.get(READS, ()))),
        duration=report.duration,
        details=_details(report),
        incident=meta.get("incident"),
        chart=item.stash.get(CHART, None),
    )


def _waiver(meta: dict, finding: results.Finding, context) -> results.Waiver | None:
    named = {finding.resource} | ({meta["resource"]} if meta.get("resource") else set())
    today = context.inputs.today()
    for waiver in context.waivers.waivers:
        if not waiver.expired(today) and waiver.covers(meta.get("control"), named, context.env):
            return waiver.as_result()
    return None


def _skip_reason(call: pytest.CallInfo, report: pytest.TestReport) -> str:
    if call.excinfo is not None and isinstance(call.excinfo.value, pytest.skip.Exception):
        return call.excinfo.value.msg
    return report.longrepr[2].removeprefix("Skipped: ") if isinstance(report.longrepr, tuple) else ""


def _exception(call: pytest.CallInfo) -> str:
    return call.excinfo.exconly().strip().splitlines()[-1] if call.excinfo is not None else ""


def _skipped_reason(result: results.CheckResult) -> str:
    if result.status == "waived":
        return f"WAIVED {result.line}; waiver {result.waiver.name}: {result.waiver.words}"
    return f"ADVISORY {result.line} (a recommendation: --strict-recommendations makes it fail)"


def _details(report: pytest.TestReport) -> tuple[tuple[str, str], ...]:
    """The evidence and notes a check attached (findings.drift, findings.note), without pytest's captured output."""
    found = []
    for title, text in report.sections:
        if title.startswith(("Captured stdout", "Captured stderr", "Captured log")):
            continue
        name = title.removeprefix("Captured ").rsplit(" ", 1)[0]
        found.append((name.removeprefix("evidence: "), text))
    return tuple(found)


def junit_properties(result: results.CheckResult) -> list[tuple[str, str]]:
    """The result as JUnit test-case properties (what CI and auditors read there)."""
    finding, waiver = result.finding, result.waiver
    fields = {
        "control": result.control,
        "severity": result.severity,
        "status": result.status,
        **result.what_drifted(),
        "cause": finding.cause if finding else None,
        "waiver": waiver.name if waiver else None,
        "waiver_justification": waiver.justification if waiver else None,
        "waiver_approver": waiver.approver if waiver else None,
        "waiver_expires": waiver.expires if waiver else None,
        "settle": result.settle,
        "reads": " ".join(result.reads),
    }
    if result.incident:
        fields |= {f"incident_{k}" if k != "id" else "incident": v for k, v in result.incident.items()}
    return [(k, v) for k, v in fields.items() if v is not None]


def status(report: pytest.TestReport):
    """pytest_report_teststatus: WAIVED and ADVISORY in the terminal, counted apart from skipped."""
    result = getattr(report, ATTRIBUTE, None)
    if result is not None and result["status"] in STATUS_WORDS:
        category, letter, word = STATUS_WORDS[result["status"]]
        return category, letter, (word, {"yellow" if category == "waived" else "cyan": True})
    return None


def run_result(checked: list[results.CheckResult], context, fail_on: str) -> results.RunResult:
    """The run's result: every check's, and the waivers in force here that waived nothing."""
    used = {r.waiver.name for r in checked if r.waiver}
    today = context.inputs.today()
    unused = [
        w.as_result()
        for w in context.waivers.waivers
        if not w.expired(today) and w.environment in (None, context.env) and w.name not in used
    ]
    return results.RunResult(context.env, checked, fail_on, unused)


class Recorder:
    """Each check's result as the controller receives it (also from xdist workers), one per check."""

    def __init__(self) -> None:
        self._results: dict[str, results.CheckResult] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, ATTRIBUTE, None)
        if data is None:
            return
        result = results.CheckResult.from_dict(data)
        if report.when == "call" or report.nodeid not in self._results or result.status == "error":
            self._results[report.nodeid] = result

    @property
    def results(self) -> list[results.CheckResult]:
        return list(self._results.values())
