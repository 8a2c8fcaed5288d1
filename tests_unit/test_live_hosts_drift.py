"""Live state on the hosts, each signal failing on the condition it guards, made on the replica hosts the way it
happens: Redis without a memory limit, near it, evicting; nginx logging a critical error; too many connections."""

import re
import shutil

import yaml

from tests_unit.harness import SPEC_DIR, proves

REDIS = "docker exec redis redis-cli"


@proves("test_redis_memory_below_limit")
def test_redis_without_a_memory_limit_and_near_one(staging_hosts):
    staging_hosts.restore("thirdparty")
    staging_hosts.ssh("thirdparty", f"{REDIS} config set maxmemory 0")
    assert staging_hosts.run("-k", "redis").failures == {
        "test_redis_memory_below_limit[staging-thirdparty]": "thirdparty redis: maxmemory expected set, found 0 "
        "(no limit: Redis grows until the host runs out)"
    }
    staging_hosts.ssh("thirdparty", f"{REDIS} config set maxmemory 1100000")
    failures = staging_hosts.run("-k", "redis").failures
    assert set(failures) == {"test_redis_memory_below_limit[staging-thirdparty]"}
    assert re.fullmatch(
        r"thirdparty redis: used_memory / maxmemory expected under 0.8, found \d\.\d\d \(\d+ of 1100000 bytes\)",
        failures["test_redis_memory_below_limit[staging-thirdparty]"],
    )


@proves("test_redis_no_evictions")
def test_redis_evicting_keys(staging_hosts):
    staging_hosts.restore("thirdparty")
    staging_hosts.ssh(
        "thirdparty",
        f"{REDIS} config set maxmemory 2mb && {REDIS} config set maxmemory-policy allkeys-lru && "
        f'for i in $(seq 1 30000); do echo "SET session:$i {"x" * 100}"; done | {REDIS} >/dev/null',
    )
    failures = staging_hosts.run("-k", "redis").failures
    assert re.fullmatch(
        r"thirdparty redis: evicted_keys expected at most 0, found [1-9]\d*",
        failures["test_redis_no_evictions[staging-thirdparty]"],
    )


@proves("test_nginx_no_critical_errors")
def test_nginx_logged_a_critical_error(staging_hosts):
    staging_hosts.restore("frontend")
    line = "[crit] 12#12: *3 SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share)"
    staging_hosts.ssh(
        "frontend",
        f"echo \"$(date -u -d '-2 hours' '+%Y/%m/%d %H:%M:%S') {line}\" >> /var/log/nginx/error.log && "  # too old
        f"echo \"$(date -u '+%Y/%m/%d %H:%M:%S') {line}\" >> /var/log/nginx/error.log",
    )
    result = staging_hosts.run("-k", "nginx")
    assert result.failures == {
        "test_nginx_no_critical_errors[staging-frontend]": "frontend nginx: error.log entries at crit or worse in the "
        "last 15 min expected 0, found 1"
    }
    assert line in result.sections["test_nginx_no_critical_errors[staging-frontend]"]


@proves("test_backend_established_connections")
def test_more_connections_than_the_spec_allows(staging_hosts, tmp_path):
    staging_hosts.restore("frontend")
    backend = staging_hosts.state.hosts["hosts"]["backend"]["address"]
    staging_hosts.ssh("frontend", f"nohup bash -c 'exec 3<>/dev/tcp/{backend}/8080; sleep 60' >/dev/null 2>&1 &")
    staging_hosts.ssh(  # until the backend sees it
        "backend",
        "for i in $(seq 50); do ss -tnH state established '( sport = :8080 )' | grep -q . && exit 0; sleep 0.1; done; "
        "exit 1",
    )
    specs = tmp_path / "specs"
    shutil.copytree(SPEC_DIR, specs)
    common = yaml.safe_load((specs / "common.yaml").read_text())
    common["live"]["backend_connections_max"] = 1
    (specs / "common.yaml").write_text(yaml.safe_dump(common, allow_unicode=True))
    failures = staging_hosts.run("-k", "established", f"--spec-dir={specs}").failures
    assert set(failures) == {"test_backend_established_connections[staging-backend-backend-blue]"}
    assert re.fullmatch(
        r"backend container backend-blue: established connections on 8080 expected under 1, found [1-9]\d*",
        failures["test_backend_established_connections[staging-backend-backend-blue]"],
    )


@proves("test_container_no_recent_errors")
def test_the_backend_logging_errors(staging_hosts):
    staging_hosts.restore("database")
    staging_hosts.restore("backend")
    assert staging_hosts.run("-k", "no_recent_errors").failures == {}
    staging_hosts.kill_host("database")
    staging_hosts.ssh("backend", "for i in 1 2 3; do curl -s -o /dev/null http://127.0.0.1:8080/health; done")
    result = staging_hosts.run("-k", "no_recent_errors")
    check = "test_container_no_recent_errors[staging-backend-backend-blue]"
    assert result.failures == {
        check: "backend container backend-blue: error lines in the last 15 min expected at most 0, found 3"
    }
    assert "ERROR health: database unreachable" in result.sections[check]
