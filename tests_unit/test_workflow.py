"""The post-deploy workflow proven as written: its own `run:` steps, in order, against the sandbox. The steps that
`uses:` an action are what GitHub provides (checkout, Python, OIDC credentials, artifact upload); here the
checkout is this one, Python is the project's, and the OIDC credentials are the sandbox's (PYTEST_ADDOPTS adds
--sandbox; the SSH key still comes from the sandbox's SSM through --ssh-key-from-ssm)."""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests_unit.harness import PRODUCTION, ROOT
from viewster_infra.sandbox.ecr_images import COMMITS

WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "post-deploy-checks.yml").read_text())
PATH_EXPRESSION = re.compile(r"^\$\{\{\s*([\w.]+)\s*\}\}$")
ACTIONS = {
    "actions/checkout@v4",
    "actions/setup-python@v5",
    "aws-actions/configure-aws-credentials@v4",
    "actions/upload-artifact@v4",
}


def lookup(path: str, context: dict) -> str:
    """GitHub's value of a property path (`inputs.environment`); a missing property is the empty string."""
    node = context
    for part in path.split("."):
        node = node.get(part, "") if isinstance(node, dict) else ""
    return str(node)


def run_job(
    context: dict,
    tmp_path: Path,
    sandbox_dir: Path,
    workflow: dict = WORKFLOW,
    job: str = "checks",
    environ: dict[str, str] | None = None,
    checkout: Path = ROOT,
) -> tuple[list[subprocess.CompletedProcess], Path]:
    """Every `run:` step of the job in order, as GitHub runs them (bash -eo pipefail); once one fails, only the
    steps that run `if: always()`. `environ`: what the runner's environment adds (PATH with a stand-in `gh`);
    `checkout`: where the job's checkout is (its working directory)."""
    output, summary, home = tmp_path / "output", tmp_path / "summary.md", tmp_path / "home"
    home.mkdir(exist_ok=True)
    context = {**context, "steps": {}}
    done = []
    failed = False
    for step in workflow["jobs"][job]["steps"]:
        if "uses" in step:
            assert step["uses"] in ACTIONS
            continue
        if failed and step.get("if") != "always()":
            continue
        assert "${{" not in step["run"]  # expressions only in env: the scripts see plain variables
        output.write_text("")
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))}
        environment |= (environ or {}) | {
            "HOME": str(home),
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "PYTEST_ADDOPTS": f"--sandbox --sandbox-dir={sandbox_dir} -p no:cacheprovider",
        }
        for name, value in (step.get("env") or {}).items():
            expression = PATH_EXPRESSION.match(value)
            assert expression, f"{step['name']}: {name}: only property paths here"
            environment[name] = lookup(expression.group(1), context)
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=checkout,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        done.append(result)
        if step.get("id"):
            lines = output.read_text().splitlines()
            context["steps"][step["id"]] = {"outputs": dict(line.split("=", 1) for line in lines if "=" in line)}
        failed = failed or result.returncode != 0
    return done, summary


@pytest.fixture
def own_reports():
    """The run step writes into reports/ (what the upload step keeps). Returns the reports a run's output names,
    and removes exactly those afterwards (another test may be writing beside them)."""
    named: list[Path] = []

    def of(checks: subprocess.CompletedProcess) -> list[Path]:
        stem = re.search(r"^JSON: (.*)\.json$", checks.stdout, re.MULTILINE).group(1)
        named.extend(Path(f"{stem}.{suffix}") for suffix in ("html", "json", "xml"))
        return [path for path in named if path.exists()]

    yield of
    for path in named:
        path.unlink(missing_ok=True)


def test_the_job_runs_only_after_a_successful_deploy():
    condition = WORKFLOW["jobs"]["checks"]["if"]
    assert condition == "github.event_name != 'workflow_run' || github.event.workflow_run.conclusion == 'success'"
    assert WORKFLOW["permissions"] == {"contents": "read", "id-token": "write", "actions": "read"}
    upload = WORKFLOW["jobs"]["checks"]["steps"][-1]
    assert upload["uses"] == "actions/upload-artifact@v4" and upload["if"] == "always()"
    assert upload["with"]["path"] == "reports/"
    assert WORKFLOW[True]["workflow_run"]["branches"] == ["staging", "main"]  # YAML reads the key `on` as True


@PRODUCTION
def test_a_deploy_of_main_is_checked_on_production_at_its_commit(sandboxes, tmp_path, own_reports):
    production = sandboxes("production")
    production.reset()
    context = {
        "github": {
            "event_name": "workflow_run",
            "event": {"workflow_run": {"head_branch": "main", "head_sha": COMMITS[-1]}},
        },
        "vars": {"POST_DEPLOY_SETTLE": "5s"},
    }
    steps, summary = run_job(context, tmp_path, production.state_dir)
    decide, install, known_hosts, previous, checks = steps
    assert previous.returncode == 0  # no earlier report (and no gh here): the run compares with nothing
    assert decide.stdout.strip() == f"Checking production at {COMMITS[-1]}"
    assert checks.returncode == 0, checks.stdout[-3000:]
    assert "::error" not in checks.stdout
    text = summary.read_text()
    assert text.startswith("## Viewster infrastructure checks: production: PASSED\n")
    assert f"| Deployed SHA | {COMMITS[-1]} |" in text
    reports = own_reports(checks)
    assert sorted(p.suffix for p in reports) == [".html", ".json", ".xml"]
    assert all(p.parent == ROOT / "reports" for p in reports)  # where the upload step looks


def test_a_failing_gate_fails_the_job_annotated_and_summarised(staging, tmp_path, own_reports):
    staging.terraform_apply(
        lambda aws: aws("ecr").put_image_scanning_configuration(
            repositoryName="viewster-staging-backend", imageScanningConfiguration={"scanOnPush": False}
        )
    )
    context = {
        "github": {"event_name": "workflow_dispatch"},
        "inputs": {"environment": "staging", "deployed_sha": COMMITS[-1][:7]},
        "vars": {"POST_DEPLOY_SETTLE": "3s"},
    }
    steps, summary = run_job(context, tmp_path, staging.state_dir)
    checks = steps[-1]
    assert len(steps) == 5 and checks.returncode == 1  # the job fails exactly when the suite does
    finding = "ecr repository viewster-staging-backend: scan on push expected True, found False"
    assert f"::error title=VS-ECR-01 test_ecr_scan_on_push[staging-backend]::{finding}" in checks.stdout.splitlines()
    assert f"- `VS-ECR-01` {finding}" in summary.read_text()
    assert len(own_reports(checks)) == 3  # the upload step (if: always()) has this run's reports to keep


def test_a_branch_that_deploys_nothing_is_refused(tmp_path):
    context = {"github": {"event_name": "workflow_run", "event": {"workflow_run": {"head_branch": "feature-x"}}}}
    steps, _ = run_job(context, tmp_path, tmp_path / "no-sandbox")
    assert len(steps) == 1 and steps[0].returncode == 1
    assert steps[0].stdout.strip() == "::error::branch feature-x deploys no environment"
