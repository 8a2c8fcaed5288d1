"""The `docker` command on the sandbox's hosts: a stand-in, because no container engine can run on these machines.

Each "container" is a real process started from its image's program (images.py) with its published ports bound
where Docker would publish them. State lives in /var/lib/docker-standin (private to the host). A container is
running exactly while its process lives, so stopping it, killing it or breaking it shows in `docker ps` the way it
would on a real host. Only what the suite and its tests use is implemented; anything else exits 125 saying so.

Every `docker` command a probe sends runs this program's `main`: in a fork of the host's daemon
(docker_daemon.py), which has it loaded, or started by the client itself where the daemon cannot serve it. So it
starts small: plain os file access instead of pathlib, and what only some commands need (subprocess, datetime, the
image table) imported by those commands; the client imports it (bytecode cached) with -S. A call through the
daemon costs about 4 ms of CPU, one started by itself about 16 (bare Python: 7 ms).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time

STATE = "/var/lib/docker-standin"
# Every process of a container carries its id in this variable: the stand-in's cgroup, so `docker stats` counts the
# container's processes (and what `docker exec` started in it) and nothing else on the machine.
MEMBER = "DOCKER_STANDIN_CONTAINER"
STATS_INTERVAL_SECONDS = 0.5  # Docker's --no-stream compares two samples about a second apart


def main(argv: list[str]) -> int:
    if not argv:
        return _unsupported("")
    command, args = argv[0], argv[1:]
    handler = COMMANDS.get(command)
    return handler(args) if handler else _unsupported(command)


def _unsupported(command: str) -> int:
    print(f"docker stand-in: '{command}' is not implemented here (sandbox)", file=sys.stderr)
    return 125


# -- state -------------------------------------------------------------------------------------------------------


def _read(path: str, errors: str | None = None) -> str:
    with open(path, encoding="utf-8", errors=errors) as file:
        return file.read()


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)


def _state(name: str) -> str:
    return os.path.join(STATE, name)


def _load(name: str) -> dict | None:
    path = _state(f"{name}.json")
    return json.loads(_read(path)) if os.path.exists(path) else None


def _save(container: dict) -> None:
    os.makedirs(STATE, exist_ok=True)
    _write(_state(f"{container['name']}.json"), json.dumps(container))


def _all() -> list[dict]:
    names = [n for n in os.listdir(STATE) if n.endswith(".json")] if os.path.isdir(STATE) else []
    return sorted((json.loads(_read(_state(n))) for n in names), key=lambda c: c["created"])


def _alive(container: dict) -> bool:
    pid = container.get("pid")
    if not pid:
        return False
    try:
        stat = _read(f"/proc/{pid}/stat")
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0] != "Z" and fields[19] == container["proc_start"]


def _find(ref: str) -> dict | None:
    return _load(ref) or next((c for c in _all() if c["id"].startswith(ref)), None)


def _local_images() -> list[dict]:
    path = _state("images/index.json")  # beside, not among, the containers
    return json.loads(_read(path)) if os.path.exists(path) else []


def _image(ref: str) -> dict | None:
    """A local image by repo:tag, repo@digest or id, as Docker resolves a reference (no pull: none can happen here)."""
    return _match(_local_images(), ref)


def _match(images: list[dict], ref: str) -> dict | None:
    for image in images:
        if ref in image["RepoTags"] or ref in image["RepoDigests"] or image["Id"] in (ref, f"sha256:{ref}"):
            return image
    return None


# -- commands ----------------------------------------------------------------------------------------------------


def run(args: list[str]) -> int:
    name, ports, env, detach = None, [], {}, False
    rest = list(args)
    while rest and rest[0].startswith("-"):
        flag = rest.pop(0)
        if flag in ("-d", "--detach"):
            detach = True
        elif flag == "--name":
            name = rest.pop(0)
        elif flag in ("-p", "--publish"):
            ports.append(_parse_publish(rest.pop(0)))
        elif flag in ("-e", "--env"):
            key, _, value = rest.pop(0).partition("=")
            env[key] = value
        elif flag == "--restart":
            rest.pop(0)
        else:
            return _unsupported(f"run {flag}")
    if not rest or not name or not detach:
        print("docker stand-in: run needs -d, --name and an image", file=sys.stderr)
        return 125
    if _load(name) is not None:
        print(
            f'docker: Error response from daemon: Conflict. The container name "/{name}" is already in use.',
            file=sys.stderr,
        )
        return 125
    image = rest[0]
    local = _image(image)
    if local is None:
        print(f"docker: Error response from daemon: pull access denied for {image} (not pulled)", file=sys.stderr)
        return 125
    container = {
        "id": os.urandom(32).hex(),
        "name": name,
        "image": image,
        "image_id": local["Id"],
        "ports": ports,
        "env": env,
        "created": _now().isoformat(),
        "restart_count": 0,
    }
    _start(container)
    print(container["id"])
    return 0


def _parse_publish(value: str) -> dict:
    """-p [ip:]host_port:container_port[/proto]"""
    spec, _, proto = value.partition("/")
    parts = spec.split(":")
    host_ip = parts[0] if len(parts) == 3 else "0.0.0.0"
    return {"host_ip": host_ip, "host_port": int(parts[-2]), "container_port": int(parts[-1]), "proto": proto or "tcp"}


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _start(container: dict) -> None:
    import subprocess

    from viewster_infra.sandbox.hosts import images

    program = images.program_for(container["image"], container["ports"], container["env"])
    process = subprocess.Popen(
        program.argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, **program.env, **{MEMBER: container["id"]}),
        start_new_session=True,
        cwd="/",
    )
    # Its output goes to the log with each line's time (log_relay.py); the relay ends when the container's last
    # process does (end of its output).
    subprocess.Popen(
        [sys.executable, "-m", "viewster_infra.sandbox.hosts.log_relay", _state(f"{container['name']}.log")],
        stdin=process.stdout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd="/",
    )
    process.stdout.close()
    container["pid"] = process.pid
    container["proc_start"] = _read(f"/proc/{process.pid}/stat").rsplit(")", 1)[1].split()[19]
    container["started"] = _now().isoformat()
    container.pop("finished", None)
    _save(container)


def start(args: list[str]) -> int:
    for ref in args:
        container = _find(ref)
        if container is None:
            return _no_such(ref)
        if not _alive(container):
            _start(container)
        print(ref)
    return 0


def restart(args: list[str]) -> int:
    for ref in (a for a in args if not a.startswith("-")):
        container = _find(ref)
        if container is None:
            return _no_such(ref)
        _kill(container)
        _start(container)
        print(ref)
    return 0


def stop(args: list[str]) -> int:
    for ref in (a for a in args if not a.startswith("-")):
        container = _find(ref)
        if container is None:
            return _no_such(ref)
        _kill(container)
        print(ref)
    return 0


def _kill(container: dict) -> None:
    import signal

    if _alive(container):
        os.killpg(container["pid"], signal.SIGTERM)
        for _ in range(100):
            if not _alive(container):
                break
            time.sleep(0.05)
        else:
            os.killpg(container["pid"], signal.SIGKILL)
    container["finished"] = _now().isoformat()
    _save(container)


def rm(args: list[str]) -> int:
    force = any(a in ("-f", "--force") for a in args)
    for ref in (a for a in args if not a.startswith("-")):
        container = _find(ref)
        if container is None:
            return _no_such(ref)
        if _alive(container) and not force:
            print(f"Error response from daemon: cannot remove container {ref}: container is running", file=sys.stderr)
            return 1
        _kill(container)
        os.unlink(_state(f"{container['name']}.json"))
        if os.path.exists(_state(f"{container['name']}.log")):
            os.unlink(_state(f"{container['name']}.log"))
        print(ref)
    return 0


def rename(args: list[str]) -> int:
    old, new = args
    container = _find(old)
    if container is None:
        return _no_such(old)
    os.unlink(_state(f"{container['name']}.json"))
    log = _state(f"{container['name']}.log")
    if os.path.exists(log):
        os.rename(log, _state(f"{new}.log"))
    container["name"] = new
    _save(container)
    return 0


def logs(args: list[str]) -> int:
    """docker logs [--tail N] [--since 15m|RFC3339] [-t|--timestamps] NAME"""
    tail = int(args[args.index("--tail") + 1]) if "--tail" in args else None
    since = _since(args[args.index("--since") + 1]) if "--since" in args else None
    stamped = any(a in ("-t", "--timestamps") for a in args)
    container = _find(args[-1])
    if container is None:
        return _no_such(args[-1])
    lines = []
    from datetime import datetime

    for line in _read(_state(f"{container['name']}.log"), errors="replace").splitlines():
        written, _, text = line.partition(" ")
        if since is None or datetime.fromisoformat(written) >= since:
            lines.append(line if stamped else text)
    print("\n".join(lines[-tail:] if tail is not None else lines))
    return 0


def _since(value: str):
    """Docker's --since: a duration back from now (90s, 15m, 2h) or a time."""
    from datetime import datetime, timedelta

    match = re.fullmatch(r"(\d+)([smh])", value)
    if match:
        seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]
        return _now() - timedelta(seconds=seconds)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def exec_(args: list[str]) -> int:
    """docker exec [-d] [-i] [-t] NAME COMMAND...: the command runs as one of the container's processes."""
    import subprocess

    detach = any(a in ("-d", "--detach") for a in args)
    rest = [a for a in args if a not in ("-i", "-t", "-it", "-ti", "-d", "--detach")]
    container = _find(rest[0])
    if container is None:
        return _no_such(rest[0])
    if not _alive(container):
        print(f"Error response from daemon: container {rest[0]} is not running", file=sys.stderr)
        return 1
    env = dict(os.environ, **{MEMBER: container["id"]})
    if detach:
        subprocess.Popen(
            rest[1:],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd="/",
        )
        return 0
    return subprocess.run(rest[1:], env=env).returncode


