"""Redis 메모리 사용량, Nginx 로그, Docker 리소스 사용량 and 높은 CPU 사용률 (docker stats, 동시 WebSocket 연결 수): on
the hosts, Redis stays under its memory limit and evicts nothing, nginx logs nothing critical lately, each container
stays under its CPU and memory limits, and the backend's connections stay in range. All of it from the same single
probe per host."""

import pytest

from viewster_infra.findings import drift, note


def _unanswered(redis, facts: dict) -> str | None:
    """The cause when Redis did not answer INFO (test_redis_answers_ping finds it): its figures are not known."""
    return None if facts["answered"] else redis.label


def test_redis_memory_below_limit(redis, hosts, spec):
    facts = hosts.facts(redis.key)["redis"]
    used, limit = facts["used_memory"], facts["maxmemory"]
    if not limit:
        drift(
            redis.label,
            cause=_unanswered(redis, facts),
            prop="maxmemory",
            expected="set",
            found=f"{limit!r} (no limit: Redis grows until the host runs out)",
        )
    ratio, most = used / limit, spec.live.redis_memory_max_ratio
    note("redis memory", f"used {used} of maxmemory {limit} bytes ({ratio:.0%}), policy {facts['maxmemory_policy']}")
    if ratio >= most:
        drift(
            redis.label,
            prop="used_memory / maxmemory",
            expected=f"under {most:g}",
            found=f"{ratio:.2f} ({used} of {limit} bytes)",
        )


def test_redis_no_evictions(redis, hosts, spec):
    facts = hosts.facts(redis.key)["redis"]
    evicted, most = facts["evicted_keys"], spec.live.redis_evicted_keys_max
    if evicted is None or evicted > most:
        drift(
            redis.label,
            prop="evicted_keys",
            expected=f"at most {most}",
            found=str(evicted),
            cause=_unanswered(redis, facts),
        )


def test_nginx_no_critical_errors(nginx, hosts, spec):
    facts = hosts.facts(nginx.key)
    window = spec.live.log_window_minutes
    recent = [line for when, line in facts["nginx"]["critical_errors"] if when >= facts["now"] - window * 60]
    if recent:
        evidence = ("nginx error.log at crit or worse", "\n".join(recent[-20:]))
        drift(
            nginx.label,
            evidence=evidence,
            prop=f"error.log entries at crit or worse in the last {window} min",
            expected="0",
            found=str(len(recent)),
        )


def test_backend_established_connections(container, hosts, spec):
    """Counted where the container sees them (its own network namespace, its own port): clients Docker's NAT
    sends straight to it never show among the host's sockets."""
    facts = hosts.facts(container.want.role)
    found = facts["containers"][container.key] or {}
    if not found.get("running"):
        pytest.skip(f"{container.label}: not running, so no connections")  # test_container_running says so
    port = int(container.want.spec.ports[0].split("->")[1].split("/")[0])  # the container's own port
    count = facts["established"].get(container.key, {}).get(str(port), 0)
    note("established connections", f"{count} on port {port} (in the container)")
    limit = spec.live.backend_connections_max
    if count >= limit:
        drift(container.label, prop=f"established connections on {port}", expected=f"under {limit}", found=str(count))


def test_container_no_recent_errors(logging_container, hosts, spec):
    lines = hosts.facts(logging_container.want.role)["error_lines"][logging_container.key]
    window, most = spec.live.log_window_minutes, logging_container.want.spec.errors_logged_max
    if len(lines) > most:
        words = "|".join(logging_container.want.spec.error_words)
        evidence = (
            f"docker logs --since {window}m {logging_container.key} | grep -Eiw '({words})'",
            "\n".join(lines[-20:]),
        )
        drift(
            logging_container.label,
            evidence=evidence,
            prop=f"error lines in the last {window} min",
            expected=f"at most {most}",
            found=str(len(lines)),
        )


def _stats(container, hosts, prop: str, expected: str) -> dict:
    """The container's CPU and memory (two reads of its cgroup's counters, computed as `docker stats` does). A
    crash-looping container is a finding here too, never a pass on the zeros it shows between starts."""
    facts = hosts.facts(container.want.role)
    found = facts["containers"][container.key] or {}
    if found.get("restarting") or (found.get("status") == "running" and not found.get("running")):
        drift(
            container.label,
            prop=prop,
            expected=expected,
            found=f"no figures: restarting (restart count {found['restart_count']})",
        )
    if not found.get("running"):
        # no figures exist for a stopped container; test_container_running is the finding that says so
        pytest.skip(f"{container.label}: not running, so no CPU or memory figures")
    stats = facts["stats"].get(container.key)
    if stats is None:
        drift(container.label, prop=prop, expected=expected, found="no figures (its cgroup could not be read)")
    note("docker stats", f"CPU {stats['cpu_percent']:.2f}%, memory {stats['memory_usage']}")
    return stats


def test_container_cpu_below_limit(container, hosts, spec):
    most = spec.live.container_cpu_max_percent
    cpu = _stats(container, hosts, "CPU (docker stats)", f"under {most:g}%")["cpu_percent"]
    if cpu >= most:
        drift(container.label, prop="CPU (docker stats)", expected=f"under {most:g}%", found=f"{cpu:.2f}%")


def test_container_memory_below_limit(container, hosts, spec):
    most = spec.live.container_memory_max
    used = _stats(container, hosts, "memory (docker stats)", f"under {_mib(most)}")["memory_bytes"]
    if used >= most:
        drift(container.label, prop="memory (docker stats)", expected=f"under {_mib(most)}", found=str(_mib(used)))


def _mib(size: float) -> str:
    return f"{size / 2**20:.1f} MiB"
