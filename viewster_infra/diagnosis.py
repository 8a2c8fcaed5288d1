"""The guide's 문제 진단 체크리스트 as chains of checks (specs/diagnosis.yaml), and what a run's results say about them.

A chain is the symptom (what the person on call sees: /health not answering) and the guide's numbered links in its
order; each link is one or more checks, written `check_name` (every entry) or `check_name[entry]` (one entry,
the test id without the environment). The first link with a failing check is the first broken link: the guide's
order says where to look first, so that is where the answer is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from viewster_infra.spec.loader import read_model

CHAINS_FILE = "diagnosis.yaml"
BROKEN = ("failed", "error")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Link(_Strict):
    title: str  # the guide's words
    checks: list[str] = Field(min_length=1)


class Chain(_Strict):
    title: str  # the checklist's heading in the guide
    symptom: Link
    links: list[Link] = Field(min_length=1)

    def steps(self) -> list[tuple[str, Link]]:
        """("symptom", link), then ("1", link), ("2", link)... as the guide numbers them."""
        return [("symptom", self.symptom)] + [(str(n), link) for n, link in enumerate(self.links, 1)]


class Chains(_Strict):
    chains: dict[str, Chain]


def load(spec_dir: Path) -> Chains:
    """The checklists, validated; SpecError is one line naming the file and the field."""
    return read_model(spec_dir / CHAINS_FILE, Chains)


def matches(pattern: str, check_id: str, env: str) -> bool:
    """`test_x` matches every test_x[...]; `test_x[key]` only test_x[<env>-key]."""
    name, _, entry = pattern.partition("[")
    found_name, _, found_entry = check_id.partition("[")
    if name != found_name:
        return False
    return not entry or found_entry.rstrip("]") == f"{env}-{entry.rstrip(']')}"


def in_chain(chain: Chain, check_id: str, env: str) -> bool:
    return any(matches(p, check_id, env) for _, link in chain.steps() for p in link.checks)


@dataclass(frozen=True)
class StepState:
    number: str
    title: str
    state: str  # "broken", "ok", "not checked" (no such check ran: skipped, deselected, not in this environment)
    failing: list  # results.CheckResult of the link's failing checks


@dataclass(frozen=True)
class Verdict:
    key: str
    chain: Chain
    steps: list[StepState]

    @property
    def first_broken(self) -> StepState | None:
        return next((s for s in self.steps if s.number != "symptom" and s.state == "broken"), None)

    @property
    def symptom(self) -> StepState:
        return self.steps[0]

    @property
    def implicated(self) -> bool:
        return any(s.state == "broken" for s in self.steps)


def judge(key: str, chain: Chain, results: list, env: str) -> Verdict:
    """The chain's steps over a run's results (results.CheckResult), the guide's "{env}" filled in."""
    steps = []
    for number, link in chain.steps():
        mine = [r for r in results if any(matches(p, r.id, env) for p in link.checks)]
        failing = [r for r in mine if r.status in BROKEN]
        ran = [r for r in mine if r.status != "skipped"]
        state = "broken" if failing else "ok" if ran else "not checked"
        steps.append(StepState(number, link.title.replace("{env}", env), state, failing))
    return Verdict(key, chain.model_copy(update={"title": chain.title.replace("{env}", env)}), steps)


def judge_all(chains: Chains, results: list, env: str) -> list[Verdict]:
    return [judge(key, chain, results, env) for key, chain in chains.chains.items()]


EVIDENCE_LINES = 12  # of each piece of evidence under the first broken link


def chain_lines(verdict: Verdict) -> list[str]:
    """The chain as the terminal prints it: every step and its state, the first broken link marked, with its
    findings and evidence right under it."""
    first = verdict.first_broken
    lines = [f"Diagnosis: {verdict.chain.title} ({verdict.key})"]
    for step in verdict.steps:
        mark = "->" if step is first else "  "
        label = "symptom" if step.number == "symptom" else f"{step.number}."
        lines.append(f"{mark} {label} {step.title} ... {STATE_WORDS[step.state]}")
        if step is first or step.number == "symptom":
            for result in step.failing:
                lines.append(f"       {result.line}")
        if step is first:
            for result in step.failing:
                for title, text in result.details:
                    lines.append(f"       [{title}]")
                    lines += [f"         {line}" for line in text.splitlines()[-EVIDENCE_LINES:]]
    if first is not None:
        lines.append(f"First broken link: {first.number}. {first.title}")
    elif verdict.symptom.state == "broken":
        lines.append("Every link of the checklist passes: the cause is outside it (see the symptom's finding).")
    else:
        lines.append("Nothing broken along this checklist.")
    return lines


def looks_like(verdicts: list[Verdict]) -> list[str]:
    """One line per checklist the failures belong to, for a run without --diagnose."""
    lines = []
    for verdict in verdicts:
        if not verdict.implicated:
            continue
        first = verdict.first_broken
        where = f"first broken link: {first.number}. {first.title}" if first else "symptom only, every link passes"
        lines.append(f"Looks like: {verdict.chain.title} - {where} (--diagnose={verdict.key} for the chain)")
    return lines


STATE_WORDS = {"broken": "BROKEN", "ok": "ok", "not checked": "not checked"}


def document(verdicts: list[Verdict], asked: str | None) -> dict:
    """The JSON report's `diagnosis`: the chain asked for, or the chains the failures belong to."""
    shown = [v for v in verdicts if v.key == asked] if asked else [v for v in verdicts if v.implicated]
    return {
        "asked": asked,
        "chains": [
            {
                "key": v.key,
                "title": v.chain.title,
                "first_broken": v.first_broken.number if v.first_broken else None,
                "steps": [
                    {
                        "number": s.number,
                        "title": s.title,
                        "state": s.state,
                        "findings": [r.line for r in s.failing],
                    }
                    for s in v.steps
                ],
            }
            for v in shown
        ],
    }