def stats(args: list[str]) -> int:
    """docker stats --no-stream [--format T] [NAME...]: CPU and memory of each running container's processes.

    CPU% as Docker computes it (the container's CPU time over the machine's, times the number of CPUs, between two
    samples), memory as the resident memory of its processes against the host's memory (no container has a limit).
    """
    sampling = stats_start(args)
    if isinstance(sampling, int):
        return sampling
    time.sleep(STATS_INTERVAL_SECONDS)
    return stats_finish(sampling)


def stats_start(args: list[str]) -> tuple | int:
    """The first sample; an exit status instead when there is nothing to sample. The daemon waits for the second
    without a process of its own (docker_daemon.py); run by itself, `stats` sleeps."""
    if "--no-stream" not in args:
        return _unsupported("stats (only --no-stream)")
    template, refs = _format_option([a for a in args if a != "--no-stream"])
    containers = [c for c in (_find(r) for r in refs) if c] if refs else _all()
    running = [c for c in containers if _alive(c)]
    return template, running, _sample(running), _system_ticks()


def stats_finish(sampling: tuple) -> int:
    """The second sample, STATS_INTERVAL_SECONDS after stats_start's, and the rows printed."""
    template, running, before, system_before = sampling
    after, system_delta = _sample(running), _system_ticks() - system_before
    total = _meminfo_bytes("MemTotal")
    rows = []
    for container in running:
        ticks, used, pids = after[container["id"]]
        cpu = (ticks - before[container["id"]][0]) / max(system_delta, 1) * os.cpu_count() * 100
        rows.append(
            {
                "BlockIO": "0B / 0B",
                "CPUPerc": f"{max(cpu, 0):.2f}%",
                "Container": container["id"][:12],
                "ID": container["id"][:12],
                "MemPerc": f"{used / total * 100:.2f}%",
                "MemUsage": f"{_human(used)} / {_human(total)}",
                "Name": container["name"],
                "NetIO": "0B / 0B",
                "PIDs": str(pids),
            }
        )
    if template == "{{json .}}":
        print("\n".join(json.dumps(row) for row in rows))
        return 0
    template = template or "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.PIDs}}"
    if template.startswith("table "):
        print(_render(template.removeprefix("table "), STATS_HEADINGS))
    for row in rows:
        print(_render(template.removeprefix("table "), row))
    return 0


