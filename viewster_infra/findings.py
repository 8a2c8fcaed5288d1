"""How a check says what drifted: one line naming the resource, the property, what was expected and found.

Checks call these instead of a bare `assert`. Each failure is kept as data (results.Finding, in the check's
stash) from the check to every output, so it reads the same in the terminal, the HTML and JSON reports, JUnit and
the CI summary, whoever wrote the check, and no output reads it back from text.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, TypeVar

import pytest

from viewster_infra.redact import redact
from viewster_infra.results import Finding

T = TypeVar("T")
Evidence = tuple[str, str]  # (title, text): what a person would look at next, e.g. ("docker logs backend-blue", ...)

FINDING = pytest.StashKey[Finding]()  # the running check's finding, read by outcomes.py when its report is made
CHART = pytest.StashKey[dict]()  # the datapoints a live check judged, drawn beside it in the report

# The running test, so that a failing check can attach its finding and evidence to its report (set by fixtures.py).
current_test: ContextVar[pytest.Item | None] = ContextVar("current_test", default=None)


def show(value: Any) -> str:
    """A value as a person reads it: 70.0 is 70, a set is sorted, a string is quoted."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(show(v) for v in value)) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(show(v) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return repr(value)


def drift(
    resource: str,
    message: str | None = None,
    evidence: Evidence | None = None,
    *,
    prop: str | None = None,
    expected: str | None = None,
    found: str | None = None,
    cause: str | None = None,
) -> None:
    """Fail the current check with one line and no traceback: the line is the finding.

    Either a message, or the property with what was expected and found as a person reads them (text:
    `expected="under 70"`, `found="82.1"`), which make the message "<prop> expected <expected>, found <found>".
    `cause`: the facts could not be read because this resource is down (the broker, a host); the report shows
    the finding beneath that resource's own. Evidence, secrets redacted, goes into the report beside it."""
    if message is None:
        message = f"{prop} expected {expected}, found {found}"
    finding = Finding(
        resource=resource,
        message=message,
        prop=prop,
        expected=None if expected is None else redact(expected),
        found=None if found is None else redact(found),
        cause=cause,
    )
    item = current_test.get()
    if item is not None:
        item.stash[FINDING] = finding
        if evidence is not None and evidence[1].strip():
            item.add_report_section("call", f"evidence: {evidence[0]}", redact(evidence[1]))
    pytest.fail(finding.line, pytrace=False)


def forget(item: pytest.Item) -> None:
    """Drop a finding an earlier attempt made (settle.py: the check is run again on fresh facts)."""
    if FINDING in item.stash:
        del item.stash[FINDING]


def note(title: str, text: str) -> None:
    """Attach a fact to the current check's report even when it passes (redis memory, certificate expiry)."""
    item = current_test.get()
    if item is not None:
        item.add_report_section("call", title, redact(text))


def chart(metric: str, values: list[float], limit: float, unit: str, breaks: str = "above") -> None:
    """The datapoints a live check judges (newest first, as CloudWatch answers) and its limit, for the report to draw
    beside the check whether it passes or fails. `breaks`: "above" or "below" the limit is the bad side."""
    item = current_test.get()
    if item is not None:
        item.stash[CHART] = {
            "metric": metric,
            "values": list(reversed(values)),
            "limit": limit,
            "unit": unit,
            "breaks": breaks,
        }


def expect(
    resource: str, prop: str, expected: Any, found: Any, evidence: Evidence | None = None, *, cause: str | None = None
) -> None:
    """Pass when found equals expected in meaning (70 == 70.0, sets unordered); else one line of drift. `cause`:
    see drift (found is unknown because that resource is down)."""
    if found != expected:
        drift(resource, evidence=evidence, prop=prop, expected=show(expected), found=show(found), cause=cause)


def expect_includes(resource: str, prop: str, expected_member: Any, found: Any) -> None:
    """Pass when expected_member is among the found values; else one line of drift."""
    if expected_member not in found:
        message = f"{prop} expected to include {show(expected_member)}, found {show(found)}"
        drift(resource, message, prop=f"{prop} include", expected=show(expected_member), found=show(found))


def require(resource: str, found: T | None, how_it_was_looked_for: str, *, cause: str | None = None) -> T:
    """The resource's facts, or a clear "not found" saying how it was looked for. `cause`: what being down makes
    them missing (see drift)."""
    if found is None:
        drift(
            resource,
            f"not found ({how_it_was_looked_for})",
            prop="exists",
            expected=show(True),
            found=show("not found"),
            cause=cause,
        )
    return found
