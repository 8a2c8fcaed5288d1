"""The suite's command-line options, and the checks made on them before anything is read: a bad value is one line
and exit code 4 (pytest.UsageError)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from viewster_infra import controls, deploy, diagnosis, nginx_time
from viewster_infra.report import history


def add(parser: pytest.Parser) -> None:
    group = parser.getgroup("viewster", "Viewster infrastructure checks")
    group.addoption("--env", help="environment to check, one of the specs/<env>.yaml files (required for tests_infra)")
    group.addoption(
        "--aws-profile",
        help="AWS profile (default: AWS_PROFILE; else credentials in the environment; else the spec's profile)",
    )
    group.addoption("--aws-region", help="AWS region (default: the spec's aws.region)")
    group.addoption(
        "--sandbox",
        action="store_true",
        help="check the local sandbox instead of AWS (started for the run if not running)",
    )
    group.addoption("--ssh-user", help="SSH user for the hosts (default: the spec's hosts.ssh_user)")
    group.addoption(
        "--ssh-key-from-ssm",
        action="store_true",
        help="read the hosts' SSH key from SSM (spec: hosts.ssh_key_parameter) into a 0600 file removed after the run",
    )
    group.addoption("--spec-dir", type=Path, help="directory of the spec files (default: <rootdir>/specs)")
    group.addoption("--sandbox-dir", type=Path, help="sandbox state directory (default: <rootdir>/.sandbox)")
    group.addoption(
        "--reports-dir", type=Path, help="where each run's HTML and JUnit XML reports go (default: <rootdir>/reports)"
    )
    group.addoption(
        "--deployed-sha",
        default=os.environ.get("VIEWSTER_DEPLOYED_SHA") or None,
        help="the commit a deploy shipped (7-40 hex; default: VIEWSTER_DEPLOYED_SHA): prove its image is what runs",
    )
    group.addoption(
        "--settle",
        metavar="DURATION",
        help="re-read and re-check failing checks until they pass or DURATION (90s, 2m) from the start is up",
    )
    group.addoption(
        "--fail-on",
        choices=controls.SEVERITIES,
        default="low",
        help="the lowest severity whose failures fail the run (default: low, any failure); the rest are reported",
    )
    group.addoption(
        "--strict-recommendations",
        action="store_true",
        help="recommendations not followed fail the run (default: reported in their own section only; pytest's own "
        "--strict is another thing)",
    )
    group.addoption(
        "--compare-to",
        metavar="PATH",
        type=Path,
        help="the JSON report to compare with (default: the newest earlier one of the environment in the reports dir)",
    )
    group.addoption(
        "--summary-md",
        metavar="PATH",
        type=Path,
        help="append a short Markdown summary of the run to PATH (e.g. $GITHUB_STEP_SUMMARY)",
    )
    group.addoption(
        "--diagnose",
        metavar="CHECKLIST",
        help="run only one of the guide's troubleshooting checklists (specs/diagnosis.yaml: api, websocket, db, "
        "redis, cpu) and print it link by link, the first broken link marked",
    )


@dataclass(frozen=True)
class GateOptions:
    deployed_sha: str | None
    settle_seconds: float | None
    previous: tuple[Path, dict] | None  # --compare-to, read


def gate_options(config: pytest.Config) -> GateOptions:
    """--deployed-sha, --settle, --summary-md and --compare-to checked before anything is read: ValueError is one
    line. A --compare-to that cannot be read is an error, not a first run: in CI it is a download that failed."""
    sha = config.getoption("deployed_sha")
    deployed_sha = deploy.parse_sha(sha) if sha else None
    settle_seconds = None
    if config.getoption("settle") is not None:
        try:
            settle_seconds = nginx_time.seconds(config.getoption("settle"))
        except ValueError:
            raise ValueError(
                f"--settle {config.getoption('settle')!r} is not a duration (examples: 90s, 2m, 1m30s)"
            ) from None
    summary_md = config.getoption("summary_md")
    if summary_md is not None and not _writable(summary_md):
        raise ValueError(f"--summary-md {summary_md}: cannot write there")
    previous = None
    compare_to = config.getoption("compare_to")
    if compare_to is not None:
        try:
            previous = (compare_to, history.load_previous(compare_to))
        except FileNotFoundError:
            raise ValueError(f"--compare-to {compare_to}: no such file") from None
        except (OSError, ValueError) as exc:
            raise ValueError(f"--compare-to {compare_to}: cannot be read ({_one_line(exc)})") from None
    return GateOptions(deployed_sha, settle_seconds, previous)


def checklists(config: pytest.Config) -> diagnosis.Chains:
    """The guide's checklists (specs/diagnosis.yaml), and --diagnose naming one of them."""
    chains = diagnosis.load(spec_dir(config))
    asked = config.getoption("diagnose")
    if asked is not None and asked not in chains.chains:
        raise ValueError(f"--diagnose={asked}: no such checklist; choose one of {', '.join(chains.chains)}")
    return chains


def spec_dir(config: pytest.Config) -> Path:
    return config.getoption("spec_dir") or config.rootpath / "specs"


def run_arguments(config: pytest.Config, gate: GateOptions) -> dict:
    """What context.start_run takes, from the options."""
    return {
        "env": config.getoption("env"),
        "spec_dir": spec_dir(config),
        "profile_option": config.getoption("aws_profile"),
        "region_option": config.getoption("aws_region"),
        "sandbox": config.getoption("sandbox"),
        "sandbox_dir": config.getoption("sandbox_dir") or config.rootpath / ".sandbox",
        "ssh_config": config.getoption("ssh_config"),  # --ssh-config and --ssh-identity-file are testinfra's
        "ssh_identity_file": config.getoption("ssh_identity_file"),
        "ssh_user": config.getoption("ssh_user"),
        "ssh_key_from_ssm": config.getoption("ssh_key_from_ssm"),
        "deployed_sha": gate.deployed_sha,
        "settle_seconds": gate.settle_seconds,
        "changes_since": changes_since(config, gate),
    }


def changes_since(config: pytest.Config, gate: GateOptions) -> float | None:
    """When the previous report of the environment was started (--compare-to's, else the newest in the reports
    directory): CloudTrail is read from there on. None for a first run, or one whose report cannot be read."""
    previous = gate.previous[1] if gate.previous else None
    if previous is None and config.getoption("env"):
        reports = config.getoption("reports_dir") or config.rootpath / "reports"
        newest = sorted(Path(reports).glob(f"{config.getoption('env')}-*.json"))
        try:
            previous = history.load_previous(newest[-1]) if newest else None
        except (OSError, ValueError):
            previous = None
    try:
        return datetime.fromisoformat(previous["run"]["started"]).timestamp() if previous else None
    except (KeyError, TypeError, ValueError):
        return None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _writable(path: Path) -> bool:
    if path.exists():
        return path.is_file() and os.access(path, os.W_OK)
    return path.parent.is_dir() and os.access(path.parent, os.W_OK)
