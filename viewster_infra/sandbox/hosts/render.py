"""Writes each sandbox host's files from the spec: sshd, nginx (as the guide describes it), /etc/hosts, TLS, the
containers to start. Also the environment's SSH client files: key, known_hosts, ssh_config."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from viewster_infra.nginx_time import UNIT_SECONDS
from viewster_infra.sandbox import ecr_images
from viewster_infra.sandbox.hosts import registry as registry_host
from viewster_infra.sandbox.hosts import tls, users
from viewster_infra.sandbox.hosts.layout import HostPlace
from viewster_infra.sandbox.seed import FAKE_SECRET_VALUE
from viewster_infra.spec.model import EnvironmentSpec, Role

ROOT = Path(__file__).resolve().parents[3]
CERTIFICATE_DAYS = 90
TIMEZONE = "Asia/Seoul"


# The sandbox's keys, host and client: ECDSA on P-256, whose signatures OpenSSL computes and checks in optimized
# code; OpenSSH's own Ed25519 code is the portable reference one (about 3 ms of CPU more a connection, both ends of
# which run on this machine). A standard key type, as an EC2 host has among its own.
KEY_TYPE = ["-t", "ecdsa", "-b", "256"]


def keygen(path: Path, comment: str) -> None:
    """A new key pair at path; an existing one is kept (a restarted host keeps its identity)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", *KEY_TYPE, "-N", "", "-C", comment, "-f", str(path)], check=True)


def environment_key(env_dir: Path, env: str) -> Path:
    """The environment's SSH key pair (made once; a restarted host keeps trusting it)."""
    keygen(env_dir / "ssh" / "id_ecdsa", f"viewster-sandbox-{env}")
    return env_dir / "ssh" / "id_ecdsa"


def client_files(env_dir: Path, env: str, places: dict[str, HostPlace], roles: list[str], user: str) -> dict[str, str]:
    """The SSH client side: one key for the environment, known_hosts with every host's key, an ssh_config that
    logs in as the hosts' SSH user (hosts.ssh_user)."""
    ssh = env_dir / "ssh"
    environment_key(env_dir, env)
    known, config = [], []
    for role in roles:
        place = places[role]
        host_key = (env_dir / "hosts" / role / "ssh_host_ecdsa_key.pub").read_text().split()
        known.append(f"{place.address} {host_key[0]} {host_key[1]}")
        config.append(
            f"Host {env}-{role}\n"
            f"    HostName {place.address}\n"
            f"    User {user}\n"
            f"    IdentityFile {ssh / 'id_ecdsa'}\n"
            "    IdentitiesOnly yes\n"
            f"    UserKnownHostsFile {ssh / 'known_hosts'}\n"
            "    StrictHostKeyChecking yes\n"
            "    BatchMode yes\n"
            "    ConnectTimeout 5\n"
        )
    (ssh / "known_hosts").write_text("\n".join(known) + "\n")
    (ssh / "ssh_config").write_text("\n".join(config))
    return {
        "ssh_config": str(ssh / "ssh_config"),
        "known_hosts": str(ssh / "known_hosts"),
        "identity": str(ssh / "id_ecdsa"),
    }


