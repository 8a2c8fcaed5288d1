"""The MCP server driven by the official SDK's own client over stdio, as an assistant's client drives it, against
the sandbox: the tool list, a run that finds drift (structured findings, progress as checks complete), a
diagnosis, the latest report and what changed, what a control means, and bad arguments as one-line tool errors."""

import os
import sys

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests_unit.harness import ROOT

TOOLS = {"run_checks", "diagnose", "latest_report", "compare_reports", "explain_control"}
SCAN = "ecr repository viewster-staging-backend: scan on push expected True, found False"


def session_with(staging, reports, calls):
    """Starts `python -m viewster_infra.mcp`, runs `calls(session)` against it, returns what it returned."""
    environment = {
        **os.environ,
        "VIEWSTER_SUITE_ARGS": f"--sandbox --sandbox-dir={staging.state_dir}",
        "VIEWSTER_REPORTS_DIR": str(reports),
    }
    parameters = StdioServerParameters(
        command=sys.executable, args=["-m", "viewster_infra.mcp"], cwd=str(ROOT), env=environment
    )

    async def main():
        async with stdio_client(parameters) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await calls(session)

    return anyio.run(main)


def test_an_assistant_runs_the_checks_finds_drift_and_asks_what_changed(staging, tmp_path):
    staging.terraform_apply(
        lambda aws: aws("ecr").put_image_scanning_configuration(
            repositoryName="viewster-staging-backend", imageScanningConfiguration={"scanOnPush": True}
        )
    )

    async def calls(session):
        tools = await session.list_tools()
        progress = []

        async def seen(done, total, message):
            progress.append((done, total, message))

        compliant = await session.call_tool("run_checks", {"environment": "staging", "select": "ecr"})
        staging.terraform_apply(
            lambda aws: aws("ecr").put_image_scanning_configuration(
                repositoryName="viewster-staging-backend", imageScanningConfiguration={"scanOnPush": False}
            )
        )
        drifted = await session.call_tool(
            "run_checks", {"environment": "staging", "select": "ecr"}, progress_callback=seen
        )
        latest = await session.call_tool("latest_report", {"environment": "staging"})
        changed = await session.call_tool("compare_reports", {"environment": "staging"})
        control = await session.call_tool("explain_control", {"control": "vs-ecr-01"})
        return tools, compliant, drifted, progress, latest, changed, control

    tools, compliant, drifted, progress, latest, changed, control = session_with(staging, tmp_path, calls)
    assert {tool.name for tool in tools.tools} == TOOLS
    assert not compliant.is_error and compliant.structured_content["verdict"] == "PASSED"
    found = drifted.structured_content
    assert found["verdict"] == "FAILED" and found["exit_code"] == 1
    assert [f["line"] for f in found["findings"]] == [SCAN]
    assert found["findings"][0] | {"line": None} == {
        "control": "VS-ECR-01",
        "severity": "high",
        "status": "failed",
        "resource": "ecr repository viewster-staging-backend",
        "property": "scan on push",
        "expected": "True",
        "found": "False",
        "line": None,
        "check": "test_ecr_scan_on_push[staging-backend]",
    }
    assert found["changes_since_previous"]["new_failures"][0]["line"] == SCAN
    assert progress and progress[-1][0] == progress[-1][1]  # one report per check completed, to the last
    assert latest.structured_content["report"] == found["report"]
    assert [c["line"] for c in changed.structured_content["new_failures"]] == [SCAN]
    meaning = control.structured_content
    assert meaning["control"] == "VS-ECR-01" and meaning["also"] == ["FSBP ECR.1"]
    assert meaning["guide"] == "ECR 리포지토리" and meaning["check"] == "test_ecr_scan_on_push"


def test_a_diagnosis_walks_the_guides_checklist(staging_hosts, tmp_path):
    async def calls(session):
        return await session.call_tool("diagnose", {"environment": "staging", "chain": "redis"})

    walked = session_with(staging_hosts, tmp_path, calls).structured_content
    assert walked["verdict"] == "PASSED"
    assert walked["chain"]["title"] == "Redis 연결 실패" and walked["chain"]["first_broken"] is None


@pytest.mark.parametrize(
    ("tool", "arguments", "said"),
    [
        ("run_checks", {"environment": "qa"}, "unknown environment 'qa'; choose one of: production, staging"),
        ("diagnose", {"environment": "staging", "chain": "disk"}, "unknown checklist 'disk'; choose one of: "),
        ("explain_control", {"control": "VS-NOPE-99"}, "unknown control 'VS-NOPE-99'"),
        ("latest_report", {"environment": "production"}, "no report of production in "),
        ("run_checks", {"environment": "staging", "deployed_sha": "not-a-sha"}, "the run did not start: "),
    ],
)
def test_a_bad_argument_is_a_one_line_tool_error(staging, tmp_path, tool, arguments, said):
    async def calls(session):
        return await session.call_tool(tool, arguments)

    result = session_with(staging, tmp_path, calls)
    text = result.content[0].text
    assert result.is_error and said in text and "\n" not in text.strip() and "Traceback" not in text
