"""python -m viewster_infra.sandbox up / status / down, as a person runs it."""

import json
import subprocess
import sys

from tests_unit.harness import ROOT


def sandbox(*args: str, state_dir) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "viewster_infra.sandbox", *args, f"--state-dir={state_dir}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_up_status_down(tmp_path):
    up = sandbox("up", "--env=production", state_dir=tmp_path)
    assert up.returncode == 0, up.stderr
    state = json.loads((tmp_path / "production.json").read_text())
    assert state["region"] == "ap-northeast-2"
    assert state["aws_endpoint_url"].startswith("http://127.0.0.1:")
    assert sandbox("status", "--env=production", state_dir=tmp_path).stdout.strip() == (
        f"production: up, AWS at {state['aws_endpoint_url']}"
    )
    assert sandbox("down", "--env=production", state_dir=tmp_path).stdout.strip() == "production: stopped"
    assert sandbox("status", "--env=production", state_dir=tmp_path).stdout.strip() == "production: down"
    assert not (tmp_path / "production.json").exists()


def test_unknown_env_is_a_usage_error(tmp_path):
    result = sandbox("up", "--env=prod", state_dir=tmp_path)
    assert result.returncode == 4
    assert result.stderr.strip() == "error: unknown --env 'prod'; specs defines: production, staging"
