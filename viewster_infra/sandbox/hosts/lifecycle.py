"""Brings one environment's hosts up and down. Needs Linux, root and the Debian packages (make host-packages)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from filelock import FileLock

from viewster_infra.sandbox import ecr_images
from viewster_infra.sandbox.aws_session import sandbox_session
from viewster_infra.sandbox.hosts import init, layout, network, registry, render, tls
from viewster_infra.sandbox.moto_server import PERFORMANCE_INSIGHTS_PATH, SandboxError
from viewster_infra.spec.model import EnvironmentSpec

REQUIRED_COMMANDS = [
    "ip",
    "unshare",
    "runuser",
    "ssh",
    "ssh-keygen",
    "/usr/sbin/sshd",
    "nginx",
    "redis-server",
    "/usr/lib/rabbitmq/bin/rabbitmq-server",
    "/usr/lib/postgresql/15/bin/postgres",
    "/usr/sbin/dnsmasq",
    "/usr/sbin/dockerd",
    "/usr/bin/docker",
    "/usr/bin/docker-registry",
    "sudo",
]
READY_TIMEOUT_SECONDS = 60
BROKER_AUTH = (render.BROKER_USER, render.FAKE_SECRET_VALUE)  # the application's RabbitMQ user
MAX_SLOTS = 250
CGROUP_SEARCH_DEPTH = 3  # how deep under a hierarchy's root dockerd's parent cgroup may be
SLOT_LOCK = "/tmp/viewster-sandbox-slots.lock"


def unavailable_reason() -> str | None:
    """Why hosts cannot run here, in one line; None when they can."""
    if not sys.platform.startswith("linux"):
        return "replica hosts need Linux network namespaces"
    if os.geteuid() != 0:
        return "replica hosts need root (network namespaces, mounts)"
    missing = [c for c in REQUIRED_COMMANDS if shutil.which(c) is None]
    if missing:
        return f"replica hosts need Debian packages not installed here ({', '.join(missing)}): run `make host-packages`"
    return None


def allocate_slot() -> int:
    """Take the lowest free slot by creating its bridge, under the machine-wide lock that release also takes. A
    slot is free only when none of its links exist: not its bridge, nor a veth a deleted namespace left behind."""
    with FileLock(SLOT_LOCK):
        taken = network.links_matching(r"vs(?:br)?\d+[a-z]*")
        for index in range(1, MAX_SLOTS + 1):
            if not any(re.fullmatch(layout.slot_links(index), name) for name in taken):
                network.bridge_up(layout.bridge_name(index), layout.gateway_address(index))
                return index
    raise SandboxError(f"no free sandbox slot: {MAX_SLOTS} sandboxes already run (`ip link show type bridge`)")


def up(env: str, index: int, env_dir: Path, spec: EnvironmentSpec, endpoint_url: str) -> dict:
    """Bring up the hosts of `env` in slot `index` (its bridge already made by allocate_slot)."""
    roles = list(spec.hosts.roles)
    places = layout.places(env, index, roles)
    bridge = layout.bridge_name(index)
    shutil.rmtree(env_dir, ignore_errors=True)
    tls.create_ca(env_dir / "ca")
    render.environment_key(env_dir, env)  # the hosts put its public half in their SSH user's authorized_keys

    ecr_registry, database_endpoint = _from_aws(endpoint_url, spec)
    names = _names(spec, places, database_endpoint)
    processes, made = {}, []
    try:
        for place in places.values():
            made.append(place)
            network.netns_up(place, bridge)
            if place.name == "registry":
                processes[place.name] = _registry(env_dir, spec, place, ecr_registry)
                continue
            host_dir = render.host_files(env_dir, spec, place, places, names, ecr_registry, database_endpoint)
            if place.name == "dns":
                sync_dns(env_dir, spec, endpoint_url)
            processes[place.name] = _start(place, host_dir)
        ssh = render.client_files(env_dir, env, places, roles, spec.hosts.ssh_user)
        publish_private_key(endpoint_url, spec, Path(ssh["identity"]))
        _wait_ready(places, spec)
        performance_insights_source(endpoint_url, spec, places["database"].address)
    except BaseException:  # a failed `up` removes what it made, and only that: never another sandbox's hosts
        with FileLock(SLOT_LOCK):
            network.remove([p.netns for p in made], bridge, [p.veth for p in made])
            _remove_cgroups([p.netns for p in made])
        shutil.rmtree(env_dir, ignore_errors=True)
        raise
    return {
        "bridge": bridge,
        "ssh_config": ssh["ssh_config"],
        "known_hosts": ssh["known_hosts"],
        "identity_file": ssh["identity"],
        "ca_bundle": str(env_dir / "ca" / "ca.pem"),
        "names": names,
        "dns_server": places["dns"].address,
        "hosts": {
            name: {
                "address": place.address,
                "ssh_alias": f"{env}-{name}" if name in roles else None,
                "netns": place.netns,
                "pid": processes[name],
                "dir": str(env_dir / "hosts" / name),
            }
            for name, place in places.items()
        },
    }


def restart(env: str, index: int, env_dir: Path, spec: EnvironmentSpec, endpoint_url: str, name: str) -> int:
    """Kill one host and start it again from freshly written files, keeping its address and SSH identity.
    Returns the new pid. Used to undo drift made on a host."""
    places = layout.places(env, index, list(spec.hosts.roles))
    place = places[name]
    killed_at = time.monotonic()
    for pid in network.ip("netns", "pids", place.netns, check=False).stdout.split():
        subprocess.run(["kill", "-9", pid], capture_output=True)
    network.ip("-n", place.netns, "link", "set", "eth0", "up")
    _remove_cgroups([place.netns])
    ecr_registry, database_endpoint = _from_aws(endpoint_url, spec)
    if name == "registry":
        pid = _registry(env_dir, spec, place, ecr_registry)
        _wait_ready(places, spec, only=name)
        return pid
    names = _names(spec, places, database_endpoint)
    host_dir = render.host_files(env_dir, spec, place, places, names, ecr_registry, database_endpoint)
    if name == "dns":
        sync_dns(env_dir, spec, endpoint_url)
    pid = _start(place, host_dir)
    _wait_ready(places, spec, only=name, since=killed_at)
    return pid


def wait_ready(env: str, index: int, spec: EnvironmentSpec, name: str, since: float | None = None) -> None:
    """One host's sshd and published ports answering, and the backend's worker consuming, as after `restart`;
    `since`: when something on it was stopped (a container run again)."""
    _wait_ready(layout.places(env, index, list(spec.hosts.roles)), spec, only=name, since=since)


def sync_dns(env_dir: Path, spec: EnvironmentSpec, endpoint_url: str, netns: str | None = None) -> None:
    """The DNS host's records: the A records of the sandbox's Route53 zone as they are now, as resolvers see them
    once a change has propagated. Called when the hosts come up and after every reseed (the Elastic IPs are new);
    with `netns`, the running dnsmasq re-reads them (SIGHUP)."""
    session = sandbox_session(spec.aws.region)
    route53 = session.client("route53", endpoint_url=endpoint_url)
    zone = next(
        (z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == spec.route53.zone), None
    )
    lines = []
    if zone is not None:
        pages = route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone["Id"])
        for record in (r for page in pages for r in page["ResourceRecordSets"] if r["Type"] == "A"):
            lines += [f"{value['Value']} {record['Name'].rstrip('.')}" for value in record.get("ResourceRecords", [])]
    path = env_dir / "hosts" / "dns" / init.RECORDS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text("".join(line + "\n" for line in lines))
    partial.replace(path)
    if netns is not None:
        for pid in network.ip("netns", "pids", netns, check=False).stdout.split():
            if Path(f"/proc/{pid}/comm").read_text().strip() == "dnsmasq":
                os.kill(int(pid), signal.SIGHUP)


def down(env: str, index: int, env_dir: Path) -> None:
    """Stop every host of `env` in slot `index`, found by name: also those of a crashed or killed run. Under the
    slot lock, so that no `up` takes the slot while its links are still being removed."""
    with FileLock(SLOT_LOCK):
        namespaces = network.namespaces_with_prefix(layout.netns_prefix(index, env))
        network.remove(
            namespaces,
            layout.bridge_name(index),
            [name for name in network.links_matching(layout.slot_links(index)) if not name.startswith("vsbr")],
        )
        _remove_cgroups(namespaces)
    shutil.rmtree(env_dir, ignore_errors=True)


def publish_private_key(endpoint_url: str, spec: EnvironmentSpec, identity: Path) -> None:
    """The hosts' key in the sandbox's SSM, where the guide keeps it, so --ssh-key-from-ssm works here too; put there
    by the Terraform role, as the guide's ssm.tf does."""
    from viewster_infra.sandbox.seed import as_principal

    session = as_principal(endpoint_url, sandbox_session(spec.aws.region), spec, "terraform")
    session.client("ssm", endpoint_url=endpoint_url).put_parameter(
        Name=spec.ssm.parameters[spec.hosts.ssh_key_parameter].name,
        Type="SecureString",
        Value=identity.read_text(),
        Overwrite=True,
    )


