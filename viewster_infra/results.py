"""The one result model every output renders: a check's `Finding` (made by findings.drift, never read back from
text), its `CheckResult` (status, finding, waiver, settle, reads), and the `RunResult` whose verdict, exit code and
root causes the terminal, JSON, HTML, JUnit, the Markdown summary and the annotations all say the same way."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, replace

from viewster_infra import controls

STATUSES = ("failed", "error", "waived", "advisory", "skipped", "passed")
BROKEN = ("failed", "error")


@dataclass(frozen=True)
class Finding:
    """What drifted, as data: `line` is the one line a person reads."""

    resource: str  # "rds viewster-staging-database"
    message: str  # "engine version expected '15.14', found '15.13'"
    prop: str | None = None  # the property that drifted
    expected: str | None = None  # as shown to a person, secrets redacted
    found: str | None = None
    # The facts could not be read because this resource is down or unreadable ("host thirdparty", the broker's
    # label): the finding is a consequence, and the failing check about that resource is its cause.
    cause: str | None = None

    @property
    def line(self) -> str:
        return f"{self.resource}: {self.message}"


@dataclass(frozen=True)
class Waiver:
    """The waiver that waived a failure, with the words an auditor reads beside it."""

    control: str
    resource: str | None
    justification: str
    approver: str
    expires: str
    ticket: str | None = None

    @property
    def name(self) -> str:
        return f"{self.control} {self.resource}" if self.resource else self.control

    @property
    def words(self) -> str:
        ticket = f", {self.ticket}" if self.ticket else ""
        return f"{self.justification} (approved by {self.approver}, until {self.expires}{ticket})"


@dataclass(frozen=True)
class CheckResult:
    nodeid: str  # tests_infra/aws/test_rds.py::test_rds_engine_version[staging-database]
    area: str  # "AWS rds", "host backend", "endpoints", "deploy"
    status: str  # one of STATUSES
    control: str | None = None
    severity: str | None = None  # in this environment
    resource: str | None = None  # what the check is about (its spec entry's label)
    finding: Finding | None = None  # a failure's (also a waived or advisory one's) finding
    reason: str | None = None  # why it was skipped, or the exception of a check that broke (no finding)
    waiver: Waiver | None = None
    settle: str | None = None  # how --settle ended for a check that needed more than one read
    reads: tuple[str, ...] = ()  # the facts it read: "aws-rds", "hosts", "endpoints"
    duration: float = 0.0
    details: tuple[tuple[str, str], ...] = ()  # (title, text): evidence and notes the check attached, redacted
    incident: dict | None = None  # id, date, summary, link: the incident a regression test guards against
    chart: dict | None = None  # a live check's datapoints and limit (findings.chart), drawn in the HTML report

    @property
    def id(self) -> str:
        return self.nodeid.split("::")[-1]

    @property
    def check(self) -> str:
        return self.id.split("[", 1)[0]

    def what_drifted(self) -> dict[str, str | None]:
        """resource, property, expected, found: the finding's, or for a check without one, its resource."""
        finding = self.finding
        if finding is None:
            return {"resource": self.resource, "property": None, "expected": None, "found": None}
        return {
            "resource": finding.resource,
            "property": finding.prop,
            "expected": finding.expected,
            "found": finding.found,
        }

    @property
    def line(self) -> str:
        """One line: the finding, or the reason."""
        return self.finding.line if self.finding is not None else self.reason or ""

    def as_dict(self) -> dict:
        """Plain data (xdist sends it from a worker to the controller)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CheckResult:
        data = dict(data)
        data["finding"] = Finding(**data["finding"]) if data["finding"] else None
        data["waiver"] = Waiver(**data["waiver"]) if data["waiver"] else None
        data["reads"] = tuple(data["reads"])
        data["details"] = tuple(tuple(d) for d in data["details"])
        return cls(**data)


@dataclass(frozen=True)
class Cause:
    """One root cause: the failing checks about a resource (`found_by`, may be none when nothing else checks it)
    and the checks that could not read their facts because of it."""

    resource: str
    found_by: tuple[CheckResult, ...]
    blocked: tuple[CheckResult, ...]


@dataclass
class RunResult:
    env: str
    results: list[CheckResult]
    fail_on: str = "low"
    unused_waivers: list[Waiver] = field(default_factory=list)  # in force, and waived nothing in this run

    def failing(self) -> list[CheckResult]:
        """What fails the run: errors, and failures at --fail-on severity or worse."""
        return [r for r in self.results if r.status == "error" or (r.status == "failed" and self._counts(r))]

    def below_fail_on(self) -> list[CheckResult]:
        """Failures reported but not failing the run (below --fail-on)."""
        return [r for r in self.results if r.status == "failed" and not self._counts(r)]

    def _counts(self, result: CheckResult) -> bool:
        return controls.at_least(result.severity or "critical", self.fail_on)

    def verdict(self, fail_on: str | None = None) -> str:
        if fail_on is not None and fail_on != self.fail_on:
            return replace(self, fail_on=fail_on).verdict()
        return "FAILED" if self.failing() else "PASSED"

    @property
    def exit_code(self) -> int:
        """pytest's own codes: 1 when the verdict is FAILED, else 0."""
        return 1 if self.verdict() == "FAILED" else 0

    def with_status(self, *statuses: str) -> list[CheckResult]:
        return [r for r in self.results if r.status in statuses]

    def tally(self) -> Counter[str]:
        return Counter(r.status for r in self.results)

    def causes(self) -> list[Cause]:
        """Failures grouped by what caused them: for each resource that checks could not read their facts
        because of, the failing checks about that resource, and those checks beneath it."""
        broken = self.with_status(*BROKEN)
        blocked: dict[str, list[CheckResult]] = {}
        for r in broken:
            if r.finding is not None and r.finding.cause is not None:
                blocked.setdefault(r.finding.cause, []).append(r)
        causes = []
        for resource, consequences in blocked.items():
            found_by = [
                r
                for r in broken
                if r.finding is not None and r.finding.cause is None and resource in (r.finding.resource, r.resource)
            ]
            causes.append(Cause(resource, tuple(found_by), tuple(consequences)))
        return causes

    def summary_lines(self, among: list[CheckResult] | None = None) -> list[Line]:
        """The failures (of `among`, default all) as a person on call reads them: each root cause once with "N
        checks could not read their facts" beneath it, then every other failure, one line each (a line that
        several checks say, once), in the order the checks ran."""
        among = self.with_status(*BROKEN) if among is None else among
        wanted = {id(r) for r in among}
        causes = [c for c in self.causes() if any(id(r) in wanted for r in (*c.found_by, *c.blocked))]
        grouped = {id(r) for c in causes for r in (*c.found_by, *c.blocked)}
        shown: list[Line] = []
        seen: set[str] = set()

        def add(result: CheckResult, beneath: list[str]) -> None:
            if result.line not in seen:
                seen.add(result.line)
                shown.append(Line(result, beneath))

        for cause in causes:
            heads = [r for r in cause.found_by if id(r) in wanted]
            blocked = [r for r in cause.blocked if id(r) in wanted]
            if not heads:  # nothing here found the cause (another section did, or no check): the first one stands
                heads, blocked = blocked[:1], blocked[1:]
                beneath = (
                    [could_not_read(len(blocked), cause, more=True)]
                    if blocked
                    else [f"could not read its facts {because_of(cause)}"]
                )
            else:
                beneath = [could_not_read(len(blocked), cause)] if blocked else []
            for head in heads[:-1]:
                add(head, [])
            add(heads[-1], beneath)
        for r in among:
            if id(r) not in grouped:
                add(r, [])
        return shown


@dataclass(frozen=True)
class Line:
    """One line of a run's summary: a failure's finding, and what it explains beneath it."""

    result: CheckResult
    beneath: list[str]

    @property
    def text(self) -> str:
        return self.result.line


def could_not_read(count: int, cause: Cause, more: bool = False) -> str:
    return f"{count}{' more' if more else ''} check(s) could not read their facts {because_of(cause)}"


def because_of(cause: Cause) -> str:
    found_by = ", ".join(dict.fromkeys(r.control or r.id for r in cause.found_by))
    return f"because of {cause.resource}" + (f" (found by {found_by})" if found_by else "")


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
