"""Sandboxes side by side: a slot is handed out only when none of its links exist, allocation and release share one
lock, and removing a sandbox deletes its veths from the root side (at once) before its namespaces (which the
kernel destroys later). Proven with the hosts' network alone: namespaces and veths made and removed exactly as a
sandbox's `up` and `down` make and remove them, without starting the hosts' programs."""

import subprocess
import sys

import pytest

from tests_unit.harness import ROOT
from viewster_infra.sandbox.hosts import layout, network, render
from viewster_infra.sandbox.hosts import lifecycle as hosts

pytestmark = pytest.mark.skipif(hosts.unavailable_reason() is not None, reason=str(hosts.unavailable_reason()))

# One "checkout": up (a slot, its namespaces and veths), check they are there, down; again and again at once.
CYCLE = """
import sys, tempfile
from pathlib import Path
from viewster_infra.sandbox.hosts import layout, network, render
from viewster_infra.sandbox.hosts import lifecycle as hosts

env, rounds = sys.argv[1], int(sys.argv[2])
for _ in range(rounds):
    index = hosts.allocate_slot()
    places = layout.places(env, index, ["frontend", "backend"])
    for place in places.values():
        network.netns_up(place, layout.bridge_name(index))
    mine = set(network.namespaces_with_prefix(layout.netns_prefix(index, env)))
    assert mine == {p.netns for p in places.values()}, mine
    hosts.down(env, index, Path(tempfile.mkdtemp()))
    assert network.namespaces_with_prefix(layout.netns_prefix(index, env)) == []
print("ok")
"""


def cycle(env: str, rounds: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CYCLE, env, str(rounds)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_down_then_up_at_once_again_and_again():
    done = cycle("slotloop", 8)
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0 and out.strip() == "ok", err[-2000:]


def test_two_checkouts_go_up_and_down_side_by_side():
    first, second = cycle("slotleft", 6), cycle("slotright", 6)
    for done in (first, second):
        out, err = done.communicate(timeout=120)
        assert done.returncode == 0 and out.strip() == "ok", err[-2000:]


def test_a_slot_whose_veth_lingers_is_not_handed_out():
    index = hosts.allocate_slot()
    place = layout.places("slotlinger", index, ["frontend"])["frontend"]
    network.ip("link", "del", layout.bridge_name(index))  # the bridge gone, a veth pair still there
    network.ip("link", "add", place.veth, "type", "veth", "peer", "name", f"{place.veth}n")
    try:
        other = hosts.allocate_slot()
        assert other != index
        network.ip("link", "del", layout.bridge_name(other))
    finally:
        network.ip("link", "del", place.veth, check=False)


def test_down_removes_the_hosts_container_cgroups_wherever_dockerd_put_them(tmp_path):
    # as on this machine: the cpu hierarchy's parent at its root, the memory one's under dockerd's own cgroup
    mine, other = render.cgroup_parent("viewster7-staging-backend"), render.cgroup_parent("viewster8-staging-backend")
    made = [
        tmp_path / "cpu" / mine / "4f3c",
        tmp_path / "memory" / "process_api" / "14ea" / mine / "4f3c",
        tmp_path / "memory" / "process_api" / "14ea" / other / "9a0b",
    ]
    for directory in made:
        directory.mkdir(parents=True)
    hosts._remove_cgroups(["viewster7-staging-backend"], root=tmp_path)
    assert not (tmp_path / "cpu" / mine).exists()
    assert not (tmp_path / "memory" / "process_api" / "14ea" / mine).exists()
    assert made[2].exists()  # another sandbox's, untouched
