"""The suite's checks as MCP tools, for an assistant that checks the estate as the guide describes (its MCP tools
`aws_list_resources`, `aws_cli_execute` return raw output; these return the spec's verdict and findings).

Read-only by construction: no tool calls AWS or a host. `run_checks` and `diagnose` run the suite itself (a
subprocess, `python -m pytest`, whose read-only guard refuses any write before it is sent); the other tools read
its reports and its spec files. Every result is the run's own result model, read from its JSON report: no second
way of judging a check.

Where the runs look, set in the MCP client's configuration (environment):
    VIEWSTER_REPORTS_DIR   where reports are written and read (default: the checkout's reports/)
    VIEWSTER_SUITE_ARGS    options added to every run, e.g. "--aws-profile=readonly" or, on the sandbox,
                           "--sandbox"
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import sys
from datetime import date
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from viewster_infra import controls, diagnosis, waivers
from viewster_infra.report import history, records
from viewster_infra.spec.loader import SpecError, environments, load

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "specs"
PROGRESS = re.compile(r"\[\s*(\d+)/(\d+)\]\s*$")  # pytest's count-style progress at the end of a line
BROKEN = ("failed", "error")

server = MCPServer(
    "viewster-infra",
    instructions=(
        "Checks Viewster's AWS estate and hosts against the operations guide's spec (staging, production). "
        "run_checks gives the verdict and each finding (control, severity, resource, expected, found); diagnose "
        "walks one of the guide's troubleshooting checklists; latest_report and compare_reports read earlier runs; "
        "explain_control says what a control means. Nothing here changes the estate."
    ),
)


def reports_dir() -> Path:
    return Path(os.environ.get("VIEWSTER_REPORTS_DIR") or ROOT / "reports")


def _environment(name: str) -> str:
    known = environments(SPEC_DIR)
    if name not in known:
        raise ToolError(f"unknown environment {name!r}; choose one of: {', '.join(known)}")
    return name


def _findings(doc: dict) -> list[dict]:
    return [
        {
            "control": r["control"],
            "severity": r["severity"],
            "status": r["status"],
            "resource": r["resource"],
            "property": r["property"],
            "expected": r["expected"],
            "found": r["found"],
            "line": r["message"],
            "check": r["id"],
        }
        for r in doc["results"]
        if r["status"] in BROKEN
    ]


def _summary(doc: dict, path: Path) -> dict[str, Any]:
    run = doc["run"]
    return {
        "environment": run["env"],
        "verdict": run["verdict"],
        "started": run["started"],
        "counts": doc["counts"]["by_status"],
        "findings": _findings(doc),
        "changes_since_previous": {k: doc["changes"].get(k, []) for k in ("new_failures", "fixed")},
        "report": str(path),
    }


async def _run_suite(environment: str, extra: list[str], ctx: Context | None) -> tuple[int, dict, Path]:
    """The suite in a subprocess; progress as its checks complete. (exit code, its JSON report, the report path)."""
    argv = [
        sys.executable,
        "-m",
        "pytest",
        f"--env={environment}",
        f"--reports-dir={reports_dir()}",
        "-p",
        "no:cacheprovider",
        "-o",
        "console_output_style=count",
        *shlex.split(os.environ.get("VIEWSTER_SUITE_ARGS", "")),
        *extra,
    ]
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    lines = []
    assert process.stdout is not None
    async for raw in process.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        lines.append(line)
        progress = PROGRESS.search(line)
        if progress and ctx is not None:
            done, total = int(progress.group(1)), int(progress.group(2))
            await ctx.report_progress(done, total, f"{done} of {total} checks")
    code = await process.wait()
    path = next((Path(m.group(1)) for m in map(re.compile(r"^JSON: (.*\.json)$").match, lines) if m), None)
    if path is None:  # the run did not start: a usage error (exit 4) says why in its last lines
        why = next((text.removeprefix("ERROR: ") for text in reversed(lines) if text.strip()), f"exit code {code}")
        raise ToolError(f"the run did not start: {why}")
    return code, records.read(path), path


@server.tool(structured_output=True)
async def run_checks(
    environment: str,
    select: str | None = None,
    deployed_sha: str | None = None,
    settle: str | None = None,
    ctx: Context | None = None,
) -> dict[str, Any]:
    """Run the infrastructure checks of an environment (staging or production) and return the verdict and every
    finding. `select`: a pytest -k expression (e.g. "rds or alarm") to run only some checks; `deployed_sha`: the
    commit a deploy shipped (the post-deploy gate); `settle`: how long failing checks are re-read (e.g. "2m")."""
    extra = []
    if select:
        extra += ["-k", select]
    if deployed_sha:
        extra.append(f"--deployed-sha={deployed_sha}")
    if settle:
        extra.append(f"--settle={settle}")
    code, doc, path = await _run_suite(_environment(environment), extra, ctx)
    return {"exit_code": code, **_summary(doc, path)}


@server.tool(structured_output=True)
async def diagnose(environment: str, chain: str, ctx: Context | None = None) -> dict[str, Any]:
    """Walk one of the guide's troubleshooting checklists (문제 진단 체크리스트) link by link: api, websocket, db,
    redis or cpu. Returns each link's state and the first broken one with its findings."""
    known = diagnosis.load(SPEC_DIR).chains
    if chain not in known:
        raise ToolError(f"unknown checklist {chain!r}; choose one of: {', '.join(known)}")
    _, doc, path = await _run_suite(_environment(environment), [f"--diagnose={chain}"], ctx)
    walked = next((c for c in (doc.get("diagnosis") or {}).get("chains", []) if c["key"] == chain), None)
    return {"environment": environment, "verdict": doc["run"]["verdict"], "chain": walked, "report": str(path)}


