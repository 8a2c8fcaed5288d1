"""How a check says what drifted: one line naming the resource, the property, what was expected and found.

Checks call these instead of a bare `assert`, so every failure reads the same in the terminal, the HTML report and
the JUnit XML, whoever wrote the check.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, TypeVar

import pytest

from viewster_infra.redact import redact

T = TypeVar("T")
Evidence = tuple[str, str]  # (title, text): what a person would look at next, e.g. ("docker logs backend-blue", ...)

# The running test, so that a failing check can attach its evidence to the report (set by the plugin).
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


def drift(resource: str, message: str, evidence: Evidence | None = None) -> None:
    """Fail the current check with one line and no traceback: the line is the finding. Evidence, secrets
    redacted, goes into the report beside it."""
    item = current_test.get()
    if evidence is not None and item is not None and evidence[1].strip():
        item.add_report_section("call", f"evidence: {evidence[0]}", redact(evidence[1]))
    pytest.fail(f"{resource}: {message}", pytrace=False)


def note(title: str, text: str) -> None:
    """Attach a fact to the current check's report even when it passes (redis memory, certificate expiry)."""
    item = current_test.get()
    if item is not None:
        item.add_report_section("call", title, redact(text))


def expect(resource: str, prop: str, expected: Any, found: Any, evidence: Evidence | None = None) -> None:
    """Pass when found equals expected in meaning (70 == 70.0, sets unordered); else one line of drift."""
    if found != expected:
        drift(resource, f"{prop} expected {show(expected)}, found {show(found)}", evidence)


def expect_includes(resource: str, prop: str, expected_member: Any, found: Any) -> None:
    """Pass when expected_member is among the found values; else one line of drift."""
    if expected_member not in found:
        drift(resource, f"{prop} expected to include {show(expected_member)}, found {show(found)}")


def require(resource: str, found: T | None, how_it_was_looked_for: str) -> T:
    """The resource's facts, or a clear "not found" saying how it was looked for."""
    if found is None:
        drift(resource, f"not found ({how_it_was_looked_for})")
    return found