def performance_insights_source(endpoint_url: str, spec: EnvironmentSpec, address: str) -> None:
    """The sandbox's Performance Insights reads the database host's pg_stat_statements (performance_insights.py):
    tell it where, for the DbiResourceId the sandbox's RDS gives the instance."""
    rds = sandbox_session(spec.aws.region).client("rds", endpoint_url=endpoint_url)
    for database in spec.rds.databases.values():
        found = rds.describe_db_instances(DBInstanceIdentifier=database.identifier)["DBInstances"][0]
        requests.post(
            f"{endpoint_url}{PERFORMANCE_INSIGHTS_PATH}",
            json={
                "resource_id": found["DbiResourceId"],
                "dsn": statistics_dsn(address, init.PERFORMANCE_INSIGHTS_ROLE),
            },
            timeout=10,
        ).raise_for_status()


def statistics_dsn(address: str, user: str = "viewster") -> str:
    """The database host's PostgreSQL, as `user` (trust authentication: only the sandbox reaches 198.18.0.0/15)."""
    return f"host={address} port=5432 dbname=viewster user={user} connect_timeout=5"


def reset_statement_statistics(address: str) -> None:
    """pg_stat_statements emptied: what Performance Insights reports starts from nothing (a test's sandbox is
    handed back compliant, without the statements the test before it ran)."""
    import psycopg

    with psycopg.connect(statistics_dsn(address), autocommit=True) as connection:
        connection.execute("SELECT pg_stat_statements_reset()")


