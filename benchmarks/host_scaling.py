"""Prints how the host gather grows with the estate: the probes of 3, 10 and 30 hosts, each host its own SSH
connection and probe, gathered at once as a run does. The 30 "hosts" are aliases over the sandbox's three replica
hosts (each role cloned as frontend-2, backend-2, ...), so every connection, SSH handshake and probe is real; the
clones leave out the backend's TCP reach tests (their targets come from AWS facts this benchmark does not read).
Uses a private sandbox; leaves nothing running.

    .venv/bin/python benchmarks/host_scaling.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from viewster_infra.factstore import FactStore  # noqa: E402
from viewster_infra.hosts.gather import HostAccess, HostSnapshot  # noqa: E402
from viewster_infra.sandbox import lifecycle  # noqa: E402
from viewster_infra.spec.loader import merged_document  # noqa: E402
from viewster_infra.spec.model import EnvironmentSpec  # noqa: E402

SIZES = (3, 10, 30)


def estate(count: int) -> tuple[EnvironmentSpec, dict[str, str]]:
    """A staging spec with `count` host roles cloned round-robin from the three, and each clone's original role."""
    document = merged_document(ROOT / "specs", "staging")
    originals = document["hosts"]["roles"]
    for role in originals.values():
        role["reaches"] = []
    bases = list(originals)
    roles, base_of = {}, {}
    for index in range(count):
        base = bases[index % len(bases)]
        key = base if index < len(bases) else f"{base}-{index // len(bases) + 1}"
        roles[key], base_of[key] = originals[base], base
        document["ec2"]["instances"].setdefault(key, document["ec2"]["instances"][base])  # each host an instance
    document["hosts"]["roles"] = roles
    return EnvironmentSpec.model_validate(document), base_of


def machine_cpu_seconds() -> float:
    """CPU time spent by everything on this machine so far (/proc/stat), in seconds."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
    busy = sum(int(v) for i, v in enumerate(fields) if i not in (3, 4))  # not idle, not iowait
    return busy / os.sysconf("SC_CLK_TCK")


def suite_cpu_seconds() -> float:
    """CPU time of this process and its finished children (the ssh clients): the suite's own side of a gather."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def gather_once(state, count: int, work: Path) -> tuple[float, float, float]:
    spec, base_of = estate(count)
    run_dir = Path(tempfile.mkdtemp(dir=work))
    hosts = state.hosts["hosts"]
    access = HostAccess(
        env="staging",
        user="root",
        use_sudo=False,
        ssh_config=state.hosts["ssh_config"],
        sandbox_hosts={
            key: {"address": hosts[base]["address"], "ssh_alias": hosts[base]["ssh_alias"]}
            for key, base in base_of.items()
        },
    )
    snapshot = HostSnapshot(FactStore(run_dir), spec, access, aws=None)
    started, machine, suite = time.monotonic(), machine_cpu_seconds(), suite_cpu_seconds()
    facts = snapshot.store.get_many([f"host-{key}" for key in base_of], snapshot._gather)
    elapsed = time.monotonic() - started
    machine, suite = machine_cpu_seconds() - machine, suite_cpu_seconds() - suite
    snapshot.close()
    failed = [name for name, f in facts.items() if f.error]
    if failed:
        sys.exit(f"gather failed for {failed}")
    return elapsed, suite, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="gathers of each size; the median is printed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="viewster-scaling-") as tmp:
        work = Path(tmp)
        state = lifecycle.up("staging", ROOT / "specs", work / "sandbox")
        try:
            if state.hosts is None:
                sys.exit(f"no replica hosts: {state.hosts_unavailable}")
            medians, cores = {}, os.cpu_count()
            for count in SIZES:
                runs = [gather_once(state, count, work) for _ in range(args.runs)]
                wall, suite, machine = (statistics.median(r[i] for r in runs) for i in range(3))
                medians[count] = wall
                print(
                    f"{count:>2} hosts: host gather {wall:.2f} s wall (median of {args.runs}); CPU: the suite's side "
                    f"{suite:.2f} s ({suite / count * 1000:.0f} ms per host), the whole machine {machine:.2f} s of "
                    f"{wall * cores:.2f} s its {cores} cores had"
                )
            print(f"30 hosts / 3 hosts: {medians[30] / medians[3]:.2f}x wall")
        finally:
            lifecycle.down("staging", work / "sandbox")


if __name__ == "__main__":
    main()
