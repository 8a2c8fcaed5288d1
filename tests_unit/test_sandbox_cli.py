"""python -m viewster_infra.sandbox up / status / down, as a person runs it."""

import json
import subprocess
import sys

from tests_unit.harness import ROOT, SPEC_DIR, run_suite
from viewster_infra.sandbox import lifecycle
from viewster_infra.sandbox.ecr_images import COMMITS
from viewster_infra.sandbox.hosts import lifecycle as hosts_lifecycle


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


def test_down_after_a_crash_leaves_nothing_behind(tmp_path):
    assert sandbox("up", "--env=production", state_dir=tmp_path).returncode == 0
    state = json.loads((tmp_path / "production.json").read_text())
    slot = state["host_slot"]
    pids = [state["moto_pid"]] + [host["pid"] for host in (state["hosts"] or {"hosts": {}})["hosts"].values()]
    # the bridge by its interface index: once freed, the slot's name may be taken at once by another sandbox
    bridge = subprocess.run(["ip", "-o", "link", "show", f"vsbr{slot}"], capture_output=True, text=True).stdout
    index = bridge.split(":", 1)[0]
    for pid in pids:  # the crash: every process of the sandbox killed at once, nothing cleaned up
        subprocess.run(["kill", "-9", str(pid)], capture_output=True)
    assert sandbox("down", "--env=production", state_dir=tmp_path).returncode == 0
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"viewster{slot}-production-" not in namespaces
    bridges = subprocess.run(["ip", "-o", "link", "show", "type", "bridge"], capture_output=True, text=True).stdout
    assert f"{index}: vsbr{slot}:" not in bridges
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert leftovers == []


def test_without_replica_hosts_the_aws_half_runs_and_host_checks_say_why(tmp_path, monkeypatch):
    reason = "replica hosts need root (network namespaces, mounts)"
    monkeypatch.setattr(hosts_lifecycle, "unavailable_reason", lambda: reason)
    state = lifecycle.up("staging", SPEC_DIR, tmp_path / "state")
    try:
        assert state.hosts is None and state.hosts_unavailable == reason
        result = run_suite(
            "--env=staging",
            "--sandbox",
            f"--sandbox-dir={tmp_path / 'state'}",
            f"--deployed-sha={COMMITS[-1]}",  # the deploy checks of ECR alone run too
            reports_dir=tmp_path / "reports",
        )
    finally:
        lifecycle.down("staging", tmp_path / "state")
    assert result.exit_code == 0
    skipped = {
        name
        for name, outcome in result.outcomes.items()
        if outcome == "skipped" and not name.startswith("test_recommendation_")  # those are advice, not skipped
    }
    assert skipped == {
        name
        for name in result.outcomes
        if name.startswith(
            (
                "test_container_",
                "test_nginx_",
                "test_host_",
                "test_redis_",
                "test_rabbitmq_",
                "test_endpoint_",
                "test_dns_",
                "test_deploy_container_",
                "test_deploy_image_pushed_by_ci",  # which image a container runs
                "test_backend_established_connections",
                "test_api_accepts_uploads_",  # INC-2026-014's guard reads the backend host
            )
        )
    }
    assert all(f"no replica hosts in this sandbox: {reason}" in result.messages[name] for name in skipped)
    ran = {name for name in result.outcomes if name not in skipped and not name.startswith("test_recommendation_")}
    assert {result.outcomes[name] for name in ran} == {"passed"}
