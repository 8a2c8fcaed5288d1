"""Incident regression tests: the marker that says which incident a check guards against, and the scaffolder.

    @pytest.mark.incident(id="INC-2026-014", date="2026-11-02", summary="...", link="https://...")

An incident check is its own control (its id is the incident's, its title the summary, severity `high` unless the
marker says `severity=`), so it needs no entry in specs/controls.yaml. A missing or malformed field stops the run
with one line naming the file.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path

MARKER = "incident"
MARKER_HELP = (
    "incident(id, date, summary, link, severity='high'): this check guards against that incident "
    "(tests_infra/incidents/; python -m viewster_infra new-incident)"
)
ID = re.compile(r"^INC-\d{4}-\d{3,}$")
SEVERITIES = ("critical", "high", "medium", "low")
CHECKS_DIR = Path("tests_infra") / "incidents"
DRIFT_DIR = Path("tests_unit") / "incidents"


@dataclass(frozen=True)
class Incident:
    id: str
    date: str
    summary: str
    link: str
    severity: str

    def properties(self) -> list[tuple[str, str]]:
        return [
            ("incident", self.id),
            ("incident_date", self.date),
            ("incident_summary", self.summary),
            ("incident_link", self.link),
        ]


class IncidentMarkerError(ValueError):
    """A malformed incident marker; the message is one line."""


def from_marker(marker) -> Incident:
    """The marker's fields, checked: every field present, the id INC-YYYY-NNN, the date a date, the link a URL."""
    if marker.args:
        raise IncidentMarkerError("give the fields by name: id=, date=, summary=, link=")
    fields = dict(marker.kwargs)
    unknown = sorted(set(fields) - {"id", "date", "summary", "link", "severity"})
    if unknown:
        raise IncidentMarkerError(f"unknown field(s) {', '.join(unknown)}")
    missing = [name for name in ("id", "date", "summary", "link") if not str(fields.get(name) or "").strip()]
    if missing:
        raise IncidentMarkerError(f"missing {', '.join(missing)}")
    if not ID.match(str(fields["id"])):
        raise IncidentMarkerError(f"id {fields['id']!r} is not INC-YYYY-NNN")
    try:
        datetime.date.fromisoformat(str(fields["date"]))
    except ValueError:
        raise IncidentMarkerError(f"date {fields['date']!r} is not YYYY-MM-DD") from None
    if not re.match(r"^https?://\S+$", str(fields["link"])):
        raise IncidentMarkerError(f"link {fields['link']!r} is not an http(s) URL")
    severity = fields.get("severity", "high")
    if severity not in SEVERITIES:
        raise IncidentMarkerError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    return Incident(str(fields["id"]), str(fields["date"]), str(fields["summary"]).strip(), fields["link"], severity)


# -- the scaffolder ----------------------------------------------------------------------------------------------


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:50].strip("_")


def used_ids(root: Path) -> set[str]:
    """Incident ids already written in tests_infra/incidents (read as text: no import, no run needed)."""
    found = set()
    for path in (root / CHECKS_DIR).glob("test_*.py"):
        found |= set(re.findall(r"""id\s*=\s*["'](INC-\d{4}-\d{3,})["']""", path.read_text(encoding="utf-8")))
    return found


def scaffold(root: Path, incident_id: str, title: str, role: str, roles: list[str], today: datetime.date) -> list[Path]:
    """The incident's check and its drift test, from templates; refuses a used id, an unknown role."""
    if not ID.match(incident_id):
        raise IncidentMarkerError(f"id {incident_id!r} is not INC-YYYY-NNN")
    if incident_id in used_ids(root):
        raise IncidentMarkerError(f"{incident_id} is already used in {CHECKS_DIR}")
    if role not in roles:
        raise IncidentMarkerError(f"role {role!r} is not one of the spec's roles ({', '.join(roles)})")
    name = f"{slug(incident_id)}_{slug(title)}"
    check = root / CHECKS_DIR / f"test_{name}.py"
    drift = root / DRIFT_DIR / f"test_{name}_drift.py"
    for path in (check, drift):
        if path.exists():
            raise IncidentMarkerError(f"{path} exists")
    check.parent.mkdir(parents=True, exist_ok=True)
    drift.parent.mkdir(parents=True, exist_ok=True)
    for package in (check.parent / "__init__.py", drift.parent / "__init__.py"):
        package.touch()
    function = f"test_{slug(title)}"
    check.write_text(
        CHECK_TEMPLATE.format(id=incident_id, title=title, date=today.isoformat(), role=role, function=function),
        encoding="utf-8",
    )
    drift.write_text(DRIFT_TEMPLATE.format(id=incident_id, title=title, role=role, function=function), encoding="utf-8")
    return [check, drift]


CHECK_TEMPLATE = '''"""{id}: {title}.

What happened (write it for the person on call next time): ...
The fact that would have caught it, and why this value: ...
"""

import pytest

from viewster_infra.findings import expect


@pytest.mark.incident(
    id="{id}",
    date="{date}",
    summary="{title}",
    link="https://example.invalid/incidents/{id}",  # the postmortem or ticket
)
def {function}(hosts):
    facts = hosts.facts("{role}")  # what the {role} host's probe gathered (viewster_infra/hosts/probe.py)
    # Write the fact: one value from `facts` (add it to the probe if it is not there yet) against what it must be,
    # e.g. expect("thirdparty redis", "maxmemory-policy", "volatile-lru", facts["redis"]["maxmemory_policy"]).
    # Until then this fails: nothing is expected of "<fact>".
    expect("{role} <resource>", "<property>", "<expected>", facts.get("<fact>"))
'''

DRIFT_TEMPLATE = '''"""{id}: {title}. The drift recreates the incident on the sandbox; the guard must name it."""

from tests_unit.harness import proves


@proves("{function}")
def {function}_drift(staging_hosts):
    staging_hosts.restore("{role}")  # started again, compliant, after this test
    assert staging_hosts.run("-m", "incident").failures == {{}}  # the compliant sandbox passes the guard
    # Recreate the incident's state the way it happened, e.g.
    # staging_hosts.ssh("thirdparty", "docker exec redis redis-cli config set maxmemory-policy noeviction")
    failures = staging_hosts.run("-m", "incident").failures
    assert failures == {{"{function}": "<the one-line finding>"}}
'''
