"""Host checks, each failing on drift made on the replica hosts the way it happens in life (over SSH, with the
tools an operator uses), and the hosts restarted compliant afterwards."""

import json
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import yaml

from tests_unit.harness import SPEC_DIR, proves

BACKEND_IMAGE = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/viewster-staging-backend:latest"


HOST_CHECKS = (
    "test_container_",
    "test_nginx_",
    "test_host_",
    "test_redis_",
    "test_rabbitmq_",
    "test_deploy_container_",
    "test_backend_established_connections",
)


def host_checks(result, role: str) -> set[str]:
    """The checks that read `role`'s host over SSH."""
    return {name for name in result.outcomes if name.startswith(HOST_CHECKS) and f"[staging-{role}" in name}


def run_options(staging_hosts, role: str = "backend", name: str = "backend-blue") -> str:
    """The options that give a new container what the running one has beside its image and ports, read from it
    as an operator would (`docker inspect`): its environment (database, broker, queues), its mounts and the names
    its deploy added (--add-host)."""
    inspected = json.loads(staging_hosts.ssh(role, f"docker inspect --type container {name}"))[0]
    options = [f"-e {shlex.quote(e)}" for e in inspected["Config"]["Env"]]
    options += [f"-v {shlex.quote(b)}" for b in inspected["HostConfig"]["Binds"] or []]
    options += [f"--add-host {shlex.quote(h)}" for h in inspected["HostConfig"]["ExtraHosts"] or []]
    return " ".join(options)


def summarised(result) -> list[tuple[str, list[str]]]:
    """The run's summary as the terminal and the report say it: each line's check, and what it has beneath it."""
    return [(entry["id"], entry["beneath"]) for entry in result.report["summary"]]


@proves("test_container_running")
def test_container_stopped(staging_hosts):
    staging_hosts.restore("frontend")
    staging_hosts.ssh("frontend", "docker stop admin-frontend-blue")
    result = staging_hosts.run()
    assert set(result.failures) == {"test_container_running[staging-frontend-admin-frontend-blue]"}
    assert result.failures["test_container_running[staging-frontend-admin-frontend-blue]"] == (
        "frontend container admin-frontend-blue: state expected 'running', found 'exited'"
    )


@proves("test_container_published_ports")
def test_port_published_on_loopback_only(staging_hosts):
    staging_hosts.restore("backend")
    env = run_options(staging_hosts)
    staging_hosts.ssh(
        "backend",
        f"docker rm -f backend-blue && docker run -d --name backend-blue -p 127.0.0.1:8080:8080 {env} {BACKEND_IMAGE}",
    )
    staging_hosts.wait_for_the_worker()  # the new container's worker consumes the queues again
    assert staging_hosts.run().failures == {
        "test_container_published_ports[staging-backend-backend-blue]": "backend container backend-blue: published "
        "ports expected {'0.0.0.0:8080->8080/tcp'}, found {'127.0.0.1:8080->8080/tcp'}"
    }


@proves("test_container_image")
def test_container_from_another_environments_image(staging_hosts):
    staging_hosts.restore("frontend")
    production_image = BACKEND_IMAGE.replace("staging-backend", "production-frontend")
    staging_image = BACKEND_IMAGE.replace("staging-backend", "staging-frontend")
    options = run_options(staging_hosts, "frontend", "frontend-blue")
    staging_hosts.ssh(
        "frontend",
        f"docker tag {staging_image} {production_image} && docker rm -f frontend-blue && "
        f"docker run -d --name frontend-blue -p 3000:3000 {options} {production_image}",
    )
    # Only the name it was started by is wrong: the bits (and so the deploy checks) are staging's latest.
    assert staging_hosts.run().failures == {
        "test_container_image[staging-frontend-frontend-blue]": "frontend container frontend-blue: image repository "
        "expected '123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/viewster-staging-frontend', "
        "found '123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/viewster-production-frontend'"
    }


