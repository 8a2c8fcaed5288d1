"""Prints what one drift test of the project's own tests costs on this machine: the sandbox made compliant again
(`Sandbox.reset()`: a restore of moto's snapshot) and a whole staging run in-process (`Sandbox.run()`), each as wall
time and CPU time: this process's, moto's and the whole machine's (the rest is the replica hosts). `make test` is
about 150 such cycles plus the sandboxes it starts. Uses a private sandbox; leaves nothing running.

    .venv/bin/python benchmarks/cycle_numbers.py [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests_unit.harness import Sandbox  # noqa: E402


def machine_cpu_seconds() -> float:
    """CPU time spent by everything on this machine so far (/proc/stat), in seconds."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
    return sum(int(v) for i, v in enumerate(fields) if i not in (3, 4)) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(step, moto_pid: int) -> tuple[float, float, float, float, float]:
    """wall, this process, moto, whole machine, the rest of the machine: seconds spent by `step()`."""
    wall, own, moto, machine = time.monotonic(), own_cpu_seconds(), process_cpu_seconds(moto_pid), machine_cpu_seconds()
    with contextlib.redirect_stdout(io.StringIO()):  # the run's own terminal report
        step()
    own, moto = own_cpu_seconds() - own, process_cpu_seconds(moto_pid) - moto
    machine = machine_cpu_seconds() - machine
    return time.monotonic() - wall, own, moto, machine, max(0.0, machine - own - moto)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="cycles; the median of each figure is printed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="viewster-cycle-") as tmp:
        sandbox = Sandbox("staging", state_dir=Path(tmp) / "state", reports_dir=Path(tmp) / "reports")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                sandbox.run()  # the first run in a process also imports the checks
            cycles = [
                (measured(sandbox.reset, sandbox.state.moto_pid), measured(sandbox.run, sandbox.state.moto_pid))
                for _ in range(args.runs)
            ]
        finally:
            sandbox.down()
    for index, name in enumerate(("reset", "run")):
        wall, own, moto, machine, rest = (statistics.median(c[index][i] for c in cycles) for i in range(5))
        print(
            f"{name:>5}: {wall:.2f} s wall; CPU {machine:.2f} s on the machine: this process {own:.2f} s, "
            f"moto {moto:.2f} s, the replica hosts and the rest {rest:.2f} s (median of {args.runs})"
        )


if __name__ == "__main__":
    main()
