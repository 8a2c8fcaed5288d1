"""Redis 메모리 사용량, Nginx 로그, Docker 리소스 사용량 and 높은 CPU 사용률 (docker stats, 동시 WebSocket 연결 수): on
the hosts, Redis stays under its memory limit and evicts nothing, nginx logs nothing critical lately, each container
stays under its CPU and memory limits, and the backend's connections stay in range. All of it from the same single
probe per host."""

import pytest

from viewster_infra.findings import drift, note


def test_redis_memory_below_limit(redis, hosts, spec):
    facts = hosts.facts(redis.key)["redis"]
    used, limit = facts["used_memory"], facts["maxmemory"]
    if not limit:
        drift(redis.label, f"maxmemory expected set, found {limit!r} (no limit: Redis grows until the host runs out)")
    ratio, most = used / limit, spec.live.redis_memory_max_ratio
    note("redis memory", f"used {used} of maxmemory {limit} bytes ({ratio:.0%}), policy {facts['maxmemory_policy']}")
    if ratio >= most:
        drift(
            redis.label, f"used_memory / maxmemory expected under {most:g}, found {ratio:.2f} ({used} of {limit} bytes)"
        )


def test_redis_no_evictions(redis, hosts, spec):
    evicted = hosts.facts(redis.key)["redis"]["evicted_keys"]
    most = spec.live.redis_evicted_keys_max
    if evicted is None or evicted > most:
        drift(redis.label, f"evicted_keys expected at most {most}, found {evicted}")


def test_nginx_no_critical_errors(nginx, hosts, spec):
    facts = hosts.facts(nginx.key)
    window = spec.live.log_window_minutes
    recent = [line for when, line in facts["nginx"]["critical_errors"] if when >= facts["now"] - window * 60]
    if recent:
        evidence = ("nginx error.log at crit or worse", "\n".join(recent[-20:]))
        drift(
            nginx.label,
            f"error.log entries at crit or worse in the last {window} min expected 0, found {len(recent)}",
            evidence,
        )


def test_backend_established_connections(container, hosts, spec):
    port = int(container.want.spec.ports[0].split("->")[0].rsplit(":", 1)[1])
    count = hosts.facts(container.want.role)["established"].get(str(port), 0)
    note("established connections", f"{count} on port {port}")
    limit = spec.live.backend_connections_max
    if count >= limit:
        drift(container.label, f"established connections on {port} expected under {limit}, found {count}")


def test_container_no_recent_errors(logging_container, hosts, spec):
    lines = hosts.facts(logging_container.want.role)["error_lines"][logging_container.key]
    window, most = spec.live.log_window_minutes, logging_container.want.spec.errors_logged_max
    if len(lines) > most:
        evidence = (f"docker logs --since {window}m {logging_container.key} | grep -i error", "\n".join(lines[-20:]))
        drift(
            logging_container.label,
            f"error lines in the last {window} min expected at most {most}, found {len(lines)}",
            evidence,
        )


def _stats(container, hosts) -> dict:
    facts = hosts.facts(container.want.role)
    if not (facts["containers"][container.key] or {}).get("running"):
        # no figures exist for a stopped container; test_container_running is the finding that says so
        pytest.skip(f"{container.label}: not running, so no docker stats")
    stats = facts["stats"].get(container.key)
    if stats is None:
        drift(container.label, "docker stats expected figures, found none")
    note("docker stats", f"CPU {stats['cpu_percent']:.2f}%, memory {stats['memory_usage']}")
    return stats


def test_container_cpu_below_limit(container, hosts, spec):
    cpu, most = _stats(container, hosts)["cpu_percent"], spec.live.container_cpu_max_percent
    if cpu >= most:
        drift(container.label, f"CPU (docker stats) expected under {most:g}%, found {cpu:.2f}%")


def test_container_memory_below_limit(container, hosts, spec):
    used, most = _stats(container, hosts)["memory_bytes"], spec.live.container_memory_max
    if used >= most:
        drift(
            container.label,
            f"memory (docker stats) expected under {_mib(most)}, found {_mib(used)}",
        )


def _mib(size: float) -> str:
    return f"{size / 2**20:.1f} MiB"
