"""The control registry (specs/controls.yaml): what each check means to an auditor. Every check is one control with
a stable id, a title in words, a severity, the guide section it comes from, and the public controls it also
satisfies. Test ids say where; control ids say what."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from viewster_infra.spec.loader import SpecError, read_model

REGISTRY_FILE = "controls.yaml"
Severity = Literal["critical", "high", "medium", "low"]
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")  # lowest first
CONTROL_ID = r"^VS-[A-Z0-9]+-\d{2}$"


class Control(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str = Field(pattern=r"^test_\w+$")
    title: str
    severity: Severity
    guide: str
    also: list[str] = []


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # How far ahead a waiver (waivers.yaml) may run: set here, reviewed apart from the waivers themselves.
    waiver_max_days: int = Field(default=90, gt=0)
    controls: dict[str, Control]

    def by_check(self) -> dict[str, tuple[str, Control]]:
        return {control.check: (control_id, control) for control_id, control in self.controls.items()}


def load(spec_dir: Path) -> Registry:
    """The registry, validated: ids VS-<AREA>-<NN>, one control per check. SpecError is one line."""
    path = spec_dir / REGISTRY_FILE
    registry = read_model(path, Registry)
    for control_id in registry.controls:
        if not re.match(CONTROL_ID, control_id):
            raise SpecError(f"{path}: controls.{control_id}: an id reads VS-<AREA>-<NN>")
    checks = [c.check for c in registry.controls.values()]
    twice = sorted({c for c in checks if checks.count(c) > 1})
    if twice:
        raise SpecError(f"{path}: {twice[0]} is the check of more than one control")
    return registry


def at_least(severity: str, level: str) -> bool:
    """True when `severity` is `level` or worse."""
    return SEVERITIES.index(severity) >= SEVERITIES.index(level)