def host_files(
    env_dir: Path,
    spec: EnvironmentSpec,
    place: HostPlace,
    places: dict[str, HostPlace],
    names: dict[str, str],
    registry: str,
    database_endpoint: str,
) -> Path:
    """Everything one host needs; returns its directory (host.json in it drives init.py). `registry`: the ECR
    registry's name, which the sandbox's registry host answers for."""
    directory = env_dir / "hosts" / place.name
    etc = directory / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    keygen(directory / "ssh_host_ecdsa_key", f"{place.name}-host")
    (directory / "sshd_config").write_text(
        f"ListenAddress {place.address}\n"
        f"HostKey {directory / 'ssh_host_ecdsa_key'}\n"
        "PidFile /run/sshd.pid\n"
        "PermitRootLogin prohibit-password\n"  # the drift tests' operator; the suite logs in as hosts.ssh_user
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "PrintMotd no\n"
        "MaxStartups 100\n"
        "MaxSessions 100\n"
        # Both ends of every connection run on this machine: ECDH on P-256 (OpenSSL's optimized code, as the keys
        # above) costs less than X25519 in OpenSSH's portable code, and a tenth of the post-quantum hybrid OpenSSH 9
        # prefers (about 50 ms of CPU a connection, paid by the project's tests).
        "KexAlgorithms ecdh-sha2-nistp256\n"
        # PATH as Ubuntu's /etc/environment sets it for every login (pam_env; this sshd runs without PAM)
        "SetEnv PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        # the SSH user's key in its own ~/.ssh (init.py writes it, as cloud-init does); root's where it is kept
        # here, which only root could read
        "AuthorizedKeysFile .ssh/authorized_keys\n"
        "Match User root\n"
        f"    AuthorizedKeysFile {env_dir / 'ssh' / 'id_ecdsa.pub'}\n"
    )
    hosts = ["127.0.0.1 localhost", f"{place.address} {place.name}"]
    hosts += [f"{p.address} {p.name}" for p in places.values() if p.name != place.name]
    hosts += [f"{places['database'].address} {database_endpoint}"]
    hosts += [f"{places['registry'].address} {registry} {registry_host.MIRROR_NAME}"]
    hosts += [f"{address} {name}" for name, address in names.items()]
    (etc / "hosts").write_text("\n".join(hosts) + "\n")
    (etc / "hostname").write_text(place.name + "\n")

    role = spec.hosts.roles.get(place.name)
    config = {"name": place.name, "address": place.address, "dir": str(directory), "zone": spec.route53.zone}
    if role is not None:
        user = users.ssh_user(etc, spec.hosts.ssh_user)
        user["authorized_key"] = str(env_dir / "ssh" / "id_ecdsa.pub")
        _sudoers(etc, spec.hosts.ssh_user)
        _timezone(etc)
        _docker(etc, env_dir, place, list(places).index(place.name), registry, places["dns"].address)
        if role.nginx is not None:
            _nginx(etc / "nginx", env_dir, spec, role)
        config |= {
            "nginx": role.nginx is not None,
            "ssh_user": user,
            "cgroup_mounts": _cgroup_mounts(),
            "pulls": _pulls(role, registry, spec),
            "containers": _containers(spec, role, registry, database_endpoint, directory, places),
        }
    (directory / "host.json").write_text(json.dumps(config, indent=2))
    return directory


def _cgroup_mounts() -> list[list[str]]:
    """This machine's cgroup filesystems, as /proc/mounts lists them: the tmpfs that holds the v1 hierarchies
    and each hierarchy, or the one v2 hierarchy."""
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, target, fstype, options = line.split()[:4]
        if target.startswith("/sys/fs/cgroup") and fstype in ("tmpfs", "cgroup", "cgroup2"):
            found.append([fstype, options, target])
    return found


def _timezone(etc: Path) -> None:
    """The hosts keep Seoul's time, as EC2 hosts set up in Seoul often do: their logs' times are local."""
    shutil.copy(f"/usr/share/zoneinfo/{TIMEZONE}", etc / "localtime")
    (etc / "timezone").write_text(TIMEZONE + "\n")


def _sudoers(etc: Path, user: str) -> None:
    """The SSH user may run as root exactly what the suite reads as root: the effective nginx configuration and
    nginx's error log (tac: read from its end, as far back as the log window goes)."""
    (etc / "sudoers.d").mkdir(exist_ok=True)
    rules = etc / "sudoers.d" / "viewster"
    rules.write_text(f"{user} ALL=(root) NOPASSWD: /usr/sbin/nginx -T, /usr/bin/tac /var/log/nginx/error.log\n")
    rules.chmod(0o440)


def _docker(etc: Path, env_dir: Path, place: HostPlace, number: int, registry: str, dns: str) -> None:
    """/etc/docker: daemon.json (the Docker Hub mirror, the containers' bridge inside 198.18.0.0/15, their
    resolver the sandbox's DNS server as a VPC's would be, their cgroups under the host's own parent so that `down`
    can remove them) and the CA to trust for both registry names."""
    docker = etc / "docker"
    for name in (registry, registry_host.MIRROR_NAME):
        (docker / "certs.d" / name).mkdir(parents=True, exist_ok=True)
        shutil.copy(env_dir / "ca" / "ca.pem", docker / "certs.d" / name / "ca.crt")
    slot = int(place.address.split(".")[2])
    (docker / "daemon.json").write_text(
        json.dumps(
            {
                "registry-mirrors": [f"https://{registry_host.MIRROR_NAME}"],
                "bip": f"198.19.{slot}.{16 * number + 1}/28",  # 14 containers a host, 16 hosts a slot
                "cgroup-parent": cgroup_parent(place.netns),
                "dns": [dns],
                "log-level": "warn",
            },
            indent=2,
        )
    )


