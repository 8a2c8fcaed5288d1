"""Runs the real suite against a real sandbox from inside a unit test, and reads back what each check said.

A `Sandbox` is one moto server seeded from the spec. `reset()` makes it compliant again (moto's reset plus a fresh
seed, under a second), a drift is made with plain boto3 through `client()`, and `run()` runs tests_infra in-process
with the same options a person would type, returning every check's outcome and one-line message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import requests

from viewster_infra.aws.reader import SANDBOX_CREDENTIALS
from viewster_infra.sandbox import lifecycle
from viewster_infra.sandbox.seed import seed
from viewster_infra.spec.loader import load, merged_document
from viewster_infra.spec.model import EnvironmentSpec

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = ROOT / "specs"


@dataclass
class SuiteResult:
    exit_code: int
    outcomes: dict[str, str] = field(default_factory=dict)  # check id -> passed / failed / skipped
    messages: dict[str, str] = field(default_factory=dict)  # check id -> the failure's text
    metadata: dict[str, str] = field(default_factory=dict)  # the HTML report's environment table

    @property
    def failures(self) -> dict[str, str]:
        return {name: self.messages[name] for name, outcome in self.outcomes.items() if outcome == "failed"}

    @property
    def api_calls(self) -> int:
        return int(self.metadata["AWS API calls"].split()[0])


class _Recorder:
    """In-process plugin: every check's outcome and message, and the run's metadata at the very end."""

    def __init__(self, result: SuiteResult) -> None:
        self.result = result

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = report.nodeid.split("::")[-1]
        if report.when == "call" or report.outcome != "passed":
            self.result.outcomes[name] = report.outcome
            self.result.messages[name] = report.longreprtext

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from pytest_metadata.plugin import metadata_key

        self.result.metadata = dict(session.config.stash.get(metadata_key, {}))


def run_suite(*args: str, reports_dir: Path) -> SuiteResult:
    """pytest tests_infra ARGS, in this process, with reports kept out of the repository's reports/."""
    result = SuiteResult(exit_code=-1)
    argv = [
        str(ROOT / "tests_infra"),
        f"--rootdir={ROOT}",
        f"-c={ROOT / 'pytest.ini'}",
        f"--reports-dir={reports_dir}",
        "-p",
        "no:cacheprovider",
        "-q",
        *args,
    ]
    result.exit_code = int(pytest.main(argv, plugins=[_Recorder(result)]))
    return result


class Sandbox:
    def __init__(self, env: str, state_dir: Path, reports_dir: Path) -> None:
        self.env = env
        self.state_dir = state_dir
        self.reports_dir = reports_dir
        self.spec = load(SPEC_DIR, env).spec
        self.state = lifecycle.up(env, SPEC_DIR, state_dir)

    def reset(self, drift: Callable[[dict], None] | None = None) -> None:
        """Back to a compliant replica: forget every resource, then seed again from the spec.

        With `drift`, the replica is seeded from a changed copy of the spec instead, for what cannot be changed on a
        live resource (a VPC's CIDR, a DB engine, an instance's subnet): `drift` edits the spec document in place.
        """
        requests.post(f"{self.state.aws_endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
        spec = self.spec
        if drift is not None:
            document = merged_document(SPEC_DIR, self.env)
            drift(document)
            spec = EnvironmentSpec.model_validate(document)
        seed(self.state.aws_endpoint_url, spec, self.env)

    def client(self, service: str):
        """A plain (writing) boto3 client on the sandbox, for making drift."""
        return boto3.client(
            service, region_name=self.state.region, endpoint_url=self.state.aws_endpoint_url, **SANDBOX_CREDENTIALS
        )

    def run(self, *args: str) -> SuiteResult:
        return run_suite(
            f"--env={self.env}", "--sandbox", f"--sandbox-dir={self.state_dir}", *args, reports_dir=self.reports_dir
        )

    def down(self) -> None:
        lifecycle.down(self.env, self.state_dir)


def proves(*check_names: str):
    """Marks a unit test as the drift proof of these checks (tests_unit/test_every_check_is_proven.py reads it)."""

    def mark(function):
        function.proves = check_names
        return function

    return mark
