"""What a report says about its run: file names, the header, the HTML environment table."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from viewster_infra.aws.snapshot import calls_recorded
from viewster_infra.context import RunContext


def new_report_paths(reports_dir: Path, env: str) -> tuple[Path, Path, Path]:
    """reports/<env>-<UTC time>.html, .xml and .json; never an existing file (a counter is added if needed)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1, 1000):
        stem = f"{env}-{stamp}" + (f"-{attempt}" if attempt > 1 else "")
        paths = tuple(reports_dir / f"{stem}.{suffix}" for suffix in ("html", "xml", "json"))
        if not any(path.exists() for path in paths):
            return paths
    raise RuntimeError(f"{reports_dir}: no free report name for {env}-{stamp}")


def suite_commit(root: Path) -> str:
    """The suite's own git commit, "+changes" when the work tree differs from it."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + (" +changes" if dirty else "")


def run_facts(context: RunContext, root: Path) -> dict[str, str]:
    """The rows of the report header and the HTML environment table, known when the run starts."""
    inputs = context.inputs
    return {
        "Environment": inputs.env,
        "Region": inputs.region,
        "AWS account": inputs.account_id,
        "AWS target": context.target.describe(),
        "Spec files": ", ".join(_relative(p, root) for p in context.loaded.files),
        "Spec sha256": context.loaded.sha256[:16],
        "Suite commit": suite_commit(root),
        "Started": datetime.fromtimestamp(inputs.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def closing_facts(context: RunContext) -> dict[str, str]:
    """The rows known only at the end: API calls and SSH use (all processes together) and duration."""
    calls = calls_recorded(context.run_dir)
    ssh = {
        path.stem.removeprefix("host-"): json.loads(path.read_text())["calls"]
        for path in sorted(context.run_dir.glob("host-*.json"))
    }
    return {
        "AWS API calls": f"{sum(calls.values())} ({len(calls)} operations)",
        "SSH per host": ", ".join(
            f"{role} {c.get('ssh connections', 0)} connection(s) {c.get('ssh commands', 0)} command(s)"
            f" in {c.get('ssh wall ms', 0)} ms"
            for role, c in ssh.items()
        )
        or "none",
        "Duration": f"{time.time() - context.inputs.started_at:.1f} s",
    }


def run_document(context: RunContext, root: Path) -> dict:
    """The run's facts as the JSON report states them (report/schema.json: run; the verdict comes from the
    RunResult)."""
    inputs = context.inputs
    calls = calls_recorded(context.run_dir)
    return {
        "env": inputs.env,
        "account": inputs.account_id,
        "region": inputs.region,
        "target": context.target.describe(),
        "spec_files": [_relative(p, root) for p in context.loaded.files],
        "spec_sha256": context.loaded.sha256,
        "suite_commit": suite_commit(root),
        "started": datetime.fromtimestamp(inputs.started_at, UTC).isoformat(timespec="seconds"),
        "duration_seconds": round(time.time() - inputs.started_at, 2),
        "aws_api_calls": sum(calls.values()),
        "aws_operations": dict(sorted(calls.items())),
        "ssh": {
            path.stem.removeprefix("host-"): json.loads(path.read_text())["calls"]
            for path in sorted(context.run_dir.glob("host-*.json"))
        },
        "deployed_sha": inputs.deployed_sha,
        "settle_seconds": inputs.settle_seconds,
    }


def summary_facts(context: RunContext) -> dict[str, str]:
    """The facts the CI summary shows above its verdict."""
    inputs = context.inputs
    facts = {"Account": inputs.account_id, "Region": inputs.region}
    if inputs.deployed_sha:
        facts["Deployed SHA"] = inputs.deployed_sha
    if inputs.settle_seconds:
        facts["Settle"] = f"{inputs.settle_seconds:g} s"
    return facts


def operations(context: RunContext) -> dict[str, str]:
    """Every AWS operation the run made, with its count: what the CI role's policy must allow (iam/)."""
    calls = calls_recorded(context.run_dir)
    return {"AWS operations": ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))}


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