def cgroup_parent(netns: str) -> str:
    return f"viewster-{netns}"


def _pulls(role: Role, registry: str, spec: EnvironmentSpec) -> list[list[str]]:
    """What the deploy pulls: every tag of each ECR repository the host runs, and each public image."""
    pulls = []
    for container in role.containers.values():
        if container.ecr_repository is not None:
            pulls.append(["--all-tags", f"{registry}/{spec.ecr.repositories[container.ecr_repository].name}"])
        else:
            pulls.append([container.image])
    return pulls


def _containers(
    spec: EnvironmentSpec,
    role: Role,
    registry: str,
    database_endpoint: str,
    host_dir: Path,
    places: dict[str, HostPlace],
) -> list[dict]:
    """Each container's `docker run`, as the host's deploy writes it: ports as most people publish them (`-p
    8080:8080`, no address unless the spec names one), restart unless stopped, the host's /usr read-only (the
    images carry no programs of their own: ecr_images.py)."""
    # the broker's host by its role name (each host's /etc/hosts knows the others), and the queues it should serve
    broker = next(((key, r.rabbitmq) for key, r in spec.hosts.roles.items() if r.rabbitmq is not None), None)
    started = []
    for name, container in role.containers.items():
        publish = []
        for port in container.ports:
            host, container_port = port.split("->")
            address, _, host_port = host.rpartition(":")
            published = f"{host_port}:{container_port.removesuffix('/tcp')}"
            publish.append(published if address in ("0.0.0.0", "") else f"{address}:{published}")
        volumes, env, command, known = ["/usr:/usr:ro"], {}, [], {}
        if container.ecr_repository is not None:
            image = f"{registry}/{spec.ecr.repositories[container.ecr_repository].name}:latest"
            # the sandbox's application code and the Python that runs it, where they are on this machine
            for path in sorted({str(ROOT), sys.prefix, sys.base_prefix}):
                if not path.startswith("/usr/"):
                    volumes.append(f"{path}:{path}:ro")
            env |= {"PATH": f"{sys.prefix}/bin:{ecr_images.PATH}", "PYTHONPATH": str(ROOT)}
            env["PORT"] = container.ports[0].split("->")[1].split("/")[0]
        else:
            image = container.image
        if container.ecr_repository == "backend":
            env["DATABASE_URL"] = f"postgresql://viewster:{FAKE_SECRET_VALUE}@{database_endpoint}:5432/viewster"
            # the VPC's DNS answers these names for a real container; here the deploy tells Docker (--add-host)
            known[database_endpoint] = places["database"].address
            if broker is not None and broker[1].queues:
                known[broker[0]] = places[broker[0]].address
                env["RABBITMQ_URL"] = f"amqp://{BROKER_USER}:{FAKE_SECRET_VALUE}@{broker[0]}:5672/%2F?heartbeat=30"
                env["RABBITMQ_QUEUES"] = ",".join(q.name for q in broker[1].queues.values())
        if role.redis is not None and name == role.redis.container:
            command = [*REDIS_COMMAND]
        if role.rabbitmq is not None and name == role.rabbitmq.container:
            volumes.append(f"{_rabbitmq(host_dir, role.rabbitmq)}:/etc/rabbitmq:ro")
            # Erlang's schedulers spin while idle by default, each broker taking CPU from every other sandbox on
            # this machine (the unit tests run five); RabbitMQ's own advice for shared CPUs
            env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "+sbwt none +sbwtdcpu none +sbwtdio none"
        started.append(
            {
                "name": name,
                "image": image,
                "publish": publish,
                "env": env,
                "volumes": volumes,
                "hosts": known,
                "command": command,
            }
        )
    return started


# As the team's redis runs: bounded (an unset maxmemory is a finding); at the limit, expiring keys go and writes go
# on (INC-2026-011); nothing kept on disk.
REDIS_COMMAND = (
    "redis-server",
    "--protected-mode",
    "no",
    "--save",
    "",
    "--appendonly",
    "no",
    "--maxmemory",
    "256mb",
    "--maxmemory-policy",
    "volatile-lru",
)
BROKER_USER = "viewster"  # the application's RabbitMQ user (administrator); the monitoring user is the spec's
RABBITMQ_STATISTICS_SECONDS = 1.0  # how old the management API's queue figures may be


