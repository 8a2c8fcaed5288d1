"""One shell script per host that reports everything its checks need, in one SSH round trip.

Every section starts with a line `### NAME`; multi-line output is base64 on one line. The script only reads: it runs
`docker ps/inspect/logs/exec redis-cli`, `nginx -t/-T`, `service nginx status`, `ss`, `df`, `tail`, `curl` and TCP
connects. `parse` turns its output into the host's facts, keyed by spec names.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from datetime import UTC, datetime

from viewster_infra.hosts import nginx_config
from viewster_infra.spec.model import BYTE_SIZE, EnvironmentSpec, Role

LOG_LINES = 20
ERROR_LOG_LINES = 500  # enough to cover the log window on a busy host; the report shows the last LOG_LINES
NGINX_TIME = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(\w+)\]")
CRITICAL = {"crit", "alert", "emerg"}
QUEUE_COLUMNS = "vhost,name,messages_ready,messages_unacknowledged,consumers"
SECTION = re.compile(r"^### (\S+)$", re.MULTILINE)


def script(role: Role, reach_targets: dict[str, tuple[str, int]], use_sudo: bool, log_window_minutes: int = 15) -> str:
    """The probe for one role. reach_targets: key -> (address, port) to test a TCP connect to."""
    q = shlex.quote
    names = " ".join(q(n) for n in role.containers)
    lines = [
        'S=""',
        f'if [ "$(id -u)" != 0 ] && [ {int(use_sudo)} = 1 ]; then S="sudo -n"; fi',
        "b64() { base64 -w0; echo; }",
        # docker stats samples for about a second: started first, in the background, read last, so the sampling
        # overlaps the rest of the probe instead of adding to it.
        f"exec 3< <(docker stats --no-stream --format '{{{{json .}}}}' {names} 2>/dev/null | b64)",
        "echo '### docker_ps_rc'; docker ps -q >/dev/null 2>&1; echo $?",
        f"inspected=$(docker inspect {names} 2>/dev/null)",
        "echo '### docker_inspect'; printf '%s' \"$inspected\" | b64",
        # The images the containers run (their ids from the inspect above): RepoDigests say which registry digest.
        'ids=$(echo "$inspected" | sed -n \'s/^ *"Image": "\\(sha256:[0-9a-f]*\\)".*/\\1/p\' | sort -u)',
        "echo '### docker_images'; if [ -n \"$ids\" ]; then docker image inspect $ids 2>/dev/null | b64; else echo; fi",
        "echo '### now'; date -u +%s",
        "echo '### root_fs'; df -P / | tail -n 1",
        "echo '### established'; ss -tnH state established | b64",
        "echo '### listening'; ss -ltnH | b64",
    ]
    for name, container in role.containers.items():
        lines.append(f"echo '### logs:{name}'; docker logs --tail {LOG_LINES} {q(name)} 2>&1 | b64")
        if container.errors_logged_max is not None:  # Backend 에러 로그만: the error lines of the log window
            since = f"{log_window_minutes}m"
            lines.append(f"echo '### errors:{name}'; docker logs --since {since} {q(name)} 2>&1 | grep -i error | b64")
    if role.nginx is not None:
        lines += [
            "echo '### nginx_service_rc'; service nginx status >/dev/null 2>&1; echo $?",
            "echo '### nginx_test'; out=$($S nginx -t 2>&1); echo $?; echo \"$out\" | b64",
            "echo '### nginx_dump'; $S nginx -T 2>/dev/null | b64",
            f"echo '### nginx_error_log'; $S tail -n {ERROR_LOG_LINES} /var/log/nginx/error.log 2>&1 | b64",
        ]
    for key, (address, port) in reach_targets.items():
        if address is None:
            continue
        lines.append(
            f"echo '### reach:{key}'; timeout 3 bash -c {q(f'</dev/tcp/{address}/{port}')} 2>/dev/null; echo $?"
        )
    if role.redis is not None:
        container = q(role.redis.container)
        lines += [
            f"echo '### redis_ping'; docker exec {container} redis-cli ping 2>&1 | head -n 1",
            f"echo '### redis_info'; docker exec {container} redis-cli info 2>&1 | b64",
        ]
    if role.rabbitmq is not None:
        curl = "curl -s -m 5 -u guest:guest"
        api = "http://127.0.0.1:15672/api"
        lines += [
            f"echo '### rabbitmq_health'; {curl} -o /dev/null -w '%{{http_code}}' {api}/health/checks/alarms; echo",
            f"echo '### rabbitmq_overview'; {curl} {api}/overview | b64",
            # every queue's counts and consumers at once (the management API's figures are up to 5 s old)
            f"echo '### rabbitmq_queues'; {curl} '{api}/queues?columns={QUEUE_COLUMNS}' | b64",
        ]
    lines.append("echo '### docker_stats'; cat <&3")
    return "\n".join(lines) + "\n"


def sections(output: str) -> dict[str, str]:
    parts = SECTION.split(output)
    return {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}


def _decode(text: str) -> str:
    return base64.b64decode(text.strip() or b"").decode(errors="replace")


def parse(output: str, spec: EnvironmentSpec, role_key: str, unresolved: list[str] = ()) -> dict:
    role = spec.hosts.roles[role_key]
    raw = sections(output)
    inspected = {c["Name"].lstrip("/"): c for c in json.loads(_decode(raw.get("docker_inspect", "")).strip() or "[]")}
    local_images = {i["Id"]: i for i in json.loads(_decode(raw.get("docker_images", "")).strip() or "[]")}
    facts: dict = {
        "container_runtime_answers": raw.get("docker_ps_rc") == "0",
        "containers": {name: _container(inspected.get(name), local_images) for name in role.containers},
        "root_fs_used_percent": _used_percent(raw.get("root_fs", "")),
        "listening": _listening(_decode(raw.get("listening", ""))),
        "logs": {name: _decode(raw.get(f"logs:{name}", "")) for name in role.containers},
        "error_lines": {
            name: _decode(raw.get(f"errors:{name}", "")).splitlines()
            for name, container in role.containers.items()
            if container.errors_logged_max is not None
        },
        "stats": _stats(_decode(raw.get("docker_stats", ""))),
        "now": int(raw.get("now", "0").strip() or 0),
        "established": _established(_decode(raw.get("established", ""))),
        "reach": {key[len("reach:") :]: value == "0" for key, value in raw.items() if key.startswith("reach:")}
        | dict.fromkeys(unresolved),  # None: the target's address was not known, so it was not tried
    }
    if role.nginx is not None:
        test_rc, _, test_output = raw.get("nginx_test", "1\n").partition("\n")
        config = nginx_config.parse(nginx_config.split_dump(_decode(raw.get("nginx_dump", ""))))
        facts["nginx"] = {
            "service_running": raw.get("nginx_service_rc") == "0",
            "config_valid": test_rc.strip() == "0",
            "test_output": _decode(test_output),
            "error_log": "\n".join(_decode(raw.get("nginx_error_log", "")).splitlines()[-LOG_LINES:]),
            "critical_errors": _critical(_decode(raw.get("nginx_error_log", ""))),
            "sites": {
                key: nginx_config.site_settings(config, spec.route53.records[key].name) for key in role.nginx.sites
            },
            "redirects": {
                key: nginx_config.site_settings(config, spec.route53.records[key].name, port=80)
                for key in role.nginx.sites
            },
        }
    if role.redis is not None:
        info = dict(line.split(":", 1) for line in _decode(raw.get("redis_info", "")).splitlines() if ":" in line)
        facts["redis"] = {
            "ping": raw.get("redis_ping", "").strip(),
            "version": info.get("redis_version", "").strip() or None,
            "used_memory_human": info.get("used_memory_human", "").strip() or None,
            "used_memory": _int(info.get("used_memory")),
            "maxmemory": _int(info.get("maxmemory")),
            "maxmemory_policy": info.get("maxmemory_policy", "").strip() or None,
            "evicted_keys": _int(info.get("evicted_keys")),
        }
    if role.rabbitmq is not None:
        overview = _decode(raw.get("rabbitmq_overview", ""))
        try:
            version = json.loads(overview).get("rabbitmq_version")
        except ValueError:
            version = None
        facts["rabbitmq"] = {
            "management_health_status": raw.get("rabbitmq_health", "").strip(),
            "version": version,
            "queues": _queues(_decode(raw.get("rabbitmq_queues", ""))),
        }
    return facts


def _container(inspected: dict | None, local_images: dict[str, dict]) -> dict | None:
    if inspected is None:
        return None
    ports = sorted(
        f"{binding['HostIp']}:{binding['HostPort']}->{container_port}"
        # configured bindings (HostConfig): a stopped container still shows where it publishes
        for container_port, bindings in (inspected.get("HostConfig", {}).get("PortBindings") or {}).items()
        for binding in bindings or []
    )
    state = inspected.get("State", {})
    return {
        "running": bool(state.get("Running")),
        "restarting": bool(state.get("Restarting")),
        "restart_count": inspected.get("RestartCount", 0),
        "status": state.get("Status"),
        "image": inspected.get("Config", {}).get("Image"),
        "image_id": inspected.get("Image"),
        # repository@sha256:digest of the image it runs, as pulled from a registry (docker image inspect)
        "repo_digests": sorted(local_images.get(inspected.get("Image"), {}).get("RepoDigests") or []),
        "started_at": state.get("StartedAt"),
        "ports": ports,
    }


def _stats(output: str) -> dict[str, dict]:
    """`docker stats --no-stream --format '{{json .}}'` by container name: CPU percent and memory in bytes."""
    found = {}
    for line in output.splitlines():
        try:
            row = json.loads(line)
            used, _, limit = row["MemUsage"].partition(" / ")
            found[row["Name"]] = {
                "cpu_percent": float(row["CPUPerc"].rstrip("%")),
                "memory_bytes": int(BYTE_SIZE.validate_python(used.strip())),
                "memory_limit_bytes": int(BYTE_SIZE.validate_python(limit.strip())),
                "memory_usage": row["MemUsage"],
            }
        except (ValueError, KeyError, TypeError):
            continue  # a row that is not stats (the daemon's errors) leaves the container without figures
    return found


def _queues(listing: str) -> dict[str, dict] | None:
    """/api/queues by queue name (the default vhost's; others as vhost/name), or None when the API gave no list."""
    try:
        queues = json.loads(listing)
    except ValueError:
        return None
    if not isinstance(queues, list):
        return None
    return {
        (q["name"] if q.get("vhost", "/") == "/" else f"{q['vhost']}/{q['name']}"): {
            "messages_ready": q.get("messages_ready"),
            "messages_unacknowledged": q.get("messages_unacknowledged"),
            "consumers": q.get("consumers"),
        }
        for q in queues
    }


def _used_percent(df_line: str) -> float | None:
    match = re.search(r"(\d+)%", df_line)
    return float(match.group(1)) if match else None


def _listening(ss_output: str) -> list[list]:
    found = []
    for line in ss_output.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            address, _, port = fields[3].rpartition(":")
            if port.isdigit():
                found.append([address.strip("[]"), int(port)])
    return sorted(found)


def _int(text: str | None) -> int | None:
    return int(text.strip()) if text and text.strip().isdigit() else None


def _established(ss_output: str) -> dict[str, int]:
    """Established TCP connections by local port, the port as text (facts travel as JSON, whose keys are text):
    `ss -tnH state established` prints Recv-Q Send-Q Local Peer."""
    counts: dict[str, int] = {}
    for line in ss_output.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            port = fields[2].rpartition(":")[2]
            if port.isdigit():
                counts[port] = counts.get(port, 0) + 1
    return counts


def _critical(error_log: str) -> list[list]:
    """error.log entries at crit or worse: [epoch seconds (UTC, as the hosts keep time), line]."""
    found = []
    for line in error_log.splitlines():
        match = NGINX_TIME.match(line)
        if match and match.group(2) in CRITICAL:
            when = datetime.strptime(match.group(1), "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC)
            found.append([int(when.timestamp()), line])
    return found
