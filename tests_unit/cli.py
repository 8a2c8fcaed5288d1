"""Runs the suite as a person would, in a subprocess, to see exit codes and exactly what is printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests_unit.harness import ROOT


def run_pytest(
    *args: str, env_overrides: dict[str, str] | None = None, home: Path | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess:
    """`python -m pytest ARGS` from the repository root, with no AWS settings inherited from this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # never ask an instance metadata service: nothing may leave the machine
    if home is not None:
        env["HOME"] = str(home)
    env.update(env_overrides or {})
    if cwd != ROOT:  # a copy of the checks elsewhere (tests that add a check): the library still comes from here
        env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
