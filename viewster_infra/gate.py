"""What the post-deploy gate tells CI: a short Markdown summary (for $GITHUB_STEP_SUMMARY) and one GitHub error
annotation per failing check. Both are built from the same one-line findings the terminal shows."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from viewster_infra import controls

MAX_SUMMARY_LINES = 60
MAX_ANNOTATIONS = 10  # GitHub shows at most 10 error annotations per step


@dataclass(frozen=True)
class Outcome:
    nodeid: str  # tests_infra/aws/test_rds.py::test_rds_engine_version[staging-database]
    outcome: str  # passed / failed / skipped / error
    message: str  # the finding line of a failure, the reason of a skip
    control: str = ""  # VS-RDS-02
    severity: str = ""  # in this environment
    properties: dict = field(default_factory=dict, compare=False)  # the check's user properties (resource, found...)
    duration: float = 0.0
    details: tuple[tuple[str, str], ...] = ()  # (title, text): evidence and notes a check attached

    @property
    def check(self) -> str:
        return self.nodeid.split("::")[-1]


def finding_line(longreprtext: str) -> str:
    """The one-line finding of a failed check's report: without the "[gw0] linux -- Python ..." line xdist puts
    first; for an unexpected exception (a bug, not a drift), its last line."""
    lines = [line for line in longreprtext.splitlines() if line.strip() and not re.match(r"^\[gw\d+\] ", line)]
    if len(lines) <= 1:
        return lines[0] if lines else ""
    errors = [line.removeprefix("E").strip() for line in lines if line.startswith("E ")]
    return errors[-1] if errors else lines[-1]


def area(nodeid: str, env: str) -> str:
    """Where a check looks: "AWS rds", "host backend", "endpoints", "deploy"."""
    path, _, name = nodeid.partition("::")
    parts = path.split("/")
    folder = parts[-2] if len(parts) >= 2 else ""
    module = parts[-1].removeprefix("test_").removesuffix(".py")
    if folder == "aws":
        return f"AWS {module}"
    if folder == "hosts" and f"[{env}-" in name:
        return "host " + name.split(f"[{env}-", 1)[1].split("-", 1)[0].rstrip("]")
    return folder or module


def failing(outcomes: list[Outcome], fail_on: str) -> list[Outcome]:
    """What fails the run: errors, and failures at `fail_on` severity or worse."""
    return [
        o
        for o in outcomes
        if o.outcome == "error" or (o.outcome == "failed" and controls.at_least(o.severity or "critical", fail_on))
    ]


def counts(outcomes: list[Outcome]) -> Counter[str]:
    return Counter(o.outcome for o in outcomes)


def verdict(outcomes: list[Outcome]) -> str:
    found = counts(outcomes)
    return "FAILED" if found["failed"] or found["error"] else "PASSED"


def summary_markdown(outcomes: list[Outcome], facts: dict[str, str], env: str) -> str:
    """At most MAX_SUMMARY_LINES lines: the run, its verdict and counts, then each failure's line by area."""
    found = counts(outcomes)
    tally = ", ".join(
        f"{found[k]} {k}" for k in ("failed", "error", "waived", "advisory", "passed", "skipped") if found[k]
    )
    head = [f"## Viewster infrastructure checks: {env}: {verdict(outcomes)}", "", "| | |", "|---|---|"]
    head += [f"| {key} | {_cell(value)} |" for key, value in facts.items()]
    head += [f"| Result | {tally or 'no checks ran'} |"]
    failures = [o for o in outcomes if o.outcome in ("failed", "error")]
    if not failures:
        return "\n".join(head) + "\n"
    by_area: dict[str, list[Outcome]] = defaultdict(list)
    for failure in failures:
        by_area[area(failure.nodeid, env)].append(failure)
    body = ["", "### Failing checks"]
    for name in sorted(by_area):
        body += ["", f"**{name}**"] + [f"- `{f.check}`: {_cell(f.message)}" for f in by_area[name]]
    lines = head + body
    if len(lines) > MAX_SUMMARY_LINES:
        kept = lines[: MAX_SUMMARY_LINES - 1]
        while kept[-1] == "" or kept[-1].startswith("**"):  # no area heading left without its lines
            kept.pop()
        hidden = sum(1 for line in lines[len(kept) :] if line.startswith("- "))
        lines = kept + [f"and {hidden} more"]
    return "\n".join(lines) + "\n"


def annotations(outcomes: list[Outcome]) -> list[str]:
    """GitHub workflow commands: one ::error per failing check, capped at MAX_ANNOTATIONS with a note."""
    failures = [o for o in outcomes if o.outcome in ("failed", "error")]
    lines = [f"::error title={_property(f.check)}::{_data(f.message)}" for f in failures[:MAX_ANNOTATIONS]]
    if len(failures) > MAX_ANNOTATIONS:
        lines.append(
            f"::notice::{len(failures) - MAX_ANNOTATIONS} more failing checks are not annotated "
            f"(GitHub shows {MAX_ANNOTATIONS} per step); the step summary and the report list them all"
        )
    return lines


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
