"""Thirdparty EC2 (아키텍처, Redis 연결 확인): Redis 7 answers PONG and reports its memory; RabbitMQ 3 listens
on its ports and its management API is healthy."""

from viewster_infra.findings import drift, expect, expect_includes, note, require


def test_redis_answers_ping(redis, hosts):
    facts = hosts.facts(redis.key)["redis"]
    note("redis used_memory_human", str(facts["used_memory_human"]))  # in the report on every run
    expect(redis.label, "PING answer", "PONG", facts["ping"])


def test_redis_major_version(redis, hosts):
    version = require(
        f"{redis.label} version", hosts.facts(redis.key)["redis"]["version"], "INFO gave none", cause=redis.label
    )
    expect(redis.label, f"major version (of {version})", redis.want.spec.major_version, int(version.split(".")[0]))


def test_rabbitmq_listening(rabbitmq, hosts):
    """Each port answered on the host: listened on by the host itself (Docker's userland proxy, a broker outside
    Docker), or published by the broker's container to a port it listens on inside (with the userland proxy off,
    only Docker's NAT rules stand between the two)."""
    facts = hosts.facts(rabbitmq.key)
    listening = {port for _, port in facts["listening"]}
    container = rabbitmq.want.spec.container
    inside = (facts["container_listening"] or {}).get(container, {})
    for published in (facts["containers"].get(container) or {}).get("ports", []):
        host_port, container_port = published.split("->")
        if container_port.split("/")[0] in inside:
            listening.add(int(host_port.rsplit(":", 1)[1]))
    for port in rabbitmq.want.spec.ports:
        expect_includes(rabbitmq.label, "ports listened on", port, listening)


def test_rabbitmq_management_healthy(rabbitmq, hosts):
    facts = hosts.facts(rabbitmq.key)["rabbitmq"]
    prop = f"management API /api/health/checks/alarms status (as {rabbitmq.want.spec.management_user})"
    if facts.get("credentials"):  # the spec's password could not be read: the API was not asked
        drift(rabbitmq.label, prop=prop, expected=repr("200"), found=f"not asked: {facts['credentials']}")
    expect(rabbitmq.label, prop, "200", facts["management_health_status"])


def test_rabbitmq_major_version(rabbitmq, hosts):
    version = require(
        f"{rabbitmq.label} version",
        hosts.facts(rabbitmq.key)["rabbitmq"]["version"],
        "management API gave none",
        cause=rabbitmq.label,  # the management API is down: test_rabbitmq_management_healthy says so
    )
    expect(
        rabbitmq.label, f"major version (of {version})", rabbitmq.want.spec.major_version, int(version.split(".")[0])
    )
