"""Live state on the hosts, each signal failing on the condition it guards, made on the replica hosts the way it
happens: Redis without a memory limit, near it, evicting; nginx logging a critical error; too many connections."""

import re
import time

import pika
import requests

from tests_unit.harness import proves, set_live
from viewster_infra.sandbox.hosts import lifecycle as hosts

REDIS = "docker exec -i redis redis-cli"  # -i: the commands piped in reach it


@proves("test_redis_memory_below_limit")
def test_redis_without_a_memory_limit_and_near_one(staging_hosts):
    staging_hosts.restore("thirdparty", "redis")
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
    staging_hosts.restore("thirdparty", "redis")
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
        # in the host's own time (Asia/Seoul), as nginx writes it
        f"echo \"$(date -d '-2 hours' '+%Y/%m/%d %H:%M:%S') {line}\" >> /var/log/nginx/error.log && "  # too old
        f"echo \"$(date '+%Y/%m/%d %H:%M:%S') {line}\" >> /var/log/nginx/error.log",
    )
    result = staging_hosts.run("-k", "nginx")
    assert result.failures == {
        "test_nginx_no_critical_errors[staging-frontend]": "frontend nginx: error.log entries at crit or worse in the "
        "last 15 min expected 0, found 1"
    }
    assert line in result.sections["test_nginx_no_critical_errors[staging-frontend]"]


@proves("test_backend_established_connections")
def test_more_connections_than_the_spec_allows(staging_hosts, spec_copy):
    staging_hosts.restore("frontend")
    backend = staging_hosts.state.hosts["hosts"]["backend"]["address"]
    hold = f"nohup bash -c 'exec 3<>/dev/tcp/{backend}/8080; sleep 60' >/dev/null 2>&1 &"
    staging_hosts.ssh("frontend", f"{hold} {hold}")  # two clients; the broker has one (the backend's worker)
    staging_hosts.ssh(  # until the backend sees both, in its container (Docker's NAT hands them straight to it)
        "backend",
        "for i in $(seq 50); do [ $(docker exec backend-blue ss -tnH state established '( sport = :8080 )' | wc -l)"
        " -ge 2 ] && exit 0; sleep 0.1; done; exit 1",
    )
    set_live(spec_copy, backend_connections_max=2)
    failures = staging_hosts.run("-k", "established", f"--spec-dir={spec_copy}").failures
    assert set(failures) == {"test_backend_established_connections[staging-backend-backend-blue]"}
    assert re.fullmatch(
        r"backend container backend-blue: established connections on 8080 expected under 2, found [2-9]\d*",
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


@proves("test_container_cpu_below_limit")
def test_a_container_spinning_a_core(staging_hosts, spec_copy):
    staging_hosts.restore("backend")
    # A limit a busy container passes whatever else this machine runs meanwhile (other tests, other workers): three
    # busy processes on two cores get well over 20% between them; idle containers stay near 0.
    set_live(spec_copy, container_cpu_max_percent=20)
    assert staging_hosts.run("-k", "cpu_below_limit", f"--spec-dir={spec_copy}").failures == {}
    spin = "docker exec -d backend-blue timeout 30 sh -c 'while :; do :; done'"
    staging_hosts.ssh("backend", f"{spin}; {spin}; {spin}")
    result = staging_hosts.run("-k", "cpu_below_limit", f"--spec-dir={spec_copy}")
    check = "test_container_cpu_below_limit[staging-backend-backend-blue]"
    assert set(result.failures) == {check}
    assert re.fullmatch(
        r"backend container backend-blue: CPU \(docker stats\) expected under 20%, found (\d+\.\d\d)%",
        result.failures[check],
    )


@proves("test_container_memory_below_limit")
def test_a_container_holding_more_memory_than_allowed(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.ssh(  # 1.1 GiB written (so resident), held for 30 s; until it is, however busy the machine
        "backend",
        'docker exec backend-blue rm -f /tmp/held && docker exec -d backend-blue python3 -c "import time; '
        "b = b'x' * (1100 * 2**20); open('/tmp/held', 'w').close(); time.sleep(30)\" && "
        "for i in $(seq 300); do docker exec backend-blue test -e /tmp/held && exit 0; sleep 0.1; done; exit 1",
    )
    result = staging_hosts.run("-k", "memory_below_limit")
    check = "test_container_memory_below_limit[staging-backend-backend-blue]"
    assert set(result.failures) == {check}
    assert re.fullmatch(
        r"backend container backend-blue: memory \(docker stats\) expected under 1024.0 MiB, found 1\d{3}\.\d MiB",
        result.failures[check],
    )
    assert "CPU" in result.sections[check] and "GiB" in result.sections[check]  # the figures, as docker prints them


def publish(sandbox, queue: str, count: int, body: bytes = b"{}") -> None:
    """Messages into a queue from outside, as the backend's producers would; then until the management API's
    figures (sampled every second in the sandbox) show them."""
    address = sandbox.state.hosts["hosts"]["thirdparty"]["address"]
    credentials = pika.PlainCredentials(*hosts.BROKER_AUTH)  # the application's user: guest is localhost-only
    connection = pika.BlockingConnection(pika.ConnectionParameters(address, 5672, credentials=credentials))
    channel = connection.channel()
    for _ in range(count):
        channel.basic_publish("", queue, body)
    connection.close()
    for _ in range(100):
        listing = requests.get(f"http://{address}:15672/api/queues", auth=hosts.BROKER_AUTH, timeout=5).json()
        found = next(q for q in listing if q["name"] == queue)
        if found.get("messages_ready", 0) + found.get("messages_unacknowledged", 0) >= min(count, 100):
            return
        time.sleep(0.2)
    raise AssertionError(f"{queue}: the management API never showed {count} messages")


@proves("test_rabbitmq_queue_has_consumer", "test_rabbitmq_queue_messages_ready")
def test_the_backend_gone_and_its_queue_piling_up(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.restore_queues()  # the messages stay in the broker otherwise
    assert staging_hosts.run("-k", "rabbitmq_queue").failures == {}
    staging_hosts.ssh("backend", "docker stop backend-blue")
    time.sleep(1.5)  # the broker's figures lag by up to its sampling interval
    publish(staging_hosts, "viewster.tasks", 1001)
    assert staging_hosts.run("-k", "rabbitmq_queue").failures == {
        "test_rabbitmq_queue_has_consumer[staging-thirdparty-notifications]": "thirdparty rabbitmq queue "
        "viewster.notifications: consumers expected at least 1, found 0",
        "test_rabbitmq_queue_has_consumer[staging-thirdparty-tasks]": "thirdparty rabbitmq queue viewster.tasks: "
        "consumers expected at least 1, found 0",
        "test_rabbitmq_queue_messages_ready[staging-thirdparty-tasks]": "thirdparty rabbitmq queue viewster.tasks: "
        "messages ready expected at most 1000, found 1001",
    }


@proves("test_rabbitmq_queue_messages_unacknowledged")
def test_a_slow_job_holding_messages_unacknowledged(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.restore_queues()
    publish(staging_hosts, "viewster.notifications", 150, b'{"work_seconds": 60}')
    result = staging_hosts.run("-k", "rabbitmq_queue")
    assert result.failures == {
        "test_rabbitmq_queue_messages_unacknowledged[staging-thirdparty-notifications]": "thirdparty rabbitmq queue "
        "viewster.notifications: messages unacknowledged expected at most 100, found 150"
    }
    assert (
        "0 ready, 150 unacknowledged, 1 consumer(s)"
        in result.sections["test_rabbitmq_queue_messages_unacknowledged[staging-thirdparty-notifications]"]
    )
