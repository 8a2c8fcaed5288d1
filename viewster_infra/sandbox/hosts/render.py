"""Writes each sandbox host's files from the spec: sshd, nginx (as the guide describes it), /etc/hosts, TLS, the
containers to start. Also the environment's SSH client files: key, known_hosts, ssh_config."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from viewster_infra.nginx_time import UNIT_SECONDS
from viewster_infra.sandbox.hosts import docker_client, init, tls
from viewster_infra.sandbox.hosts.layout import HostPlace
from viewster_infra.sandbox.seed import FAKE_SECRET_VALUE
from viewster_infra.spec.model import EnvironmentSpec, Role

ROOT = Path(__file__).resolve().parents[3]
CERTIFICATE_DAYS = 90


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


def client_files(env_dir: Path, env: str, places: dict[str, HostPlace], roles: list[str]) -> dict[str, str]:
    """The SSH client side: one key for the environment, known_hosts with every host's key, an ssh_config."""
    ssh = env_dir / "ssh"
    keygen(ssh / "id_ecdsa", f"viewster-sandbox-{env}")
    known, config = [], []
    for role in roles:
        place = places[role]
        host_key = (env_dir / "hosts" / role / "ssh_host_ecdsa_key.pub").read_text().split()
        known.append(f"{place.address} {host_key[0]} {host_key[1]}")
        config.append(
            f"Host {env}-{role}\n"
            f"    HostName {place.address}\n"
            "    User root\n"
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
    registry: dict[str, dict],
    database_endpoint: str,
) -> Path:
    """Everything one role's host needs; returns its directory (host.json in it drives init.py)."""
    directory = env_dir / "hosts" / place.name
    etc = directory / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    keygen(directory / "ssh_host_ecdsa_key", f"{place.name}-host")
    (directory / "sshd_config").write_text(
        f"ListenAddress {place.address}\n"
        f"HostKey {directory / 'ssh_host_ecdsa_key'}\n"
        "PidFile /run/sshd.pid\n"
        "PermitRootLogin prohibit-password\n"
        f"AuthorizedKeysFile {env_dir / 'ssh' / 'id_ecdsa.pub'}\n"
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
    )
    hosts = ["127.0.0.1 localhost", f"{place.address} {place.name}"]
    hosts += [f"{p.address} {p.name}" for p in places.values() if p.name != place.name]
    hosts += [f"{places['database'].address} {database_endpoint}"]
    hosts += [f"{address} {name}" for name, address in names.items()]
    (etc / "hosts").write_text("\n".join(hosts) + "\n")
    (etc / "hostname").write_text(place.name + "\n")

    role = spec.hosts.roles.get(place.name)
    if role is not None and role.nginx is not None:
        _nginx(etc / "nginx", env_dir, spec, role)
    containers = [] if role is None else _containers(spec, role, registry, database_endpoint)
    client = docker_client.build(env_dir / "bin", init.DOCKER_SOCKET, sys.executable, str(ROOT))
    (directory / "host.json").write_text(
        json.dumps(
            {
                "name": place.name,
                "address": place.address,
                "python": sys.executable,
                "root": str(ROOT),
                "docker_client": str(client),
                "nginx": bool(role and role.nginx),
                "zone": spec.route53.zone,
                "containers": containers,
                "images": [] if role is None else _local_images(role, registry),
            },
            indent=2,
        )
    )
    return directory


def _containers(spec: EnvironmentSpec, role: Role, registry: dict[str, dict], database_endpoint: str) -> list[dict]:
    # the broker's host by its role name (each host's /etc/hosts knows the others), and the queues it should serve
    broker = next(((key, r.rabbitmq) for key, r in spec.hosts.roles.items() if r.rabbitmq is not None), None)
    started = []
    for name, container in role.containers.items():
        image = container.image or f"{registry[container.ecr_repository]['uri']}:latest"
        publish = [port.replace("->", ":") for port in container.ports]
        env = {}
        if container.ecr_repository == "backend":
            env["DATABASE_URL"] = f"postgresql://viewster:{FAKE_SECRET_VALUE}@{database_endpoint}:5432/viewster"
            if broker is not None and broker[1].queues:
                env["RABBITMQ_URL"] = f"amqp://guest:guest@{broker[0]}:5672/%2F?heartbeat=30"
                env["RABBITMQ_QUEUES"] = ",".join(q.name for q in broker[1].queues.values())
        started.append({"name": name, "image": image, "publish": publish, "env": env})
    return started


def _local_images(role: Role, registry: dict[str, dict]) -> list[dict]:
    """The host's image store, as `docker pull` of its containers' repositories left it (every image in them) and
    its public images. RepoDigests is what a registry pull records: repository@digest of the manifest."""
    local = []
    for container in role.containers.values():
        if container.ecr_repository is not None:
            uri = registry[container.ecr_repository]["uri"]
            local += [
                {
                    "Id": image["id"],
                    "RepoTags": [f"{uri}:{tag}" for tag in image["tags"]],
                    "RepoDigests": [f"{uri}@{image['digest']}"],
                }
                for image in registry[container.ecr_repository]["images"]
            ]
        else:  # a public image: no registry here to pull from, so its digest is made from its name
            digest = "sha256:" + hashlib.sha256(container.image.encode()).hexdigest()
            local.append(
                {
                    "Id": "sha256:" + hashlib.sha256(digest.encode()).hexdigest(),
                    "RepoTags": [container.image],
                    "RepoDigests": [f"{container.image.split(':')[0]}@{digest}"],
                }
            )
    return local


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
    (etc_nginx / "sites-enabled").mkdir(parents=True, exist_ok=True)
    (etc_nginx / "snippets").mkdir(exist_ok=True)
    (etc_nginx / "conf.d").mkdir(exist_ok=True)
    (etc_nginx / "mime.types").write_text(Path("/etc/nginx/mime.types").read_text())
    (etc_nginx / "nginx.conf").write_text(
        "user www-data;\n"
        "worker_processes 1;\n"
        "pid /run/nginx.pid;\n"
        "error_log /var/log/nginx/error.log;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        "    include /etc/nginx/mime.types;\n"
        "    access_log /var/log/nginx/access.log;\n"
        "    include /etc/nginx/conf.d/*.conf;\n"
        "    include /etc/nginx/sites-enabled/*;\n"
        "}\n"
    )
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