def test_container_renamed_is_not_found(staging_hosts):
    staging_hosts.restore("frontend")
    staging_hosts.ssh("frontend", "docker rename frontend-blue frontend-green")
    result = staging_hosts.run()
    renamed = "frontend container frontend-blue: not found (no container of that name (docker inspect))"
    assert result.failures == {
        f"{check}[staging-frontend-frontend-blue]": renamed
        for check in (
            "test_container_running",
            "test_container_published_ports",
            "test_container_image",
            "test_deploy_container_runs_expected_image",
            "test_deploy_container_started_after_push",
        )
    }


WEBSOCKET_SNIPPET = "/etc/nginx/snippets/websocket.conf"


@proves("test_nginx_site_proxy_read_timeout")
def test_read_timeout_changed_in_an_included_file(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.ssh("backend", f"sed -i 's/proxy_read_timeout .*;/proxy_read_timeout 60s;/' {WEBSOCKET_SNIPPET}")
    staging_hosts.reload_nginx("backend")
    assert staging_hosts.run().failures == {
        "test_nginx_site_proxy_read_timeout[staging-backend-api]": "backend nginx site staging-api.viewster.io: "
        "proxy_read_timeout (s) expected 86400, found 60"
    }


def test_read_timeout_in_other_units_is_the_same_setting(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.ssh("backend", f"sed -i 's/proxy_read_timeout .*;/proxy_read_timeout 24h;/' {WEBSOCKET_SNIPPET}")
    staging_hosts.reload_nginx("backend")
    assert staging_hosts.run().failures == {}


@proves("test_nginx_site_websocket_upgrade", "test_endpoint_websocket_upgrade")
def test_upgrade_header_dropped(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.ssh("backend", f"sed -i '/Upgrade/d' {WEBSOCKET_SNIPPET}")
    staging_hosts.reload_nginx("backend")
    failures = staging_hosts.run().failures
    assert failures["test_nginx_site_websocket_upgrade[staging-backend-api]"] == (
        "backend nginx site staging-api.viewster.io: WebSocket settings expected {'proxy_http_version': '1.1', "
        "'Upgrade': '$http_upgrade', 'Connection': 'upgrade'}, found {'proxy_http_version': '1.1', 'Upgrade': None, "
        "'Connection': 'upgrade'}"
    )
    assert set(failures) == {
        "test_nginx_site_websocket_upgrade[staging-backend-api]",
        "test_endpoint_websocket_upgrade[staging-api]",
    }


@proves("test_nginx_site_proxy_pass")
def test_site_proxied_to_the_wrong_port(staging_hosts):
    staging_hosts.restore("frontend")
    staging_hosts.ssh("frontend", "sed -i 's/127.0.0.1:3001/127.0.0.1:3000/' /etc/nginx/sites-enabled/admin.conf")
    staging_hosts.reload_nginx("frontend")
    assert staging_hosts.run().failures == {
        "test_nginx_site_proxy_pass[staging-frontend-admin]": "frontend nginx site staging-admin.viewster.io: "
        "proxy_pass expected 'http://127.0.0.1:3001', found 'http://127.0.0.1:3000'"
    }


@proves("test_nginx_running", "test_nginx_listens")
def test_nginx_stopped(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.ssh("backend", "nginx -s stop")
    result = staging_hosts.run()
    assert result.failures["test_nginx_running[staging-backend]"] == (
        "backend nginx: running (service nginx status) expected True, found False"
    )
    assert result.failures["test_nginx_listens[staging-backend]"] == (
        "backend nginx: ports listened on all addresses expected to include 80, found {8080}"
    )
    assert set(result.failures) == {
        "test_nginx_running[staging-backend]",
        "test_nginx_listens[staging-backend]",
        "test_endpoint_health[staging-api]",
        "test_endpoint_http_redirects_to_https[staging-api]",
        "test_endpoint_certificate_valid[staging-api]",
        "test_endpoint_certificate_not_expiring[staging-api]",
        "test_endpoint_websocket_upgrade[staging-api]",
    }


@proves("test_nginx_config_valid")
def test_nginx_config_broken(staging_hosts):
    staging_hosts.restore("frontend")
    staging_hosts.ssh("frontend", "echo 'server { listen 80 }' >> /etc/nginx/sites-enabled/site.conf")
    result = staging_hosts.run()
    assert result.failures["test_nginx_config_valid[staging-frontend]"] == (
        "frontend nginx: configuration valid (nginx -t) expected True, found False"
    )
    assert "evidence: nginx -t" in result.sections["test_nginx_config_valid[staging-frontend]"]
    # With the configuration invalid, `nginx -T` shows nothing to read the sites from: they fail as not found.
    assert set(result.failures) == {
        "test_nginx_config_valid[staging-frontend]",
        "test_nginx_site_proxy_pass[staging-frontend-site]",
        "test_nginx_site_proxy_pass[staging-frontend-admin]",
    }


@proves("test_redis_answers_ping", "test_host_reaches")
def test_redis_stopped(staging_hosts):
    staging_hosts.restore("thirdparty", "redis")
    staging_hosts.ssh("thirdparty", "docker stop redis")
    result = staging_hosts.run()
    failures = result.failures
    assert failures["test_redis_answers_ping[staging-thirdparty]"].startswith(
        "thirdparty redis: PING answer expected 'PONG', found "
    )
    assert failures["test_host_reaches[staging-backend-thirdparty-6379]"] == (
        "backend reach thirdparty-6379: TCP connect to thirdparty:6379 expected True, found False"
    )
    assert set(failures) == {
        "test_redis_answers_ping[staging-thirdparty]",
        "test_redis_major_version[staging-thirdparty]",
        "test_container_running[staging-thirdparty-redis]",
        "test_host_reaches[staging-backend-thirdparty-6379]",
        "test_redis_memory_below_limit[staging-thirdparty]",  # a Redis that does not answer reports no memory
        "test_redis_no_evictions[staging-thirdparty]",
        "test_redis_evicts_expiring_keys_at_its_limit[staging-thirdparty]",  # INC-2026-011's guard: no policy either
    }
    assert failures["test_redis_no_evictions[staging-thirdparty]"] == (
        "thirdparty redis: evicted_keys expected at most 0, found None"
    )
    assert summarised(result) == [  # 7 failures, each cause once
        (
            "test_redis_answers_ping[staging-thirdparty]",
            ["4 check(s) could not read their facts because of thirdparty redis (found by VS-REDIS-01)"],
        ),
        ("test_container_running[staging-thirdparty-redis]", []),
        ("test_host_reaches[staging-backend-thirdparty-6379]", []),
    ]


@proves("test_rabbitmq_listening", "test_rabbitmq_management_healthy")
def test_rabbitmq_stopped(staging_hosts):
    staging_hosts.restore("thirdparty", "rabbitmq")
    staging_hosts.ssh("thirdparty", "docker stop rabbitmq")
    result = staging_hosts.run()
    failures = result.failures
    assert failures["test_rabbitmq_management_healthy[staging-thirdparty]"] == (
        "thirdparty rabbitmq: management API /api/health/checks/alarms status (as viewster-monitor) expected '200', found '000'"
    )
    assert failures["test_rabbitmq_listening[staging-thirdparty]"].startswith(
        "thirdparty rabbitmq: ports listened on expected to include 5672, found {"
    )
    queue_checks = {
        f"test_rabbitmq_queue_{check}[staging-thirdparty-{queue}]"
        for check in ("has_consumer", "messages_ready", "messages_unacknowledged")
        for queue in ("notifications", "tasks")
    }
    assert failures["test_rabbitmq_queue_has_consumer[staging-thirdparty-tasks]"] == (
        "thirdparty rabbitmq queue viewster.tasks (management API /api/queues): not found (no answer)"
    )
    assert set(failures) == {
        "test_rabbitmq_listening[staging-thirdparty]",
        "test_rabbitmq_management_healthy[staging-thirdparty]",
        "test_rabbitmq_major_version[staging-thirdparty]",
        "test_container_running[staging-thirdparty-rabbitmq]",
        "test_host_reaches[staging-backend-thirdparty-5672]",
        *queue_checks,
    }
    assert summarised(result) == [  # 11 failures: the version and the six queue checks beneath their cause
        ("test_rabbitmq_listening[staging-thirdparty]", []),
        (
            "test_rabbitmq_management_healthy[staging-thirdparty]",
            ["7 check(s) could not read their facts because of thirdparty rabbitmq (found by VS-MQ-01, VS-MQ-02)"],
        ),
        ("test_container_running[staging-thirdparty-rabbitmq]", []),
        ("test_host_reaches[staging-backend-thirdparty-5672]", []),
    ]


@proves("test_endpoint_health")
def test_health_500_when_the_database_is_down(staging_hosts):
    staging_hosts.restore("database")
    staging_hosts.restore("backend")  # its log keeps the errors this makes it write (test_live_hosts_drift.py)
    staging_hosts.kill_host("database")
    # A client asked meanwhile (the run's own GET /health is one more; whether the probe reads the log before or
    # after it depends on timing, so one is made before)
    staging_hosts.ssh("backend", "curl -s -o /dev/null http://127.0.0.1:8080/health")
    failures = staging_hosts.run().failures
    assert (
        failures["test_endpoint_health[staging-api]"]
        == "GET https://staging-api.viewster.io/health: status expected 200, found 500"
    )
    assert set(failures) == {
        "test_endpoint_health[staging-api]",
        "test_host_reaches[staging-backend-database-5432]",
        "test_container_no_recent_errors[staging-backend-backend-blue]",  # its log says why
    }


@proves("test_endpoint_http_redirects_to_https")
def test_redirect_to_plain_http(staging_hosts):
    staging_hosts.restore("frontend")
    staging_hosts.ssh(
        "frontend", "sed -i 's|return 301 https://|return 302 http://|' /etc/nginx/sites-enabled/site.conf"
    )
    staging_hosts.reload_nginx("frontend")
    assert staging_hosts.run().failures == {
        "test_endpoint_http_redirects_to_https[staging-site]": "GET http://staging.viewster.io/: redirect target "
        "expected 'https://staging.viewster.io', found 'http://staging.viewster.io'"
    }


@proves("test_endpoint_certificate_not_expiring")
def test_certificate_about_to_expire(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.reissue_certificate("backend", ["staging-api.viewster.io"], days=5)
    failures = staging_hosts.run().failures
    assert list(failures) == ["test_endpoint_certificate_not_expiring[staging-api]"]
    assert failures["test_endpoint_certificate_not_expiring[staging-api]"].startswith(
        "https staging-api.viewster.io: TLS certificate days left expected at least 14, found 5"
    )


@proves("test_endpoint_certificate_valid")
def test_certificate_for_another_name(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.reissue_certificate("backend", ["staging.viewster.io"], days=90)
    failures = staging_hosts.run().failures
    assert failures["test_endpoint_certificate_valid[staging-api]"].startswith(
        "https staging-api.viewster.io: TLS certificate not valid: SSLCertVerificationError"
    )
    assert "Hostname mismatch" in failures["test_endpoint_certificate_valid[staging-api]"]


@proves("test_host_container_runtime_answers")
def test_container_runtime_not_answering(staging_hosts):
    staging_hosts.restore("backend")
    # Docker's socket no longer open to the docker group: the SSH user is as a user outside it ("permission
    # denied" on every docker command), while the containers go on running
    staging_hosts.ssh("backend", "chgrp root /run/docker.sock")
    failures = staging_hosts.run().failures
    assert failures["test_host_container_runtime_answers[staging-backend]"] == (
        "host backend: container runtime answers (docker ps) expected True, found False"
    )
    assert {name for name in failures if "[staging-backend" in name} == {
        "test_host_container_runtime_answers[staging-backend]",
        "test_container_running[staging-backend-backend-blue]",
        "test_container_published_ports[staging-backend-backend-blue]",
        "test_container_image[staging-backend-backend-blue]",
        "test_deploy_container_runs_expected_image[staging-backend-backend-blue]",
        "test_deploy_container_started_after_push[staging-backend-backend-blue]",
    }


def test_unreachable_host_fails_fast_with_one_reason(staging_hosts):
    staging_hosts.restore_link("thirdparty")
    staging_hosts.link_down("thirdparty")
    started = time.monotonic()
    result = staging_hosts.run()
    elapsed = time.monotonic() - started
    address = staging_hosts.state.hosts["hosts"]["thirdparty"]["address"]
    unreachable = f"host thirdparty: unreachable: {address}: ssh connection timed out after 5s"
    thirdparty_checks = host_checks(result, "thirdparty")
    assert {name: result.failures.get(name) for name in thirdparty_checks} == dict.fromkeys(
        thirdparty_checks, unreachable
    )
    assert set(result.failures) - thirdparty_checks == {
        "test_host_reaches[staging-backend-thirdparty-6379]",
        "test_host_reaches[staging-backend-thirdparty-5672]",
    }
    assert elapsed < 30, f"one timeout for the host, not one per check: {elapsed:.1f}s"


def test_changed_host_key_is_refused(staging_hosts):
    known_hosts = Path(staging_hosts.state.hosts["known_hosts"])
    original = known_hosts.read_text()
    other_key = known_hosts.parent / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True)
    address = staging_hosts.state.hosts["hosts"]["frontend"]["address"]
    forged = " ".join(other_key.with_suffix(".pub").read_text().split()[:2])
    lines = [f"{address} {forged}" if line.startswith(f"{address} ") else line for line in original.splitlines()]
    known_hosts.write_text("\n".join(lines) + "\n")
    try:
        result = staging_hosts.run()
    finally:
        known_hosts.write_text(original)
    refused = f"host frontend: unreachable: {address}: host key verification failed: its key is not the one in known_hosts (changed or unknown)"
    frontend_checks = host_checks(result, "frontend")
    assert {name: result.failures.get(name) for name in frontend_checks} == dict.fromkeys(frontend_checks, refused)


@proves("test_redis_major_version", "test_rabbitmq_major_version", "test_host_root_filesystem_usage")
def test_versions_and_disk_against_a_stricter_spec(staging_hosts, tmp_path):
    """Debian ships one redis and one rabbitmq, and the disk cannot be filled safely: these checks are proven to
    fail against a spec that expects other versions and less disk use than the replica has."""
    specs = tmp_path / "specs"
    shutil.copytree(SPEC_DIR, specs)
    common = yaml.safe_load((specs / "common.yaml").read_text())
    thirdparty = common["hosts"]["roles"]["thirdparty"]
    thirdparty["redis"]["major_version"] = 6
    thirdparty["rabbitmq"]["major_version"] = 4
    common["hosts"]["root_filesystem_max_used_percent"] = 0.5
    (specs / "common.yaml").write_text(yaml.safe_dump(common, allow_unicode=True))
    failures = staging_hosts.run(f"--spec-dir={specs}").failures
    assert re.fullmatch(
        r"thirdparty redis: major version \(of 7\.\d+\.\d+\) expected 6, found 7",
        failures["test_redis_major_version[staging-thirdparty]"],
    )
    assert re.fullmatch(
        r"thirdparty rabbitmq: major version \(of 3\.\d+\.\d+\) expected 4, found 3",
        failures["test_rabbitmq_major_version[staging-thirdparty]"],
    )
    assert re.fullmatch(
        r"host backend: root filesystem used expected under 0\.5%, found \d+%",
        failures["test_host_root_filesystem_usage[staging-backend]"],
    )
    assert len(failures) == 5
