"""What each image runs as on a sandbox host: the process that stands in for the container.

Ports are bound where Docker would publish them (`-p 127.0.0.1:8080:8080` binds 127.0.0.1), so a wrongly
published port is as unreachable here as on a real host.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

STANDIN_DATA = Path("/var/lib/docker-standin")
RABBITMQ_STATISTICS_SECONDS = 1.0  # how old the management API's queue figures may be


@dataclass
class Program:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def program_for(image: str, ports: list[dict], env: dict[str, str]) -> Program:
    repository = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":")[0]  # repo:tag or repo@sha256:digest
    by_port = {p["container_port"]: p for p in ports}
    if repository.endswith("-backend"):
        bind = by_port.get(8080) or ports[0]
        return Program(
            [sys.executable, "-m", "viewster_infra.sandbox.hosts.backend_app", bind["host_ip"], str(bind["host_port"])],
            dict(env),
        )
    if repository.endswith("frontend"):
        bind = ports[0]
        site = STANDIN_DATA / "www" / repository
        site.mkdir(parents=True, exist_ok=True)
        (site / "index.html").write_text(f"<!doctype html><title>{repository}</title><h1>{repository}</h1>\n")
        return Program(
            [
                sys.executable,
                "-m",
                "http.server",
                str(bind["host_port"]),
                "--bind",
                bind["host_ip"],
                "--directory",
                str(site),
            ]
        )
    if repository == "redis":
        bind = by_port[6379]
        return Program(
            [
                "redis-server",
                "--bind",
                bind["host_ip"],
                "--port",
                str(bind["host_port"]),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
                "--dir",
                "/tmp",
                "--maxmemory",
                "256mb",  # as the team's redis runs: bounded (an unset maxmemory is a finding)
                "--maxmemory-policy",
                "volatile-lru",  # at the limit, expiring keys go and writes go on (INC-2026-011)
            ]
        )
    if repository == "rabbitmq":
        return _rabbitmq(by_port)
    raise SystemExit(f"docker stand-in: no program for image {image!r}")


def _rabbitmq(by_port: dict[int, dict]) -> Program:
    base = STANDIN_DATA / "rabbitmq"
    base.mkdir(parents=True, exist_ok=True)
    (base / "enabled_plugins").write_text("[rabbitmq_management].\n")
    amqp, management = by_port[5672], by_port[15672]
    (base / "rabbitmq.conf").write_text(
        f"listeners.tcp.1 = {amqp['host_ip']}:{amqp['host_port']}\n"
        f"management.tcp.ip = {management['host_ip']}\n"
        f"management.tcp.port = {management['host_port']}\n"
        "loopback_users = none\n"
        # The management API's queue figures every second instead of every 5 s, so a drift test waits less: queues
        # emit them at this interval, and the management agent collects them at its shortest retention interval
        # (RabbitMQ's defaults but for that one: a sample every second over the last minute).
        f"collect_statistics_interval = {int(RABBITMQ_STATISTICS_SECONDS * 1000)}\n"
        f"management.sample_retention_policies.global.minute = {int(RABBITMQ_STATISTICS_SECONDS)}\n"
        "management.sample_retention_policies.global.hour = 60\n"
        "management.sample_retention_policies.global.day = 1200\n"
        f"management.sample_retention_policies.basic.minute = {int(RABBITMQ_STATISTICS_SECONDS)}\n"
        "management.sample_retention_policies.basic.hour = 60\n"
        f"management.sample_retention_policies.detailed.10 = {int(RABBITMQ_STATISTICS_SECONDS)}\n"
    )
    return Program(
        ["/usr/lib/rabbitmq/bin/rabbitmq-server"],
        {
            "HOME": str(base),
            "RABBITMQ_NODENAME": "rabbit@localhost",
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_LOGS": "-",
        },
    )
