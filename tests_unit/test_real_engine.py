"""What a real Docker Engine does that the suite once got wrong, each made with the real docker CLI on a replica
host (Debian's Engine 20.10, run by each host's own dockerd) and proven both ways: the compliant host passes, the
drift fails with its one line. The suite logs in as the spec's SSH user, an ordinary user in the docker group with
sudo for exactly the two nginx reads, as on an EC2 host."""

from __future__ import annotations

import json
import re
import socket
import subprocess

import yaml

from tests_unit.harness import SPEC_DIR, set_live
from tests_unit.test_hosts_drift import BACKEND_IMAGE
from viewster_infra.sandbox.seed import FAKE_SECRET_VALUE


def test_ports_published_without_an_address_are_every_interface(staging_hosts):
    # the deploy publishes as most people write it, `-p 8080:8080`: the engine records no address at all
    inspected = json.loads(staging_hosts.ssh("backend", "docker inspect --type container backend-blue"))[0]
    assert inspected["HostConfig"]["PortBindings"] == {"8080/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    result = staging_hosts.run("-k", "published_ports")
    assert result.exit_code == 0, result.failures
    assert len(result.outcomes) == 5  # every container of the three hosts, all passed


def test_the_suite_is_an_ordinary_user_in_the_docker_group(staging_hosts):
    ssh = ["ssh", "-F", staging_hosts.state.hosts["ssh_config"], "staging-backend"]  # as the suite logs in
    said = subprocess.run([*ssh, "id -un; id -Gn; sudo -n true; echo sudo=$?"], capture_output=True, text=True)
    user, groups, *_ = said.stdout.splitlines()
    assert user == "ubuntu" and "docker" in groups.split()
    assert said.stdout.splitlines()[-1] == "sudo=1"  # no sudo beyond the two nginx reads the spec needs


def test_a_missing_container_costs_only_itself(staging_hosts):
    staging_hosts.restore("thirdparty", "redis")
    staging_hosts.ssh("thirdparty", "docker rm -f redis")
    result = staging_hosts.run("-k", "container_cpu or container_memory or container_running")
    assert result.failures == {
        "test_container_running[staging-thirdparty-redis]": "thirdparty container redis: not found "
        "(no container of that name (docker inspect))"
    }
    assert result.outcomes["test_container_cpu_below_limit[staging-thirdparty-redis]"] == "skipped"
    # its neighbour still has its figures (docker stats with one name missing prints nothing for any)
    assert result.outcomes["test_container_cpu_below_limit[staging-thirdparty-rabbitmq]"] == "passed"
    assert result.outcomes["test_container_memory_below_limit[staging-thirdparty-rabbitmq]"] == "passed"


def test_a_name_that_is_an_image_a_volume_or_a_network_is_no_container(staging_hosts):
    staging_hosts.restore("frontend")
    staging_hosts.ssh(
        "frontend",
        "docker rm -f frontend-blue && docker volume create frontend-blue && docker network create frontend-blue && "
        "docker tag 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/viewster-staging-frontend:latest frontend-blue",
    )
    result = staging_hosts.run("-k", "container")
    missing = "frontend container frontend-blue: not found (no container of that name (docker inspect))"
    assert result.failures["test_container_running[staging-frontend-frontend-blue]"] == missing
    # every failure is that container's "not found": the host's other container was read as ever (the probe was
    # not lost to a KeyError), and no check took the image, volume or network for the container
    assert {line for line in result.failures.values()} == {missing}, result.failures
    assert all(name.endswith("[staging-frontend-frontend-blue]") for name in result.failures)


def test_a_crash_looping_container_is_its_own_finding(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.ssh(
        "backend",
        "docker rm -f backend-blue >/dev/null && docker run -d --name backend-blue --restart always -p 8080:8080 "
        f"-v /usr:/usr:ro {BACKEND_IMAGE} sh -c 'echo starting; exit 3' >/dev/null && "
        "for i in $(seq 100); do [ \"$(docker inspect -f '{{.RestartCount}}' backend-blue)\" -ge 3 ] && exit 0;"
        " sleep 0.1; done; exit 1",
    )
    result = staging_hosts.run("-k", "container_running or container_cpu or container_memory")
    running = result.failures["test_container_running[staging-backend-backend-blue]"]
    assert re.fullmatch(
        r"backend container backend-blue: state expected 'running', found "
        r"'restarting \(restart count \d+, last exit code \d+\)'",
        running,
    ), running
    for check, prop in (("cpu", "CPU"), ("memory", "memory")):
        line = result.failures[f"test_container_{check}_below_limit[staging-backend-backend-blue]"]
        assert re.fullmatch(
            rf"backend container backend-blue: {prop} \(docker stats\) expected under .+, found "
            r"no figures: restarting \(restart count \d+\)",
            line,
        ), line


def test_rabbitmq_is_asked_as_the_specs_user_with_its_password_from_ssm(staging_hosts, spec_copy):
    # nothing changes on the host: the SSM parameter is the sandbox's, reset with its moto before the next test
    assert staging_hosts.run("-k", "rabbitmq_management").exit_code == 0
    # the parameter rotated without the broker: refused, and the new value printed nowhere
    rotated = "rotated-password-never-printed"
    staging_hosts.client("ssm").put_parameter(
        Name="/viewster/staging/rabbitmq/monitor_password", Value=rotated, Type="SecureString", Overwrite=True
    )
    result = staging_hosts.run("-k", "rabbitmq_management or rabbitmq_major")
    assert result.failures == {
        "test_rabbitmq_management_healthy[staging-thirdparty]": "thirdparty rabbitmq: management API "
        "/api/health/checks/alarms status (as viewster-monitor) expected '200', found '401'",
        "test_rabbitmq_major_version[staging-thirdparty]": "thirdparty rabbitmq version: not found "
        "(management API gave none)",
    }
    assert rotated not in json.dumps([result.report, result.sections])
    assert FAKE_SECRET_VALUE not in json.dumps([result.report, result.sections])
    # RabbitMQ's default guest, which the broker refuses beyond localhost (Docker's publishing is not)
    common = yaml.safe_load((SPEC_DIR / "common.yaml").read_text())
    broker = common["hosts"]["roles"]["thirdparty"]["rabbitmq"]
    del broker["management_user"], broker["management_password_parameter"]
    (spec_copy / "common.yaml").write_text(yaml.safe_dump(common, allow_unicode=True))
    result = staging_hosts.run("-k", "rabbitmq_management", f"--spec-dir={spec_copy}")
    assert result.failures["test_rabbitmq_management_healthy[staging-thirdparty]"].endswith(
        "status (as guest) expected '200', found '401'"
    )


def test_a_password_that_cannot_be_read_is_said_and_the_api_not_asked(staging_hosts):
    staging_hosts.client("ssm").delete_parameter(Name="/viewster/staging/rabbitmq/monitor_password")
    result = staging_hosts.run("-k", "rabbitmq_management")
    assert result.failures == {
        "test_rabbitmq_management_healthy[staging-thirdparty]": "thirdparty rabbitmq: management API "
        "/api/health/checks/alarms status (as viewster-monitor) expected '200', found not asked: cannot read SSM "
        "parameter /viewster/staging/rabbitmq/monitor_password: ParameterNotFound"
    }


def test_connections_are_counted_where_the_container_sees_them(staging_hosts, spec_copy):
    staging_hosts.restore("backend", "backend-blue")
    set_live(spec_copy, backend_connections_max=5)
    assert staging_hosts.run("-k", "established", f"--spec-dir={spec_copy}").exit_code == 0
    address = staging_hosts.state.hosts["hosts"]["backend"]["address"]
    clients = [socket.create_connection((address, 8080), timeout=5) for _ in range(6)]  # NATed to the container
    try:
        # on the host itself, nothing of them: Docker's NAT hands them straight to the container
        on_host = staging_hosts.ssh("backend", "ss -tnH state established '( sport = :8080 )' | wc -l")
        assert on_host.strip() == "0"
        result = staging_hosts.run("-k", "established", f"--spec-dir={spec_copy}")
        line = result.failures["test_backend_established_connections[staging-backend-backend-blue]"]
        assert re.fullmatch(
            r"backend container backend-blue: established connections on 8080 expected under 5, found (\d+)", line
        ), line
        assert int(line.rsplit(" ", 1)[1]) >= 6
    finally:
        for client in clients:
            client.close()


def test_without_its_sudo_rule_nginx_cannot_be_read(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.ssh("backend", "rm /etc/sudoers.d/viewster")
    result = staging_hosts.run("-k", "nginx_config_valid")
    assert result.failures == {
        "test_nginx_config_valid[staging-backend]": "backend nginx: configuration valid (nginx -t) expected True, "
        "found False"
    }
    assert "sudo: a password is required" in json.dumps([result.report, result.sections])


def nginx_line(staging_hosts, minutes_ago: int, level: str, text: str, count: int = 1) -> str:
    """A shell command appending `count` error.log lines written `minutes_ago`, in the host's own time as nginx
    writes them."""
    return (
        f"when=$(date -d '-{minutes_ago} min' '+%Y/%m/%d %H:%M:%S'); "
        f'for i in $(seq {count}); do echo "$when [{level}] 77#77: {text}"; done >> /var/log/nginx/error.log'
    )


def test_nginx_log_window_is_read_by_time_in_the_hosts_timezone(staging_hosts):
    staging_hosts.restore("backend")
    assert staging_hosts.ssh("backend", "date +%z").strip() == "+0900"  # Asia/Seoul, as the hosts keep time
    staging_hosts.ssh(
        "backend",
        nginx_line(staging_hosts, 20, "crit", "*1 before the window")
        + "; "
        + nginx_line(staging_hosts, 5, "crit", "*2 SSL_do_handshake() failed")
        + "; "
        + nginx_line(staging_hosts, 1, "error", "*3 upstream timed out", count=600),  # a burst after it
    )
    result = staging_hosts.run("-k", "nginx_no_critical")
    assert result.failures == {
        "test_nginx_no_critical_errors[staging-backend]": "backend nginx: error.log entries at crit or worse in the "
        "last 15 min expected 0, found 1"
    }
    assert "*2 SSL_do_handshake() failed" in json.dumps([result.report, result.sections])


def test_a_reload_with_a_broken_configuration_logs_emerg(staging_hosts):
    staging_hosts.restore("backend")
    # the running master told to reload (SIGHUP, as a reload by signal or a log rotation's does) finds a broken
    # configuration: it keeps serving the old one and logs the emerg to error.log, as Debian's nginx does
    staging_hosts.ssh(
        "backend", "echo 'broken;' > /etc/nginx/conf.d/broken.conf && kill -HUP $(cat /run/nginx.pid) && sleep 0.5"
    )
    result = staging_hosts.run("-k", "nginx_no_critical or nginx_config_valid")
    assert result.failures["test_nginx_no_critical_errors[staging-backend]"].endswith("expected 0, found 1")
    assert "[emerg]" in json.dumps([result.report, result.sections]) and 'unknown directive \\"broken\\"' in json.dumps(
        [result.report, result.sections]
    )


def test_backend_errors_are_every_level_the_spec_names(staging_hosts):
    staging_hosts.restore("backend", "backend-blue")
    log = "docker exec backend-blue sh -c 'echo \"{}\" > /proc/1/fd/1'"
    staging_hosts.ssh("backend", log.format("INFO request done errors=0"))  # a word containing error: not an error
    assert staging_hosts.run("-k", "no_recent_errors").exit_code == 0
    for line in ("CRITICAL worker: out of memory", "FATAL cannot start", "Traceback (most recent call last):"):
        staging_hosts.ssh("backend", log.format(line))
    result = staging_hosts.run("-k", "no_recent_errors")
    assert result.failures == {
        "test_container_no_recent_errors[staging-backend-backend-blue]": "backend container backend-blue: error "
        "lines in the last 15 min expected at most 0, found 3"
    }
