"""Waivers (specs/waivers.yaml): known, justified, approved failures, each for a limited time.

A waiver matches a failed check by its control and, when it names one, the resource: a word of the finding's
resource ("rds viewster-production-database") or the check's spec key. It never matches once expired; then the
waiver itself is a failing check (tests_infra/test_waivers.py).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
        """ "VS-RDS-09 viewster-staging-database", as findings and the report name a waiver."""
        return f"{self.control} {self.resource}" if self.resource else self.control

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def covers(self, control: str, finding: str, key: str, env: str) -> bool:
        """True when this waiver is about this control, environment and (if it names one) resource."""
        if control != self.control or (self.environment not in (None, env)):
            return False
        if self.resource is None:
            return True
        resource = finding.split(": ", 1)[0]
        return self.resource == key or self.resource in re.split(r"[\s]+", resource)

    def reason(self) -> str:
        """What the report says of a failure this waiver waives."""
        ticket = f", {self.ticket}" if self.ticket else ""
        return f"waived until {self.expires}: {self.justification} (approved by {self.approver}{ticket})"


class Waivers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_days: int = Field(default=90, gt=0)
    waivers: list[Waiver] = []


def load(spec_dir: Path, known_controls: set[str], today: dt.date) -> Waivers:
    """The waivers, validated; SpecError is one line, `file: path: what is wrong`."""
    path = spec_dir / WAIVERS_FILE
    if not path.exists():
        return Waivers()
    found = read_model(path, Waivers)  # YAML and field errors: one line, as for every file of specs/
    horizon = today + dt.timedelta(days=found.max_days)
    for index, waiver in enumerate(found.waivers):
        if waiver.control not in known_controls:
            raise SpecError(f"{path}: waivers.{index}.control: no such control: {waiver.control}")
        if waiver.expires > horizon:
            raise SpecError(
                f"{path}: waivers.{index}.expires: {waiver.expires} is more than {found.max_days} days ahead "
                f"(at most {horizon})"
            )
    return found