def _names(spec: EnvironmentSpec, places: dict[str, layout.HostPlace], database_endpoint: str) -> dict[str, str]:
    """The sandbox's name map: each Route53 name and the RDS endpoint -> the replica's address."""
    names = {record.name: places[record.points_to].address for record in spec.route53.records.values()}
    names[database_endpoint] = places["database"].address
    return names


def _from_aws(endpoint_url: str, spec: EnvironmentSpec) -> tuple[str, str]:
    """The ECR registry's name (`<account>.dkr.ecr.<region>.amazonaws.com`) and the RDS endpoint's, from the
    seeded sandbox."""
    session = sandbox_session(spec.aws.region)
    account = session.client("sts", endpoint_url=endpoint_url).get_caller_identity()["Account"]
    ecr_registry = registry.ecr_name(account, spec.aws.region)
    rds = session.client("rds", endpoint_url=endpoint_url)
    database = spec.rds.databases[next(iter(spec.rds.databases))]
    endpoint = rds.describe_db_instances(DBInstanceIdentifier=database.identifier)["DBInstances"][0]["Endpoint"]
    return ecr_registry, endpoint["Address"]


def _registry(env_dir: Path, spec: EnvironmentSpec, place: layout.HostPlace, ecr_registry: str) -> int:
    """The registry up and holding the environment's images: every image of each ECR repository (its commit tag,
    the newest also `latest` and the spec's required tags), as the sandbox's ECR lists them (seed.py), and the
    public images the hosts run."""
    config = registry.configure(
        env_dir / "hosts" / "registry", env_dir / "ca", place.address, [ecr_registry, registry.MIRROR_NAME]
    )
    pid = registry.start(place.netns, config)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not _answers(place.address, registry.PORT):
        if time.monotonic() > deadline:
            raise SandboxError(f"the registry did not answer on {place.address}:{registry.PORT} (see registry.log)")
        time.sleep(0.05)
    ca = str(env_dir / "ca" / "ca.pem")
    for repo in spec.ecr.repositories.values():
        history = ecr_images.history(repo.name)
        latest = {history[-1].digest: list(repo.required_tags)}
        registry.push(place.address, ecr_registry, ca, history, latest)
    public = {c.image.split(":")[0] for role in spec.hosts.roles.values() for c in role.containers.values() if c.image}
    registry.push(place.address, registry.MIRROR_NAME, ca, [ecr_images.public(name) for name in sorted(public)], {})
    return pid