def _rabbitmq(host_dir: Path, rabbitmq) -> Path:
    """The broker's /etc/rabbitmq: its users from definitions (no guest: a team that sets its own), and queue
    figures every second instead of every 5 s, so that a drift test waits less (queues emit them at this interval,
    and the management agent keeps them at its shortest retention interval; RabbitMQ's defaults otherwise)."""
    directory = host_dir / "rabbitmq"
    directory.mkdir(exist_ok=True)
    interval = int(RABBITMQ_STATISTICS_SECONDS)
    (directory / "rabbitmq.conf").write_text(
        "load_definitions = /etc/rabbitmq/definitions.json\n"
        f"collect_statistics_interval = {interval * 1000}\n"
        f"management.sample_retention_policies.global.minute = {interval}\n"
        "management.sample_retention_policies.global.hour = 60\n"
        "management.sample_retention_policies.global.day = 1200\n"
        f"management.sample_retention_policies.basic.minute = {interval}\n"
        "management.sample_retention_policies.basic.hour = 60\n"
        f"management.sample_retention_policies.detailed.10 = {interval}\n"
    )
    users = {BROKER_USER: ["administrator"], rabbitmq.management_user: ["monitoring"]}
    definitions = {
        "users": [
            {
                "name": name,
                "password_hash": _rabbitmq_hash(FAKE_SECRET_VALUE),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": tags,
            }
            for name, tags in users.items()
        ],
        "vhosts": [{"name": "/"}],
        "permissions": [{"user": name, "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"} for name in users],
    }
    (directory / "definitions.json").write_text(json.dumps(definitions, indent=2))
    return directory


def _rabbitmq_hash(password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)), a 4-byte salt."""
    salt = hashlib.sha256(password.encode()).digest()[:4]
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def nginx_time(seconds: float) -> str:
    """86400 -> "1d": the sandbox writes nginx's units, so the suite has to compare by meaning."""
    whole = int(seconds)
    for unit, size in sorted(UNIT_SECONDS.items(), key=lambda item: -item[1]):
        if size >= 60 and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def certificate_for(etc_nginx: Path, env_dir: Path, names: list[str], days: int) -> None:
    tls.issue(env_dir / "ca", names, days, etc_nginx / "tls" / "site.pem", etc_nginx / "tls" / "site.key")


def _nginx(etc_nginx: Path, env_dir: Path, spec: EnvironmentSpec, role: Role) -> None:
    """Debian's /etc/nginx as the package installs it (nginx.conf, modules, mime types; errors to
    /var/log/nginx/error.log), its default site replaced by the role's sites."""
    shutil.rmtree(etc_nginx, ignore_errors=True)
    shutil.copytree("/etc/nginx", etc_nginx, symlinks=True)
    for site in (etc_nginx / "sites-enabled").iterdir():
        site.unlink()
    (etc_nginx / "snippets").mkdir(exist_ok=True)
    names = [spec.route53.records[key].name for key in role.nginx.sites]
    certificate_for(etc_nginx, env_dir, names, CERTIFICATE_DAYS)
    for key, site in role.nginx.sites.items():
        name = spec.route53.records[key].name
        proxy = [f"        proxy_pass {site.proxy_pass};", "        proxy_set_header Host $host;"]
        if site.websocket:
            (etc_nginx / "snippets" / "websocket.conf").write_text(
                "# WebSocket: HTTP/1.1 upgrade and a day-long read timeout for long-lived connections.\n"
                "proxy_http_version 1.1;\n"
                "proxy_set_header Upgrade $http_upgrade;\n"
                'proxy_set_header Connection "upgrade";\n'
                f"proxy_read_timeout {nginx_time(site.proxy_read_timeout or 60)};\n"
            )
            proxy.append("        include /etc/nginx/snippets/websocket.conf;")
        (etc_nginx / "sites-enabled" / f"{key}.conf").write_text(
            "server {\n"
            "    listen 80;\n"
            f"    server_name {name};\n"
            "    return 301 https://$host$request_uri;\n"
            "}\n"
            "server {\n"
            "    listen 443 ssl;\n"
            f"    server_name {name};\n"
            "    ssl_certificate /etc/nginx/tls/site.pem;\n"
            "    ssl_certificate_key /etc/nginx/tls/site.key;\n"
            "    client_max_body_size 100m;  # uploads (INC-2026-014)\n"
            "    location / {\n" + "\n".join(proxy) + "\n    }\n"
            "}\n"
        )
