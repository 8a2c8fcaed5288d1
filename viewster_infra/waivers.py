"""Waivers (specs/waivers.yaml): known, justified, approved failures, each for a limited time.

A waiver matches a failed check by data: its control, its environment if it names one, and, when it names one,
the resource exactly as the finding names it ("ecr repository viewster-production-backend") or as the check's
own resource is named. Never a word of a message: `resource: repository` matches nothing. It never matches once
expired; then the waiver itself is a failing check (tests_infra/test_waivers.py). How far ahead a waiver may run
is set in specs/controls.yaml (`waiver_max_days`), reviewed apart from the waivers themselves.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from viewster_infra import results
from viewster_infra.spec.loader import SpecError, read_model

WAIVERS_FILE = "waivers.yaml"


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    control: str
    resource: str | None = None
    environment: str | None = None
    justification: str = Field(min_length=1)
    approver: str = Field(min_length=1)
    expires: dt.date
    ticket: str | None = None

    @field_validator("justification", "approver")
    @classmethod
    def _said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must say something")
        return value.strip()

    @property
    def name(self) -> str:
        """ "VS-RDS-09 rds viewster-staging-database", as the report names a waiver."""
        return f"{self.control} {self.resource}" if self.resource else self.control

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def covers(self, control: str | None, resources: set[str], env: str) -> bool:
        """True when this waiver is about this control, environment and (if it names one) exactly one of the
        resources a failed check names (its finding's, its own)."""
        if control != self.control or self.environment not in (None, env):
            return False
        return self.resource is None or self.resource in resources

    def as_result(self) -> results.Waiver:
        """The waiver as a result carries it: every output shows its words beside what it waived."""
        return results.Waiver(
            control=self.control,
            resource=self.resource,
            justification=self.justification,
            approver=self.approver,
            expires=self.expires.isoformat(),
            ticket=self.ticket,
        )


class Waivers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_days: int | None = None  # refused: see _not_here
    waivers: list[Waiver] = []

    @field_validator("max_days")
    @classmethod
    def _not_here(cls, value: int | None) -> None:
        if value is not None:
            raise ValueError(
                "is set in controls.yaml (waiver_max_days), where the author of a waiver cannot lengthen it"
            )
        return None


def load(spec_dir: Path, known_controls: set[str], today: dt.date, max_days: int) -> Waivers:
    """The waivers, validated; SpecError is one line, `file: path: what is wrong`. `max_days` comes from the
    control registry, so that a waiver's author cannot raise it in the same file."""
    path = spec_dir / WAIVERS_FILE
    if not path.exists():
        return Waivers()
    found = read_model(path, Waivers)  # YAML and field errors: one line, as for every file of specs/
    horizon = today + dt.timedelta(days=max_days)
    for index, waiver in enumerate(found.waivers):
        if waiver.control not in known_controls:
            raise SpecError(f"{path}: waivers.{index}.control: no such control: {waiver.control}")
        if waiver.expires > horizon:
            raise SpecError(
                f"{path}: waivers.{index}.expires: {waiver.expires} is more than {max_days} days ahead "
                f"(at most {horizon}; waiver_max_days in {spec_dir / 'controls.yaml'})"
            )
    return found
