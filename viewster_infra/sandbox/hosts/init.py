"""PID 1 of a sandbox host (inside its own network, PID, mount and UTS namespaces).

Gives the host private /run, /tmp, /var/log and service state, binds its own /etc/nginx, /etc/hosts and
/etc/hostname, puts the `docker` stand-in first on PATH, starts nginx and the containers, then becomes sshd.
The database host becomes PostgreSQL instead, the DNS host dnsmasq.

    python -m viewster_infra.sandbox.hosts.init HOST_DIR
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

# Not /tmp: the sandbox's own files (host directories, keys) may live there, as the unit tests' do.
PRIVATE_DIRS = ["/run", "/var/log", "/var/lib/docker-standin", "/var/lib/nginx", "/usr/local/sbin"]
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
RECORDS_FILE = "zone.hosts"  # the DNS host's records, "address name" per line
SKELETON_BASHRC, ROOT_BASHRC = "/etc/skel/.bashrc", "/root/.bashrc"
DOCKER_SOCKET = "/run/docker-standin.sock"  # the stand-in's daemon, as /run/docker.sock is dockerd's
DNSMASQ = "/usr/sbin/dnsmasq"  # Debian's dnsmasq-base: the binary, no service


def sh(*argv: str, **kwargs) -> None:
    subprocess.run(argv, check=True, **kwargs)


def private_filesystem(host_dir: Path) -> None:
    for directory in PRIVATE_DIRS:
        Path(directory).mkdir(parents=True, exist_ok=True)
        sh("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", directory)
    for entry in sorted((host_dir / "etc").iterdir()):
        target = Path("/etc") / entry.name
        if target.exists():
            sh("mount", "--bind", str(entry), str(target))
    # A fresh machine's root: Debian's default ~/.bashrc, which returns at once for a command run over SSH (bash
    # reads it then). This machine's own may set up a developer's tools (pyenv's init forks about a hundred
    # processes) before every command the suite sends.
    if Path(SKELETON_BASHRC).exists() and Path(ROOT_BASHRC).exists():
        sh("mount", "--bind", SKELETON_BASHRC, ROOT_BASHRC)
    socket.sethostname((host_dir / "etc" / "hostname").read_text().strip())
    for directory in ("/var/log/nginx", "/run/sshd", "/var/lib/nginx/body"):
        Path(directory).mkdir(parents=True, exist_ok=True)


def docker_standin(config: dict) -> None:
    """`docker` on this host: a client of the stand-in's daemon (docker_daemon.py), as Docker's CLI is dockerd's.
    Built from docker_client.c for the sandbox (docker_client.py); where no daemon listens, it runs the stand-in."""
    shutil.copy(config["docker_client"], "/usr/local/sbin/docker")  # a private tmpfs: this host's own PATH entry


def docker_daemon(config: dict) -> None:
    """Starts the stand-in's daemon on a socket already listening, so that no `docker` call can come too early."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(DOCKER_SOCKET)
    os.chmod(DOCKER_SOCKET, 0o600)
    listener.listen(128)
    subprocess.Popen(
        [config["python"], "-m", "viewster_infra.sandbox.hosts.docker_daemon", str(listener.fileno())],
        pass_fds=(listener.fileno(),),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd="/",
        env=dict(os.environ, PYTHONPATH=config["root"]),
    )
    listener.close()


def image_store(config: dict) -> None:
    """The images this host has pulled (render.py), where the docker stand-in looks them up."""
    store = Path("/var/lib/docker-standin/images")
    store.mkdir(parents=True, exist_ok=True)
    (store / "index.json").write_text(json.dumps(config["images"], indent=2))


def start_containers(config: dict) -> None:
    for container in config["containers"]:
        sh(*run_argv(container), stdout=subprocess.DEVNULL, env=dict(os.environ, PATH=_path()))


def run_argv(container: dict) -> list[str]:
    """The `docker run` that starts one container of host.json, as the host's deploy does."""
    argv = ["docker", "run", "-d", "--name", container["name"]]
    for publish in container["publish"]:
        argv += ["-p", publish]
    for key, value in container["env"].items():
        argv += ["-e", f"{key}={value}"]
    return [*argv, container["image"]]


def _path() -> str:
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def become_postgres(address: str) -> None:
    data = Path("/var/lib/docker-standin/postgres")
    data.mkdir(parents=True)
    Path("/run/postgresql").mkdir()
    for path in (data, Path("/run/postgresql")):
        os.chown(path, _uid("postgres"), _gid("postgres"))
    sh(
        "runuser",
        "-u",
        "postgres",
        "--",
        str(POSTGRES_BIN / "initdb"),
        "-D",
        str(data),
        "-U",
        "viewster",
        "--auth=trust",
        stdout=subprocess.DEVNULL,
    )
    os.execvp(
        "runuser",
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(POSTGRES_BIN / "postgres"),
            "-D",
            str(data),
            "-c",
            f"listen_addresses={address}",
            "-c",
            "unix_socket_directories=/run/postgresql",
        ],
    )


def _uid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_uid


def _gid(group: str) -> int:
    import grp

    return grp.getgrnam(group).gr_gid


def become_dns(host_dir: Path, address: str, zone: str) -> None:
    """dnsmasq answering for the zone from RECORDS_FILE only (re-read on SIGHUP: lifecycle.sync_dns), and refusing
    every other name: it has no upstream, so no query goes anywhere else."""
    os.execv(
        DNSMASQ,
        [
            DNSMASQ,
            "--keep-in-foreground",
            "--log-facility=-",
            "--user=root",
            "--pid-file=",
            "--no-resolv",
            "--no-hosts",
            f"--addn-hosts={host_dir / RECORDS_FILE}",
            f"--local=/{zone}/",  # unknown names in the zone: NXDOMAIN, never forwarded
            f"--listen-address={address}",
            "--bind-interfaces",
        ],
    )


def main(host_dir: Path) -> None:
    config = json.loads((host_dir / "host.json").read_text())
    private_filesystem(host_dir)
    if config["name"] == "database":
        become_postgres(config["address"])
    if config["name"] == "dns":
        become_dns(host_dir, config["address"], config["zone"])
    os.environ["PATH"] = _path()
    docker_standin(config)
    docker_daemon(config)
    image_store(config)
    if config["nginx"]:
        sh("nginx")
    start_containers(config)
    os.execv("/usr/sbin/sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", str(host_dir / "sshd_config")])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