def _remove_cgroups(namespaces: list[str], root: Path = Path("/sys/fs/cgroup")) -> None:
    """The cgroups the hosts' dockerd made for their containers (render.cgroup_parent), once nothing runs in
    them: the kernel keeps an empty cgroup's directory until it is removed. dockerd places the parent under its
    own cgroup where that is not the root (the memory controller here), so each hierarchy is searched a few levels
    deep for it."""
    names = {render.cgroup_parent(netns) for netns in namespaces}
    for hierarchy in root.iterdir():
        for directory, children, _ in os.walk(hierarchy):
            depth = len(Path(directory).relative_to(hierarchy).parts)
            for name in names.intersection(children):
                parent = Path(directory) / name
                for cgroup in [*parent.glob("*/"), parent]:  # the containers' cgroups, then their parent
                    try:
                        cgroup.rmdir()
                    except OSError:
                        pass  # still in use (a process not yet reaped) or gone: the next `down` tries again
            children[:] = [] if depth >= CGROUP_SEARCH_DEPTH else [c for c in children if c not in names]


def _start(place: layout.HostPlace, host_dir: Path) -> int:
    log = open(host_dir / "init.log", "ab")  # noqa: SIM115 - handed to the host's init
    process = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            place.netns,
            "unshare",
            "--uts",
            "--pid",
            "--mount",
            "--fork",
            "--mount-proc",
            sys.executable,
            "-m",
            "viewster_infra.sandbox.hosts.init",
            str(host_dir),
        ],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=render.ROOT,
        env=dict(os.environ, PYTHONPATH=str(render.ROOT)),
    )
    return process.pid


def _wait_ready(
    places: dict[str, layout.HostPlace], spec: EnvironmentSpec, only: str | None = None, since: float | None = None
) -> None:
    """Every host's sshd and every published port answering (RabbitMQ takes a few seconds to boot), and the
    backend's worker consuming; `since`: when the host was stopped (see wait_consumed)."""
    wanted = [(places["database"].address, 5432)] if only in (None, "database") else []
    wanted += [(places["dns"].address, 53)] if only in (None, "dns") else []
    wanted += [(places["registry"].address, registry.PORT)] if only in (None, "registry") else []
    for role_name, role in spec.hosts.roles.items():
        if only not in (None, role_name):
            continue
        address = places[role_name].address
        wanted.append((address, 22))
        wanted += [(address, port) for port in (role.nginx.listen_ports if role.nginx else [])]
        for container in role.containers.values():
            wanted += [(address, int(p.split("->")[0].rsplit(":", 1)[1])) for p in container.ports]
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    for address, port in wanted:
        while not _answers(address, port):
            if time.monotonic() > deadline:
                raise SandboxError(f"host {address} did not answer on port {port} within {READY_TIMEOUT_SECONDS}s")
            time.sleep(0.2)
    # the backend's worker (re)connects when the broker's host or its own (re)starts
    consumer_roles = {
        k for k, r in spec.hosts.roles.items() if any(c.ecr_repository == "backend" for c in r.containers.values())
    }
    for role_name, role in spec.hosts.roles.items():
        if role.rabbitmq is not None and role.rabbitmq.queues and only in (None, role_name, *consumer_roles):
            restarted_worker = since if only in consumer_roles else None  # a broker started afresh has no old figures
            wait_consumed(places[role_name].address, role.rabbitmq.queues.values(), deadline, restarted_worker)


def wait_consumed(address: str, queues, deadline: float, since: float | None = None) -> None:
    """The backend's worker consuming each of its queues (it connects once the broker has booted, and again after
    either restarts), as the management API reports it.

    `since`: when the worker was stopped (time.monotonic()). Until the broker has sampled its queues after that,
    the API still counts the old worker's consumer, so no figure is trusted before then.
    """
    wanted = {q.name: q.consumers_min for q in queues}
    if since is not None:
        time.sleep(max(0.0, since + render.RABBITMQ_STATISTICS_SECONDS * 1.5 - time.monotonic()))
    while True:
        try:
            listing = requests.get(f"http://{address}:15672/api/queues", auth=BROKER_AUTH, timeout=2).json()
            consumers = {q["name"]: q.get("consumers") or 0 for q in listing}
            if all(consumers.get(name, 0) >= least for name, least in wanted.items()):
                return
        except (requests.RequestException, ValueError, TypeError, KeyError):
            pass
        if time.monotonic() > deadline:
            raise SandboxError(f"RabbitMQ on {address}: the backend did not consume {', '.join(wanted)} in time")
        time.sleep(0.2)


def _answers(address: str, port: int) -> bool:
    """Something serves the port: the connection is accepted and not closed at once. (Docker's userland proxy
    accepts a published port's connections before the container's program listens, then closes them.)"""
    try:
        with socket.create_connection((address, port), timeout=1) as connection:
            connection.settimeout(0.15)
            try:
                return connection.recv(1) != b""
            except TimeoutError:
                return True  # waiting for us to speak first, as HTTP, Redis and AMQP servers do
    except OSError:
        return False
