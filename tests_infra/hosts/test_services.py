"""Thirdparty EC2 (아키텍처, Redis 연결 확인): Redis 7 answers PONG and reports its memory; RabbitMQ 3 listens
on its ports and its management API is healthy."""

from viewster_infra.findings import expect, expect_includes, note, require


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
    listening = {port for _, port in hosts.facts(rabbitmq.key)["listening"]}
    for port in rabbitmq.want.spec.ports:
        expect_includes(rabbitmq.label, "ports listened on", port, listening)


def test_rabbitmq_management_healthy(rabbitmq, hosts):
    status = hosts.facts(rabbitmq.key)["rabbitmq"]["management_health_status"]
    expect(rabbitmq.label, "management API /api/health/checks/alarms status", "200", status)


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
