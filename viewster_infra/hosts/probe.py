"""One shell script per host that reports everything its checks need, in one SSH round trip.

Every section starts with a line `### TOKEN NAME`, TOKEN random for each probe, so that no command's output can pass
for a header. Output goes out as the commands print it: no encoding process per section, which on a host costs a
fork and an exec each. The script only reads: it runs `docker ps/inspect/logs/exec redis-cli`, `nginx -T`,
`service nginx status`, `ss`, `df`, `tail`, `curl` and TCP connects. `parse` turns its output into the host's facts,
keyed by spec names.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
from datetime import UTC, datetime

from viewster_infra.hosts import nginx_config
from viewster_infra.spec.model import BYTE_SIZE, EnvironmentSpec, Role

LOG_LINES = 20
ERROR_LOG_LINES = 500  # enough to cover the log window on a busy host; the report shows the last LOG_LINES
NGINX_TIME = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(\w+)\]")
CRITICAL = {"crit", "alert", "emerg"}
QUEUE_COLUMNS = "vhost,name,messages_ready,messages_unacknowledged,consumers"
HEADER = re.compile(r"^### ([0-9a-f]{32}) \S+$", re.MULTILINE)  # the first names the probe's token


def script(role: Role, reach_targets: dict[str, tuple[str, int]], use_sudo: bool, log_window_minutes: int = 15) -> str:
    """The probe for one role. reach_targets: key -> (address, port) to test a TCP connect to."""
    q = shlex.quote
    names = " ".join(q(n) for n in role.containers)
    token = secrets.token_hex(16)
    lines = [
        'S=""',
        f'if [ "$EUID" != 0 ] && [ {int(use_sudo)} = 1 ]; then S="sudo -n"; fi',  # $EUID: bash's own, no `id` to start
        # A section's header. printf is a builtin: a header costs no process.
        f"section() {{ printf '\\n### {token} %s\\n' \"$1\"; }}",
        # docker stats samples for about a second: started first, in the background, read last, so the sampling
        # overlaps the rest of the probe instead of adding to it.
        f"exec 3< <(docker stats --no-stream --format '{{{{json .}}}}' {names} 2>/dev/null)",
        "section docker_ps_rc; docker ps -q >/dev/null 2>&1; echo $?",
        f"inspected=$(docker inspect {names} 2>/dev/null)",
        "section docker_inspect; printf '%s\\n' \"$inspected\"",
        # The images the containers run (their ids from the inspect above): RepoDigests say which registry digest.
        # Picked out by bash itself, as are the time and every section's header: each process a probe starts is a
        # fork and an exec on the host, and the probe runs on every host of every run.
        'image=\'"Image": "(sha256:[0-9a-f]+)"\'; ids=""; rest=$inspected',
        'while [[ $rest =~ $image ]]; do [[ " $ids " == *" ${BASH_REMATCH[1]} "* ]] || ids+=" ${BASH_REMATCH[1]}";'
        ' rest=${rest#*"${BASH_REMATCH[0]}"}; done',
        'section docker_images; if [ -n "$ids" ]; then docker image inspect $ids 2>/dev/null; fi',
        "section now; printf '%(%s)T\\n' -1",
        "section root_fs; df -P /",
        # every TCP socket with its state, once: the established ones and the listening ones are told apart here
        "section sockets; ss -tanH",
    ]
    for name, container in role.containers.items():
        lines.append(f"section {q('logs:' + name)}; docker logs --tail {LOG_LINES} {q(name)} 2>&1")
        if container.errors_logged_max is not None:  # Backend 에러 로그만: the error lines of the log window
            since = f"{log_window_minutes}m"
            lines.append(f"section {q('errors:' + name)}; docker logs --since {since} {q(name)} 2>&1 | grep -i error")
    if role.nginx is not None:
        lines += [
            "section nginx_service_rc; service nginx status >/dev/null 2>&1; echo $?",
            # nginx -T is nginx -t that also prints the configuration it tested (only when valid): one nginx start
            # for both. The configuration goes straight out (fd 4); what the test said, and its status, after it.
            "section nginx_dump; { said=$($S nginx -T 2>&1 >&4); rc=$?; } 4>&1",
            "section nginx_test; echo $rc; printf '%s\\n' \"$said\"",
            f"section nginx_error_log; $S tail -n {ERROR_LOG_LINES} /var/log/nginx/error.log 2>&1",
        ]
    for key, (address, port) in reach_targets.items():
        if address is None:
            continue
        connect = q(f"</dev/tcp/{address}/{port}")
        lines.append(f"section {q('reach:' + key)}; timeout 3 bash -c {connect} 2>/dev/null; echo $?")
    if role.redis is not None:
        container = q(role.redis.container)
        # One `docker exec` (on a real host each is a runc start) and one redis-cli for both commands, read from
        # stdin: no shell needed in the image (a distroless one has none), and redis-cli starts once (OpenSSL's
        # start makes that about 3 ms). PING's answer comes first, on one line; then INFO's.
        lines.append(f"section redis; printf 'PING\\nINFO\\n' | docker exec -i {container} redis-cli 2>&1")
    if role.rabbitmq is not None:
        # One curl, one connection, for three requests: `--next` starts each one's own options, and each one's
        # --write-out prints the header of the next section once it is done, answered or not (curl reads its \\n).
        options = "-s -m 5 -u guest:guest"
        api = "http://127.0.0.1:15672/api"
        overview, queues = (f"\\n### {token} {name}\\n" for name in ("rabbitmq_overview", "rabbitmq_queues"))
        lines.append(
            f"section rabbitmq_health; curl {options} -o /dev/null -w '%{{http_code}}{overview}'"
            f" {api}/health/checks/alarms --next {options} -w '{queues}' {api}/overview"
            # every queue's counts and consumers at once (the management API's figures are up to 5 s old)
            f" --next {options} '{api}/queues?columns={QUEUE_COLUMNS}'"
        )
    lines.append("section docker_stats; IFS= read -r -d '' stats <&3; printf '%s' \"$stats\"")  # read: no cat to start
    return "\n".join(lines) + "\n"


def sections(output: bytes | str) -> dict[str, str]:
    """Each section's output by name, exactly as its command printed it (bytes that are not UTF-8 replaced): each
    header is printed after a newline of its own, which the split takes with it."""
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    first = HEADER.search(output)
    if first is None:
        return {}
    parts = re.split(rf"\n### {first.group(1)} (\S+)\n", "\n" + output[first.start() :])
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def parse(output: bytes | str, spec: EnvironmentSpec, role_key: str, unresolved: list[str] = ()) -> dict:
    role = spec.hosts.roles[role_key]
    raw = sections(output)
    inspected = {c["Name"].lstrip("/"): c for c in json.loads(raw.get("docker_inspect", "").strip() or "[]")}
    local_images = {i["Id"]: i for i in json.loads(raw.get("docker_images", "").strip() or "[]")}
    facts: dict = {
        "container_runtime_answers": raw.get("docker_ps_rc", "").strip() == "0",
        "containers": {name: _container(inspected.get(name), local_images) for name in role.containers},
        "root_fs_used_percent": _used_percent(raw.get("root_fs", "")),
        "listening": _listening(raw.get("sockets", "")),
        "logs": {name: raw.get(f"logs:{name}", "") for name in role.containers},
        "error_lines": {
            name: raw.get(f"errors:{name}", "").splitlines()
            for name, container in role.containers.items()
            if container.errors_logged_max is not None
        },
        "stats": _stats(raw.get("docker_stats", "")),
        "now": int(raw.get("now", "0").strip() or 0),
        "established": _established(raw.get("sockets", "")),
        "reach": {key[len("reach:") :]: value.strip() == "0" for key, value in raw.items() if key.startswith("reach:")}
        | dict.fromkeys(unresolved),  # None: the target's address was not known, so it was not tried
    }
    if role.nginx is not None:
        test_rc, _, test_output = raw.get("nginx_test", "1\n").partition("\n")
        config = nginx_config.parse(nginx_config.split_dump(raw.get("nginx_dump", "")))
        facts["nginx"] = {
            "service_running": raw.get("nginx_service_rc", "").strip() == "0",
            "config_valid": test_rc.strip() == "0",
            "test_output": test_output,
            "error_log": "\n".join(raw.get("nginx_error_log", "").splitlines()[-LOG_LINES:]),
            "critical_errors": _critical(raw.get("nginx_error_log", "")),
            "sites": {
                key: nginx_config.site_settings(config, spec.route53.records[key].name) for key in role.nginx.sites
            },
            "redirects": {
                key: nginx_config.site_settings(config, spec.route53.records[key].name, port=80)
                for key in role.nginx.sites
            },
        }
    if role.redis is not None:
        ping, _, answered = raw.get("redis", "").partition("\n")
        info = dict(line.split(":", 1) for line in answered.splitlines() if ":" in line)
        facts["redis"] = {
            "ping": ping.strip(),
            "answered": bool(info),  # INFO answered: without it the figures below are not known, not zero
            "version": info.get("redis_version", "").strip() or None,
            "used_memory_human": info.get("used_memory_human", "").strip() or None,
            "used_memory": _int(info.get("used_memory")),
            "maxmemory": _int(info.get("maxmemory")),
            "maxmemory_policy": info.get("maxmemory_policy", "").strip() or None,
            "evicted_keys": _int(info.get("evicted_keys")),
        }
    if role.rabbitmq is not None:
        overview = raw.get("rabbitmq_overview", "")
        try:
            version = json.loads(overview).get("rabbitmq_version")
        except ValueError:
            version = None
        facts["rabbitmq"] = {
            "management_health_status": raw.get("rabbitmq_health", "").strip(),
            "version": version,
            "queues": _queues(raw.get("rabbitmq_queues", "")),
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


def _used_percent(df_output: str) -> float | None:
    """`df -P /`: a header line, then the filesystem's line, whose Capacity column is its used percent."""
    lines = df_output.strip().splitlines()
    match = re.search(r"\s(\d+)%\s", f" {lines[-1]} ") if len(lines) > 1 else None
    return float(match.group(1)) if match else None


def _sockets(ss_output: str, state: str) -> list[str]:
    """The local address:port of each TCP socket in `state`: `ss -tanH` prints State Recv-Q Send-Q Local Peer."""
    return [fields[3] for fields in map(str.split, ss_output.splitlines()) if len(fields) >= 4 and fields[0] == state]


def _listening(ss_output: str) -> list[list]:
    found = []
    for local in _sockets(ss_output, "LISTEN"):
        address, _, port = local.rpartition(":")
        if port.isdigit():
            found.append([address.strip("[]"), int(port)])
    return sorted(found)


def _int(text: str | None) -> int | None:
    return int(text.strip()) if text and text.strip().isdigit() else None


def _established(ss_output: str) -> dict[str, int]:
    """Established TCP connections by local port, the port as text (facts travel as JSON, whose keys are text)."""
    counts: dict[str, int] = {}
    for local in _sockets(ss_output, "ESTAB"):
        port = local.rpartition(":")[2]
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
