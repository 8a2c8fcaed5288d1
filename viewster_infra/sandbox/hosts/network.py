"""Bridge, namespaces and veth pairs (iproute2). Namespaces get no default route: only their bridge is reachable.

The kernel destroys a deleted namespace asynchronously: its end of a veth pair, and so the pair, can linger for
seconds to minutes after `ip netns del`. Deleting the pair from the root side is immediate, so every removal
deletes the veths first, and a slot counts as free only when none of its links exist (hosts/lifecycle.py)."""

from __future__ import annotations

import re
import subprocess

from viewster_infra.sandbox.hosts.layout import HostPlace
from viewster_infra.sandbox.moto_server import SandboxError


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SandboxError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def bridge_up(bridge: str, gateway: str) -> None:
    ip("link", "add", bridge, "type", "bridge")
    ip("addr", "add", f"{gateway}/24", "dev", bridge)
    ip("link", "set", bridge, "up")


def netns_up(place: HostPlace, bridge: str) -> None:
    ip("netns", "add", place.netns)
    inside = f"{place.veth}n"
    ip("link", "add", place.veth, "type", "veth", "peer", "name", inside)
    ip("link", "set", inside, "netns", place.netns)
    ip("-n", place.netns, "link", "set", inside, "name", "eth0")
    ip("-n", place.netns, "addr", "add", f"{place.address}/24", "dev", "eth0")
    ip("-n", place.netns, "link", "set", "eth0", "up")
    ip("-n", place.netns, "link", "set", "lo", "up")
    ip("link", "set", place.veth, "master", bridge, "up")


def namespaces_with_prefix(prefix: str) -> list[str]:
    listed = ip("netns", "list", check=False).stdout.splitlines()
    return [line.split()[0] for line in listed if line.startswith(prefix)]


def links_matching(pattern: str) -> list[str]:
    """Names of the root namespace's links that match `pattern` (a regular expression, whole name)."""
    names = [line.split(": ")[1].split("@")[0] for line in ip("-o", "link", "show").stdout.splitlines()]
    return [name for name in names if re.fullmatch(pattern, name)]


def remove(netns_names: list[str], bridge: str, veths: list[str]) -> None:
    """Kill whatever still runs in each namespace, delete the veth pairs from the root side (at once, both ends),
    then the namespaces, then the bridge."""
    for name in netns_names:
        for pid in ip("netns", "pids", name, check=False).stdout.split():
            subprocess.run(["kill", "-9", pid], capture_output=True)
    for veth in veths:
        ip("link", "del", veth, check=False)
    for name in netns_names:
        ip("netns", "del", name, check=False)
    ip("link", "del", bridge, check=False)