STATS_HEADINGS = {
    "ID": "CONTAINER ID",
    "Container": "CONTAINER",
    "Name": "NAME",
    "CPUPerc": "CPU %",
    "MemUsage": "MEM USAGE / LIMIT",
    "MemPerc": "MEM %",
    "NetIO": "NET I/O",
    "BlockIO": "BLOCK I/O",
    "PIDs": "PIDS",
}


def _sample(containers: list[dict]) -> dict[str, tuple[int, int, int]]:
    """Container id -> (CPU ticks, resident bytes, processes) of its processes, all containers in one pass over
    /proc. A container's processes: its session (the container's process started one, and its children stay in
    it) and whatever `docker exec` started in it (marked by the container's id; some programs, redis-server among
    them, overwrite their own environment, hence the session too)."""
    by_session = {c["pid"]: c["id"] for c in containers}
    by_marker = {f"\0{MEMBER}={c['id']}\0".encode(): c["id"] for c in containers}
    page = os.sysconf("SC_PAGE_SIZE")
    found = {c["id"]: [0, 0, 0] for c in containers}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fields = _read(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()
            owner = by_session.get(int(fields[3]))
            if owner is None:
                with open(f"/proc/{pid}/environ", "rb") as file:
                    environ = b"\0" + file.read()
                owner = next((cid for marker, cid in by_marker.items() if marker in environ), None)
                if owner is None:
                    continue
            resident = int(_read(f"/proc/{pid}/statm").split()[1]) * page
        except OSError:
            continue  # gone meanwhile
        totals = found[owner]
        totals[0] += int(fields[11]) + int(fields[12])  # utime, stime
        totals[1] += resident
        totals[2] += 1
    return {cid: tuple(totals) for cid, totals in found.items()}


def _system_ticks() -> int:
    return sum(int(v) for v in _read("/proc/stat").splitlines()[0].split()[1:8])


def _meminfo_bytes(key: str) -> int:
    line = next(li for li in _read("/proc/meminfo").splitlines() if li.startswith(key + ":"))
    return int(line.split()[1]) * 1024


def _human(size: float) -> str:
    """Docker's binary units: 12.3MiB, 1.944GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.4g}{unit}"
        size /= 1024
    raise AssertionError("unreachable")


def inspect(args: list[str]) -> int:
    template, refs = _format_option(args)
    found, missing = [], []
    for ref in refs:
        container = _find(ref)
        (found if container else missing).append(container or ref)
    _print_objects([_inspect(c) for c in found], template)
    for ref in missing:
        print(f"Error: No such object: {ref}", file=sys.stderr)
    return 1 if missing else 0


def image(args: list[str]) -> int:
    """`docker image inspect REF...`: the local images' ids, tags and registry digests."""
    if not args or args[0] != "inspect":
        return _unsupported(f"image {args[0] if args else ''}")
    template, refs = _format_option(args[1:])
    found, missing = [], []
    for ref in refs:
        local = _image(ref)
        (found if local else missing).append(local or ref)
    _print_objects(found, template)
    for ref in missing:
        print(f"Error: No such image: {ref}", file=sys.stderr)
    return 1 if missing else 0


def tag(args: list[str]) -> int:
    """`docker tag SOURCE TARGET`: one more name for a local image (its registry digests stay what they were)."""
    source, target = args
    images = _local_images()
    found = _match(images, source)
    if found is None:
        print(f"Error response from daemon: No such image: {source}", file=sys.stderr)
        return 1
    for image in images:
        if target in image["RepoTags"]:
            image["RepoTags"].remove(target)
    found["RepoTags"].append(target)
    _write(_state("images/index.json"), json.dumps(images, indent=2))
    return 0


def _format_option(args: list[str]) -> tuple[str | None, list[str]]:
    template, refs, rest = None, [], list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("-f", "--format"):
            template = rest.pop(0)
        elif arg.startswith("--format="):
            template = arg.split("=", 1)[1]
        elif not arg.startswith("-"):
            refs.append(arg)
    return template, refs


def _print_objects(objects: list[dict], template: str | None) -> None:
    if template is None:
        print(json.dumps(objects, indent=4))
        return
    for obj in objects:  # Go templates of one field path, e.g. {{.Image}} or {{.State.StartedAt}}
        print(re.sub(r"\{\{\s*((?:\.\w+)+)\s*\}\}", lambda m, obj=obj: str(_field(obj, m.group(1))), template))


def _field(obj: dict, path: str):
    for part in path.strip(".").split("."):
        obj = obj.get(part, "") if isinstance(obj, dict) else ""
    return obj


def _inspect(container: dict) -> dict:
    running = _alive(container)
    ports = {}
    for p in container["ports"]:
        ports.setdefault(f"{p['container_port']}/{p['proto']}", []).append(
            {"HostIp": p["host_ip"], "HostPort": str(p["host_port"])}
        )
    return {
        "Id": container["id"],
        "Created": container["created"],
        "Image": container.get("image_id", ""),
        "Name": f"/{container['name']}",
        "RestartCount": container["restart_count"],
        "State": {
            "Status": "running" if running else "exited",
            "Running": running,
            "Restarting": False,
            "Pid": container["pid"] if running else 0,
            "ExitCode": 0 if running else 137,
            "StartedAt": container.get("started"),
            "FinishedAt": container.get("finished", "0001-01-01T00:00:00Z"),
        },
        "Config": {"Image": container["image"], "Env": [f"{k}={v}" for k, v in container["env"].items()]},
        "HostConfig": {"PortBindings": ports},
        "NetworkSettings": {"Ports": ports if running else {}},
    }


def ps(args: list[str]) -> int:
    show_all = any(a in ("-a", "--all") for a in args)
    quiet = any(a in ("-q", "--quiet") for a in args)
    template = args[args.index("--format") + 1] if "--format" in args else None
    filters = [args[i + 1] for i, a in enumerate(args) if a in ("-f", "--filter")]
    rows = []
    for container in _all():
        running = _alive(container)
        if not (running or show_all) or not all(_matches(container, running, f) for f in filters):
            continue
        rows.append(_ps_row(container, running))
    if quiet:
        print("\n".join(r["ID"] for r in rows))
        return 0
    template = template or "table {{.ID}}\t{{.Image}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    table = template.startswith("table ")
    body = template.removeprefix("table ")
    if table:
        print(_render(body, {k: k.upper() for k in ("ID", "Image", "Status", "Ports", "Names")}))
    for row in rows:
        print(_render(body, row))
    return 0


def _matches(container: dict, running: bool, condition: str) -> bool:
    key, _, value = condition.partition("=")
    if key == "name":
        return re.search(value, container["name"]) is not None
    if key == "status":
        return ("running" if running else "exited") == value
    return True


def _ps_row(container: dict, running: bool) -> dict:
    from datetime import datetime

    since = datetime.fromisoformat(container["started" if running else "finished"])
    age = _age(_now() - since)
    ports = ", ".join(
        f"{p['host_ip']}:{p['host_port']}->{p['container_port']}/{p['proto']}" for p in container["ports"]
    )
    return {
        "ID": container["id"][:12],
        "Image": container["image"],
        "Status": f"Up {age}" if running else f"Exited (137) {age} ago",
        "Ports": ports if running else "",
        "Names": container["name"],
    }


def _age(delta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 1)} seconds"
    if seconds < 3600:
        return f"{seconds // 60} minutes"
    return f"{seconds // 3600} hours"


def _render(template: str, row: dict) -> str:
    text = template.replace("\\t", "\t")
    return re.sub(r"\{\{\s*\.(\w+)\s*\}\}", lambda m: str(row.get(m.group(1), "")), text)


def _no_such(ref: str) -> int:
    print(f"Error response from daemon: No such container: {ref}", file=sys.stderr)
    return 1


COMMANDS = {
    "run": run,
    "start": start,
    "stop": stop,
    "kill": stop,
    "rm": rm,
    "rename": rename,
    "logs": logs,
    "exec": exec_,
    "inspect": inspect,
    "image": image,
    "tag": tag,
    "restart": restart,
    "ps": ps,
    "stats": stats,
}

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