def _reports(environment: str) -> list[Path]:
    return sorted(reports_dir().glob(f"{_environment(environment)}-*.json"))


@server.tool(structured_output=True)
def latest_report(environment: str) -> dict[str, Any]:
    """The newest report of an environment: when it ran, its verdict, counts and findings."""
    found = _reports(environment)
    if not found:
        raise ToolError(f"no report of {environment} in {reports_dir()}: run_checks first")
    return _summary(records.read(found[-1], records.READABLE), found[-1])


@server.tool(structured_output=True)
def compare_reports(environment: str, earlier: str | None = None, later: str | None = None) -> dict[str, Any]:
    """What changed between two reports of an environment (file names or paths; default: the two newest): new
    failures, fixed ones, and those still failing since when."""
    found = _reports(environment)
    pick = {p.name: p for p in found}

    def report(name: str | None, default_index: int) -> Path:
        if name is None:
            if len(found) < 2:
                raise ToolError(f"fewer than two reports of {environment} in {reports_dir()}")
            return found[default_index]
        path = pick.get(Path(name).name)
        if path is None:
            raise ToolError(f"no report {name!r} of {environment} in {reports_dir()}")
        return path

    old_path, new_path = report(earlier, -2), report(later, -1)
    old, new = records.read(old_path, records.READABLE), records.read(new_path, records.READABLE)
    changes = history.compare(old, [dict(r) for r in new["results"]], new["run"]["started"], str(old_path))
    return {"earlier": str(old_path), "later": str(new_path), **changes}


@server.tool(structured_output=True)
def explain_control(control: str) -> dict[str, Any]:
    """What a control means (e.g. VS-RDS-08): its title, severity (and per environment where it differs), the
    guide's section, the public controls it maps to (FSBP, CIS), its check, and the waivers in force for it."""
    registry = controls.load(SPEC_DIR)
    found = registry.controls.get(control.strip().upper())
    if found is None:
        raise ToolError(f"unknown control {control!r}; ids read VS-<AREA>-<NN>, e.g. VS-RDS-08")
    try:
        accepted = waivers.load(SPEC_DIR, set(registry.controls), date.today(), registry.waiver_max_days)
    except SpecError as exc:
        raise ToolError(f"the waivers cannot be read: {exc}") from None
    by_environment = {
        env: load(SPEC_DIR, env).spec.severity_overrides.get(control.upper(), found.severity)
        for env in environments(SPEC_DIR)
    }
    return {
        "control": control.upper(),
        "title": found.title,
        "severity": found.severity,
        "severity_by_environment": by_environment,
        "guide": found.guide,
        "also": found.also,
        "check": found.check,
        "waivers": [json.loads(w.model_dump_json()) for w in accepted.waivers if w.control == control.upper()],
    }
