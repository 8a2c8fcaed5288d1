"""PID 1 of a sandbox host (inside its own network, PID, mount and UTS namespaces).

Gives the host private /run, /tmp-free state dirs, /var/log and /home, binds its own /etc entries (nginx, hosts,
hostname, passwd and group with the SSH user, sudoers, docker), mounts the cgroup hierarchies again (`ip netns
exec` mounts a fresh /sys without them, and dockerd needs them), starts nginx and Debian's dockerd, pulls the
images and runs the containers as the host's deploy does, then becomes sshd. The database host becomes PostgreSQL
instead, the DNS host dnsmasq.

    python -m viewster_infra.sandbox.hosts.init HOST_DIR
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

# Not /tmp: the sandbox's own files (host directories, keys) may live there, as the unit tests' do.
PRIVATE_DIRS = ["/run", "/var/log", "/var/lib/docker", "/var/lib/containerd", "/var/lib/nginx", "/home", "/srv"]
POSTGRES_DATA = Path("/srv/postgres")
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
PERFORMANCE_INSIGHTS_ROLE = "rds_performance_insights"
SANDBOX_NETWORK = "198.18.0.0/15"  # what the sandbox's Performance Insights reads as
RECORDS_FILE = "zone.hosts"  # the DNS host's records, "address name" per line
SKELETON_BASHRC, ROOT_BASHRC = "/etc/skel/.bashrc", "/root/.bashrc"
DNSMASQ = "/usr/sbin/dnsmasq"  # Debian's dnsmasq-base: the binary, no service
DOCKER = "/usr/bin/docker"  # Debian's CLI (a machine may have another `docker` earlier on PATH)
DOCKERD = "/usr/sbin/dockerd"
DOCKERD_READY_SECONDS = 30


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


def cgroups(mounts: list[list[str]]) -> None:
    """The machine's cgroup mounts, as /proc/mounts lists them (v1 hierarchies or the v2 one), again under the
    fresh /sys: what dockerd and runc manage containers' resources through."""
    for fstype, options, target in mounts:
        Path(target).mkdir(parents=True, exist_ok=True)
        sh("mount", "-t", fstype, "-o", options, fstype, target)


def ssh_user(config: dict) -> None:
    """The SSH user's home with its authorized key, as cloud-init leaves it on an EC2 host."""
    user = config["ssh_user"]
    home = Path("/home") / user["name"]
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (home / ".ssh" / "authorized_keys").write_text(Path(user["authorized_key"]).read_text())
    for path in (home, home / ".ssh", home / ".ssh" / "authorized_keys"):
        os.chown(path, user["uid"], user["gid"])


def dockerd(config: dict) -> None:
    """Debian's dockerd with its defaults (socket /run/docker.sock, data in the private /var/lib/docker, its own
    containerd) and /etc/docker/daemon.json; returns once it answers."""
    log = open(Path(config["dir"]) / "dockerd.log", "ab")  # noqa: SIM115 - handed to dockerd
    subprocess.Popen([DOCKERD], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + DOCKERD_READY_SECONDS
    while subprocess.run([DOCKER, "version"], capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"dockerd did not answer within {DOCKERD_READY_SECONDS}s (see dockerd.log)")
        time.sleep(0.1)


def deploy(config: dict) -> None:
    """What the host's deploy does: pull the images, then `docker run` each container."""
    # all at once, as a compose deploy does: the broker's boot (seconds) starts as early as it can
    together([[DOCKER, "pull", "--quiet", *pull] for pull in config["pulls"]])
    together([run_argv(container) for container in config["containers"]])


def together(commands: list[list[str]]) -> None:
    """Run the commands at once; fail as sh() does if any of them fails."""
    started = [subprocess.Popen(argv, stdout=subprocess.DEVNULL) for argv in commands]
    for argv, process in zip(commands, started, strict=True):
        if process.wait() != 0:
            raise subprocess.CalledProcessError(process.returncode, argv)


def run_argv(container: dict) -> list[str]:
    """The `docker run` that starts one container of host.json, as the host's deploy does."""
    argv = [DOCKER, "run", "-d", "--name", container["name"], "--restart", "unless-stopped"]
    for publish in container["publish"]:
        argv += ["-p", publish]
    for volume in container["volumes"]:
        argv += ["-v", volume]
    for name, address in container["hosts"].items():
        argv += ["--add-host", f"{name}:{address}"]
    for key, value in container["env"].items():
        argv += ["-e", f"{key}={value}"]
    return [*argv, container["image"], *container["command"]]


# As RDS for PostgreSQL 11 and later: pg_stat_statements loaded (Performance Insights' SQL statistics come from it),
# and the application's database. Run in single-user mode before the server starts, on a fresh data directory.
POSTGRES_SETUP = {
    "postgres": [
        "CREATE DATABASE viewster",
        f"CREATE ROLE {PERFORMANCE_INSIGHTS_ROLE} LOGIN IN ROLE pg_read_all_stats",
    ],
    "viewster": ["CREATE EXTENSION pg_stat_statements"],
}


def become_postgres(address: str) -> None:
    POSTGRES_DATA.mkdir(parents=True)
    Path("/run/postgresql").mkdir()
    for path in (POSTGRES_DATA, Path("/run/postgresql")):
        os.chown(path, _uid("postgres"), _gid("postgres"))
    as_postgres = ["runuser", "-u", "postgres", "--"]
    sh(
        *as_postgres,
        str(POSTGRES_BIN / "initdb"),
        "-D",
        str(POSTGRES_DATA),
        "-U",
        "viewster",
        "--auth=trust",
        stdout=subprocess.DEVNULL,
    )
    # The sandbox's hosts and the machine itself (the sandbox's Performance Insights, the drift tests) log in over
    # TCP from the sandbox's own network only.
    with (POSTGRES_DATA / "pg_hba.conf").open("a") as hba:
        hba.write(f"host all all {SANDBOX_NETWORK} trust\n")
    for database, statements in POSTGRES_SETUP.items():
        subprocess.run(
            [*as_postgres, str(POSTGRES_BIN / "postgres"), "--single", "-D", str(POSTGRES_DATA), database],
            input="".join(f"{statement};\n" for statement in statements),
            text=True,
            check=True,
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
            str(POSTGRES_DATA),
            "-c",
            f"listen_addresses={address}",
            "-c",
            "unix_socket_directories=/run/postgresql",
            "-c",
            "shared_preload_libraries=pg_stat_statements",
            "-c",
            "pg_stat_statements.track=all",  # statements inside functions too, as a slow query often is
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
    os.environ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    cgroups(config["cgroup_mounts"])
    ssh_user(config)
    if config["nginx"]:
        sh("nginx")
    dockerd(config)
    deploy(config)
    os.execv("/usr/sbin/sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", str(host_dir / "sshd_config")])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
