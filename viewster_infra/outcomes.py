"""What became of each check beyond pytest's own outcome: waived (a waiver in force covers its failure) or advisory
(one of the guide's recommendations, not followed); and the record the controller keeps of every check's outcome
and finding line, which the reports, the gate's summary and the terminal are written from."""

from __future__ import annotations

import re

import pytest

from viewster_infra import gate, settle

WAIVED = "waived: "  # how a waived failure's report is told apart from pytest's own xfail
ADVISORY = "advisory: "  # a recommendation not followed (reported, failing nothing unless --strict-recommendations)
RECOMMENDATIONS = "recommendations"  # the folder of tests_infra/ whose checks are the guide's recommendations


def judge(item: pytest.Item, report: pytest.TestReport, context, strict_recommendations: bool) -> None:
    """Turn a failed check's report into advisory or waived where that is what it is (a skipped report with a
    reason, which fails nothing); a failure to read the facts stays a failure."""
    if report.when != "call" or not report.failed or not hasattr(item, "callspec"):
        return
    properties = dict(item.user_properties)
    if RECOMMENDATIONS in item.path.parts and "unreadable" not in properties and not strict_recommendations:
        report.outcome = "skipped"
        report.wasxfail = f"{ADVISORY}not followed (a recommendation: --strict-recommendations makes it fail)"
        return
    finding = gate.finding_line(report.longreprtext)
    key = item.callspec.id.removeprefix(f"{context.env}-")
    today = context.inputs.today()
    for waiver in context.waivers.waivers:
        if not waiver.expired(today) and waiver.covers(properties.get("control"), finding, key, context.env):
            report.outcome = "skipped"
            report.wasxfail = f"{WAIVED}{waiver.reason()}"
            report.user_properties.append(("waiver", waiver.name))
            return


def status(report: pytest.TestReport):
    """pytest_report_teststatus: WAIVED and ADVISORY in the terminal, counted apart from skipped."""
    reason = getattr(report, "wasxfail", "")
    if report.when == "call" and reason.startswith(WAIVED):
        return "waived", "w", ("WAIVED", {"yellow": True})
    if report.when == "call" and reason.startswith(ADVISORY):
        return "advisory", "a", ("ADVISORY", {"cyan": True})
    return None


class Recorder:
    """Each check's outcome as the controller receives it (also from xdist workers)."""

    def __init__(self) -> None:
        self.outcomes: list[gate.Outcome] = []
        self.settled: list[str] = []
        self.waived: set[str] = set()  # names of the waivers that waived something

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and report.outcome == "passed":
            return
        outcome = "error" if report.when != "call" and report.outcome == "failed" else report.outcome
        reason = getattr(report, "wasxfail", "")
        if reason.startswith(WAIVED):
            outcome, message = "waived", gate.finding_line(report.longreprtext)
            self.waived.add(dict(report.user_properties)["waiver"])
        elif reason.startswith(ADVISORY):
            outcome, message = "advisory", gate.finding_line(report.longreprtext)
        elif report.skipped and isinstance(report.longrepr, tuple):
            message = report.longrepr[2]
        else:
            message = gate.finding_line(report.longreprtext)
        properties = dict(report.user_properties)
        self.outcomes.append(
            gate.Outcome(
                report.nodeid,
                outcome,
                message.removeprefix("Skipped: "),
                control=properties.get("control", ""),
                severity=properties.get("severity", ""),
                properties=properties,
                duration=report.duration,
                details=_details(report),
            )
        )
        self.settled += settle.summary([report])


def _details(report: pytest.TestReport) -> tuple[tuple[str, str], ...]:
    """The evidence and notes a check attached (findings.drift, findings.note), without pytest's captured output."""
    found = []
    for title, text in report.sections:
        if title.startswith(("Captured stdout", "Captured stderr", "Captured log")):
            continue
        name = re.sub(r"^Captured (.*) (setup|call|teardown)$", r"\1", title)
        found.append((name.removeprefix("evidence: "), text))
    return tuple(found)
