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
from viewster_infra.spec.model import EnvironmentSpec, Role

LOG_LINES = 20
NGINX_TIME = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(\w+)\]")
NGINX_LEVELS = ("debug", "info", "notice", "warn", "error", "crit", "alert", "emerg")  # nginx's, least severe first
QUEUE_COLUMNS = "vhost,name,messages_ready,messages_unacknowledged,consumers"
HEADER = re.compile(r"^### ([0-9a-f]{32}) \S+$", re.MULTILINE)  # the first names the probe's token
CPU_SAMPLE_MIN_SECONDS = 0.25  # the two CPU counter reads at least this far apart: a percentage worth reading

# Each running container's CPU counter and memory, read from its cgroup (v1 or v2, whichever the host runs; the
# path from /proc/PID/cgroup, so any cgroup driver and parent): `docker stats` waits about 2 s for its second
# sample, and prints nothing at all when one of its names is missing. Builtins only: no process per read.
CGROUP_SAMPLE = r"""cgroot=/sys/fs/cgroup procroot=/proc
# microseconds since the epoch: bash 5's own clock, or date's where bash is older (Amazon Linux 2's 4.2)
now_us() { if [ -n "$EPOCHREALTIME" ]; then us=${EPOCHREALTIME/./}; else us=$(date +%s%6N); fi; }
sample() {
  local pid line cpu mem uni v usage inactive limit k n m
  for pid in $pids; do
    cpu= mem= uni= v= usage= inactive= limit=
    while IFS= read -r line; do
      case $line in
        *:memory:*) mem=${line#*:memory:} ;;
        0::*) uni=${line#0::} ;;
        *cpuacct*) cpu=${line#*:*:} ;;
      esac
    done 2>/dev/null < $procroot/$pid/cgroup || continue
    if [ -n "$cpu" ] && [ -r "$cgroot/cpuacct$cpu/cpuacct.usage" ]; then
      read -r v < "$cgroot/cpuacct$cpu/cpuacct.usage"
      if [ "$1" = last ]; then
        m=$cgroot/memory$mem
        read -r usage < "$m/memory.usage_in_bytes"; read -r limit < "$m/memory.limit_in_bytes"
        while read -r k n; do [ "$k" = total_inactive_file ] && inactive=$n; done < "$m/memory.stat"
      fi
    elif [ -r "$cgroot$uni/cpu.stat" ]; then
      while read -r k n; do [ "$k" = usage_usec ] && v=${n}000; done < "$cgroot$uni/cpu.stat"
      if [ "$1" = last ]; then
        m=$cgroot$uni
        read -r usage < "$m/memory.current"; read -r limit < "$m/memory.max"
        while read -r k n; do [ "$k" = inactive_file ] && inactive=$n; done < "$m/memory.stat"
      fi
    fi
    now_us
    printf '%s %s %s %s %s %s\n' "$pid" "$us" "${v:--}" "${usage:--}" "${inactive:--}" "${limit:--}"
  done
}"""


