"""How a check says what drifted: one line naming the resource, the property, what was expected and found.

Checks call these instead of a bare `assert`, so every failure reads the same in the terminal, the HTML report and
the JUnit XML, whoever wrote the check.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any, TypeVar

import pytest

from viewster_infra.redact import redact

T = TypeVar("T")
Evidence = tuple[str, str]  # (title, text): what a person would look at next, e.g. ("docker logs backend-blue", ...)

_SAID = re.compile(r"^(?P<property>.+?) expected (?P<expected>.+?), found (?P<found>.+)$")

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


def drift(
    resource: str,
    message: str,
    evidence: Evidence | None = None,
    *,
    prop: str | None = None,
    expected: Any = None,
    found: Any = None,
) -> None:
    """Fail the current check with one line and no traceback: the line is the finding. Evidence, secrets
    redacted, goes into the report beside it; resource, property, expected and found go into the JSON report and
    JUnit as the check's properties."""
    item = current_test.get()
    if item is not None:
        if evidence is not None and evidence[1].strip():
            item.add_report_section("call", f"evidence: {evidence[0]}", redact(evidence[1]))
        fields = {"resource": resource, "property": prop}
        if prop is not None:
            fields |= {"expected": redact(show(expected)), "found": redact(show(found))}
        elif said := _SAID.match(message):  # a check's own words: "<property> expected <value>, found <value>"
            fields |= {k: redact(v) for k, v in said.groupdict().items()}
        record(item, **fields)
    pytest.fail(f"{resource}: {message}", pytrace=False)


def record(item: pytest.Item, **fields: str | None) -> None:
    """Set these user properties of a check (replacing earlier values: a settled check keeps its last attempt's)."""
    item.user_properties[:] = [(k, v) for k, v in item.user_properties if k not in fields]
    item.user_properties.extend((k, v) for k, v in fields.items() if v is not None)


def note(title: str, text: str) -> None:
    """Attach a fact to the current check's report even when it passes (redis memory, certificate expiry)."""
    item = current_test.get()
    if item is not None:
        item.add_report_section("call", title, redact(text))


def expect(resource: str, prop: str, expected: Any, found: Any, evidence: Evidence | None = None) -> None:
    """Pass when found equals expected in meaning (70 == 70.0, sets unordered); else one line of drift."""
    if found != expected:
        drift(
            resource,
            f"{prop} expected {show(expected)}, found {show(found)}",
            evidence,
            prop=prop,
            expected=expected,
            found=found,
        )


def expect_includes(resource: str, prop: str, expected_member: Any, found: Any) -> None:
    """Pass when expected_member is among the found values; else one line of drift."""
    if expected_member not in found:
        message = f"{prop} expected to include {show(expected_member)}, found {show(found)}"
        drift(resource, message, prop=f"{prop} include", expected=expected_member, found=found)


def require(resource: str, found: T | None, how_it_was_looked_for: str) -> T:
    """The resource's facts, or a clear "not found" saying how it was looked for."""
    if found is None:
        drift(resource, f"not found ({how_it_was_looked_for})", prop="exists", expected=True, found="not found")
    return found