def script(
    role: Role,
    reach_targets: dict[str, tuple[str, int]],
    use_sudo: bool,
    log_window_minutes: int = 15,
    rabbitmq_auth: tuple[str, str] | None = None,
) -> str:
    """The probe for one role. reach_targets: key -> (address, port) to test a TCP connect to. rabbitmq_auth:
    the management API's user and password (gather.py: the spec's); None: the API is not asked."""
    q = shlex.quote
    names = " ".join(q(n) for n in role.containers)
    token = secrets.token_hex(16)
    window = log_window_minutes * 60
    lines = [
        # sbin too: an ordinary user's PATH over SSH may lack it (service, nginx), as Debian's sshd sets it
        'PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"',
        'S=""',
        f'if [ "$EUID" != 0 ] && [ {int(use_sudo)} = 1 ]; then S="sudo -n"; fi',  # $EUID: bash's own, no `id` to start
        # A section's header. printf is a builtin: a header costs no process.
        f"section() {{ printf '\\n### {token} %s\\n' \"$1\"; }}",
        CGROUP_SAMPLE,
        "section docker_ps_rc; docker ps -q >/dev/null 2>&1; echo $?",
        # containers only: without --type, a missing container's name that is an image, a volume or a network
        # would answer as that object
        f"inspected=$(docker inspect --type container {names} 2>/dev/null)",
        "section docker_inspect; printf '%s\\n' \"$inspected\"",
        # The running containers' main processes (State.Pid; 0 when not running) and the images they run (their
        # ids): picked out by bash itself, as are the time and every section's header: each process a probe starts
        # is a fork and an exec on the host, and the probe runs on every host of every run.
        'pid=\'"Pid": ([1-9][0-9]*)\'; pids=""; rest=$inspected',
        'while [[ $rest =~ $pid ]]; do pids+=" ${BASH_REMATCH[1]}"; rest=${rest#*"${BASH_REMATCH[0]}"}; done',
        "section cpu_first; now_us; first_sample=$us; sample first",
        'image=\'"Image": "(sha256:[0-9a-f]+)"\'; ids=""; rest=$inspected',
        'while [[ $rest =~ $image ]]; do [[ " $ids " == *" ${BASH_REMATCH[1]} "* ]] || ids+=" ${BASH_REMATCH[1]}";'
        ' rest=${rest#*"${BASH_REMATCH[0]}"}; done',
        'section docker_images; if [ -n "$ids" ]; then docker image inspect $ids 2>/dev/null; fi',
        # the time and the host's UTC offset: logs are written in the host's own time
        "section now; printf '%(%s %z)T\\n' -1",
        "section root_fs; df -P /",
        "section listening; ss -tlnH",
        # established and listening TCP sockets as each container sees them, in its own network namespace:
        # clients that Docker's NAT sends straight to the container never appear among the host's sockets, and
        # with userland-proxy off nothing listens on the host for a published port
        "section container_tcp; for p in $pids; do printf 'pid %s\\n' \"$p\"; "
        'while read -r _ local _ state _; do case $state in 01|0A) printf \'%s %s\\n\' "$state" "$local";; esac; done'
        ' 2>/dev/null < <(cat "/proc/$p/net/tcp" "/proc/$p/net/tcp6" 2>/dev/null); done',
    ]
    for name, container in role.containers.items():
        lines.append(f"section {q('logs:' + name)}; docker logs --tail {LOG_LINES} {q(name)} 2>&1")
        if container.errors_logged_max is not None:  # Backend 에러 로그만: the error lines of the log window
            words = "|".join(re.escape(word) for word in container.error_words)
            lines.append(
                f"section {q('errors:' + name)}; docker logs --since {log_window_minutes}m {q(name)} 2>&1"
                f" | grep -E -i -w {q(f'({words})')}"
            )
    if role.nginx is not None:
        levels = "|".join(NGINX_LEVELS[NGINX_LEVELS.index(role.nginx.error_log_min_level) :])
        lines += [
            "section nginx_service_rc; service nginx status >/dev/null 2>&1; echo $?",
            # nginx -T is nginx -t that also prints the configuration it tested (only when valid): one nginx start
            # for both. The configuration goes straight out (fd 4); what the test said, and its status, after it.
            "section nginx_dump; { said=$($S nginx -T 2>&1 >&4); rc=$?; } 4>&1",
            "section nginx_test; echo $rc; printf '%s\\n' \"$said\"",
            # error.log read from its end back to the start of the log window, whatever its volume: nginx writes
            # its times in the host's own time, so the window's start is written the same way and compared as text
            f"printf -v now '%(%s)T' -1; printf -v since '%(%Y/%m/%d %H:%M:%S)T' $((now - {window}))",
            f'section nginx_error_log; $S tac /var/log/nginx/error.log 2>&1 | awk -v since="$since"'
            f' -v last={LOG_LINES} \'NR <= last {{ print "L " $0 }}'
            f' $1 ~ /^[0-9][0-9][0-9][0-9]\\/[0-9][0-9]\\/[0-9][0-9]$/ && $1 " " $2 < since {{ exit }}'
            f' $3 ~ /^\\[({levels})\\]$/ {{ print "C " $0 }}\'',
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
    if role.rabbitmq is not None and rabbitmq_auth is not None:  # None: the password could not be read, not asked
        # One curl, one connection, for three requests: `--next` starts each one's own options, and each one's
        # --write-out prints the header of the next section once it is done, answered or not (curl reads its \\n).
        user, password = rabbitmq_auth
        options = f"-s -m 5 -u {q(f'{user}:{password}')}"
        api = "http://127.0.0.1:15672/api"
        overview, queues = (f"\\n### {token} {name}\\n" for name in ("rabbitmq_overview", "rabbitmq_queues"))
        lines.append(
            f"section rabbitmq_health; curl {options} -o /dev/null -w '%{{http_code}}{overview}'"
            f" {api}/health/checks/alarms --next {options} -w '{queues}' {api}/overview"
            # every queue's counts and consumers at once (the management API's figures are up to 5 s old)
            f" --next {options} '{api}/queues?columns={QUEUE_COLUMNS}'"
        )
    # the second CPU sample, at least CPU_SAMPLE_MIN_SECONDS after the first
    minimum = int(CPU_SAMPLE_MIN_SECONDS * 1_000_000)
    lines += [
        f"now_us; wait_us=$(( {minimum} - us + first_sample ))",
        'if [ -n "$pids" ] && [ "$wait_us" -gt 0 ]; then sleep "$(printf \'0.%06d\' "$wait_us")"; fi',
        "section cpu_last; sample last",
        "section meminfo; read -r _ total _ < /proc/meminfo; echo $((total * 1024))",
    ]
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
    inspected = _inspected(raw.get("docker_inspect", ""))
    local_images = {i["Id"]: i for i in _json_list(raw.get("docker_images", "")) if isinstance(i, dict) and "Id" in i}
    now, offset = _now(raw.get("now", ""))
    by_pid = {str(c.get("State", {}).get("Pid")): name for name, c in inspected.items()}
    stats = _stats(raw.get("cpu_first", ""), raw.get("cpu_last", ""), _int(raw.get("meminfo")), by_pid)
    facts: dict = {
        "container_runtime_answers": raw.get("docker_ps_rc", "").strip() == "0",
        "containers": {name: _container(inspected.get(name), local_images, now) for name in role.containers},
        "root_fs_used_percent": _used_percent(raw.get("root_fs", "")),
        "listening": _listening(raw.get("listening", "")),
        "logs": {name: raw.get(f"logs:{name}", "") for name in role.containers},
        "error_lines": {
            name: raw.get(f"errors:{name}", "").splitlines()
            for name, container in role.containers.items()
            if container.errors_logged_max is not None
        },
        "stats": stats,
        "now": now,
        "established": _container_sockets(raw.get("container_tcp", ""), by_pid, "01"),
        "container_listening": _container_sockets(raw.get("container_tcp", ""), by_pid, "0A"),
        "reach": {key[len("reach:") :]: value.strip() == "0" for key, value in raw.items() if key.startswith("reach:")}
        | dict.fromkeys(unresolved),  # None: the target's address was not known, so it was not tried
    }
    if role.nginx is not None:
        test_rc, _, test_output = raw.get("nginx_test", "1\n").partition("\n")
        config = nginx_config.parse(nginx_config.split_dump(raw.get("nginx_dump", "")))
        read_back = raw.get("nginx_error_log", "").splitlines()
        facts["nginx"] = {
            "service_running": raw.get("nginx_service_rc", "").strip() == "0",
            "config_valid": test_rc.strip() == "0",
            "test_output": test_output,
            # read from the end: the last lines come first
            "error_log": "\n".join(reversed([line[2:] for line in read_back if line.startswith("L ")])),
            "critical_errors": _critical([line[2:] for line in reversed(read_back) if line.startswith("C ")], offset),
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
        except (ValueError, AttributeError):
            version = None
        facts["rabbitmq"] = {
            "management_health_status": raw.get("rabbitmq_health", "").strip(),
            "version": version,
            "queues": _queues(raw.get("rabbitmq_queues", "")),
        }
    return facts


def _json_list(text: str) -> list:
    try:
        found = json.loads(text.strip() or "[]")
    except ValueError:
        return []
    return found if isinstance(found, list) else []


def _inspected(text: str) -> dict[str, dict]:
    """`docker inspect --type container` by container name. Only what is a container (a Name and a State): an
    older engine, or a CLI without --type, may answer a missing container's name with an image, a volume or a
    network of that name."""
    return {
        entry["Name"].lstrip("/"): entry
        for entry in _json_list(text)
        if isinstance(entry, dict) and isinstance(entry.get("Name"), str) and isinstance(entry.get("State"), dict)
    }


def all_interfaces(address: str) -> bool:
    """Docker's "all interfaces", however a publish says it: no address (`-p 8080:8080` records HostIp ""),
    0.0.0.0, or ::."""
    return address.strip("[]") in ("", "0.0.0.0", "::")


def published(port: str) -> str:
    """A published port by its meaning: "ADDRESS:HOST_PORT->CONTAINER_PORT/PROTO" with every way of saying all
    interfaces written 0.0.0.0 (8080->8080/tcp, :8080->8080/tcp, [::]:8080->8080/tcp); 127.0.0.1 stays itself."""
    host, _, container = port.partition("->")
    address, _, host_port = host.rpartition(":")
    if "/" not in container:
        container += "/tcp"
    return f"{'0.0.0.0' if all_interfaces(address) else address.strip('[]')}:{host_port}->{container}"


CRASH_LOOP_SECONDS = 60  # started again by its restart policy this recently: crash-looping, even if up this instant


def _container(inspected: dict | None, local_images: dict[str, dict], now: int = 0) -> dict | None:
    if inspected is None:
        return None
    ports = sorted(
        {
            published(f"{binding.get('HostIp') or ''}:{binding.get('HostPort') or ''}->{container_port}")
            # configured bindings (HostConfig): a stopped container still shows where it publishes
            for container_port, bindings in ((inspected.get("HostConfig") or {}).get("PortBindings") or {}).items()
            for binding in bindings or []
        }
    )
    state = inspected.get("State") or {}
    # Docker keeps Running true while it waits to start a crashed container again (Restarting true, Pid 0); and
    # between two crashes it is briefly up: a restart by its policy within the last minute is the same loop
    restarts = inspected.get("RestartCount") or 0
    started = _epoch(state.get("StartedAt"))
    restarting = bool(state.get("Restarting")) or (
        restarts > 0 and started is not None and now - started < CRASH_LOOP_SECONDS
    )
    return {
        "running": bool(state.get("Running")) and not restarting,
        "restarting": restarting,
        "restart_count": restarts,
        "exit_code": state.get("ExitCode"),
        "status": state.get("Status"),
        "image": (inspected.get("Config") or {}).get("Image"),
        "image_id": inspected.get("Image"),
        # repository@sha256:digest of the image it runs, as pulled from a registry (docker image inspect)
        "repo_digests": sorted(local_images.get(inspected.get("Image"), {}).get("RepoDigests") or []),
        "started_at": state.get("StartedAt"),
        "ports": ports,
    }


UNLIMITED = 2**60  # cgroup v1's "no limit" is 2^63 rounded down to a page; v2 writes "max"


def _stats(first: str, last: str, host_memory: int | None, by_pid: dict[str, str]) -> dict[str, dict]:
    """CPU and memory per running container, from two reads of its cgroup's counters (CGROUP_SAMPLE), computed as
    `docker stats` does: CPU as the share of one CPU over the interval (100 is one whole core), memory as usage
    less the inactive file cache, the limit the host's memory where none is set."""
    samples = {}
    for line in first.splitlines():
        fields = line.split()
        if len(fields) == 6 and fields[2].isdigit():
            samples[fields[0]] = (int(fields[1]), int(fields[2]))
    found = {}
    for line in last.splitlines():
        pid, when, cpu, usage, inactive, limit = (line.split() + ["-"] * 6)[:6]
        name = by_pid.get(pid)
        if name is None or pid not in samples or not (cpu.isdigit() and usage.isdigit() and when.isdigit()):
            continue  # gone between the reads, or its cgroup unreadable: the container has no figures
        first_when, first_cpu = samples[pid]
        elapsed_us = int(when) - first_when
        memory = int(usage) - (int(inactive) if inactive.isdigit() else 0)
        limit_bytes = int(limit) if limit.isdigit() and int(limit) < UNLIMITED else host_memory
        found[name] = {
            "cpu_percent": (int(cpu) - first_cpu) / (elapsed_us * 1000) * 100 if elapsed_us > 0 else 0.0,
            "memory_bytes": memory,
            "memory_limit_bytes": limit_bytes,
            "memory_usage": f"{_size(memory)} / {_size(limit_bytes)}" if limit_bytes else _size(memory),
            "sampled_seconds": elapsed_us / 1_000_000,
        }
    return found


def _size(size: float) -> str:
    """As `docker stats` prints memory: binary units, two decimals below GiB-scale numbers' three digits."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.4g}{unit}" if unit != "B" else f"{int(size)}B"
        size /= 1024
    return f"{size}GiB"


def _epoch(rfc3339: str | None) -> int | None:
    """Docker's times ("2026-12-06T22:41:12.123456789Z", nanoseconds) as epoch seconds."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)", rfc3339 or "")
    if match is None or match.group(1).startswith("0001"):
        return None
    return int(datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())


def _now(text: str) -> tuple[int, int]:
    """The host's clock and UTC offset in seconds ("1796597093 +0900" -> (1796597093, 32400))."""
    epoch, _, zone = text.strip().partition(" ")
    match = re.fullmatch(r"([+-])(\d\d)(\d\d)", zone)
    offset = (
        0
        if match is None
        else (1 if match.group(1) == "+" else -1) * (int(match.group(2)) * 3600 + int(match.group(3)) * 60)
    )
    return (int(epoch) if epoch.isdigit() else 0), offset


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


def _container_sockets(container_tcp: str, by_pid: dict[str, str], state: str) -> dict[str, dict[str, int]]:
    """TCP sockets in `state` ("01" established, "0A" listening) per container, counted by the container's own
    local port (as text: facts travel as JSON), from its network namespace's /proc/PID/net/tcp and tcp6."""
    counts: dict[str, dict[str, int]] = {}
    current = None
    for line in container_tcp.splitlines():
        if line.startswith("pid "):
            current = counts.setdefault(by_pid.get(line[4:].strip(), ""), {})
        elif current is not None and line.startswith(f"{state} ") and ":" in line:
            port = str(int(line.rpartition(":")[2], 16))
            current[port] = current.get(port, 0) + 1
    counts.pop("", None)
    return counts


def _critical(lines: list[str], offset: int) -> list[list]:
    """error.log entries at the spec's level or worse: [epoch seconds, line]. nginx writes the host's own time:
    `offset` (seconds east of UTC, from the host) turns it into epoch seconds."""
    found = []
    for line in lines:
        match = NGINX_TIME.match(line)
        if match:
            local = datetime.strptime(match.group(1), "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC)
            found.append([int(local.timestamp()) - offset, line])
    return found
