"""Prints what the work since a base commit costs a run: the whole suite's wall time and AWS requests at the base
and now, each on its own staging sandbox with hosts, the same number of runs, alternating, each after a previous
report (as CI runs it), and the requests added per operation. Leaves nothing running; the base commit is checked
out in a temporary git worktree.

    .venv/bin/python benchmarks/since_base.py [--base 88334ef] [--runs 7]

Change control (issue 20): --base 88334ef. The database's live state (issue 21): --base 62f2a31.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def run(tree: Path, work: Path) -> tuple[float, float, int, dict[str, int]]:
    """(process wall s, the run's own Duration s, AWS requests, requests per operation) of one whole run."""
    started = time.monotonic()
    done = subprocess.run(
        [PYTHON, "-m", "pytest", "--env=staging", "--sandbox", f"--sandbox-dir={work / 'sandbox'}",
         f"--reports-dir={work / 'reports'}", "-p", "no:cacheprovider", "-q", "tests_infra"],
        cwd=tree, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(tree)),
    )  # fmt: skip
    wall = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"{tree}: the suite failed ({done.returncode}):\n{done.stdout[-3000:]}")
    duration = float(re.search(r"^Duration: ([\d.]+) s", done.stdout, re.M).group(1))
    calls = int(re.search(r"^AWS API calls: (\d+)", done.stdout, re.M).group(1))
    operations = {
        name: int(count)
        for name, count in re.findall(
            r"([\w-]+:\w+) (\d+)", re.search(r"^AWS operations: (.*)$", done.stdout, re.M).group(1)
        )
    }
    return wall, duration, calls, operations


def sandbox(tree: Path, work: Path, action: str) -> None:
    subprocess.run(
        [PYTHON, "-m", "viewster_infra.sandbox", action, "--env=staging", f"--state-dir={work / 'sandbox'}"],
        cwd=tree, check=True, capture_output=True, env=dict(os.environ, PYTHONPATH=str(tree)),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="88334ef", help="the commit to compare with (default: 88334ef)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="viewster-bench-") as tmp:
        base_tree = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base_tree), args.base],
                       check=True, capture_output=True)  # fmt: skip
        trees = {"base": base_tree, "now": ROOT}
        works = {name: Path(tmp) / f"work-{name}" for name in trees}
        try:
            for name, tree in trees.items():
                sandbox(tree, works[name], "up")
                run(tree, works[name])  # a first run: the next ones have a previous report, as in CI
            measured: dict[str, list[tuple]] = {name: [] for name in trees}
            for _ in range(args.runs):
                for name, tree in trees.items():  # alternating, so that the machine's state is shared fairly
                    measured[name].append(run(tree, works[name]))
        finally:
            for name, tree in trees.items():
                sandbox(tree, works[name], "down")
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)], capture_output=True
            )
    print(f"whole staging suite with hosts, {args.runs} runs each, median (min-max):")
    for name, runs in measured.items():
        walls, durations = [r[0] for r in runs], [r[1] for r in runs]
        print(
            f"  {name:5} ({args.base if name == 'base' else 'HEAD'}): wall {statistics.median(walls):.2f} s "
            f"({min(walls):.2f}-{max(walls):.2f}), run Duration {statistics.median(durations):.2f} s, "
            f"AWS requests {runs[-1][2]}"
        )
    difference = statistics.median(r[0] for r in measured["now"]) - statistics.median(r[0] for r in measured["base"])
    print(f"  wall difference: {difference:+.2f} s")
    base_ops, now_ops = measured["base"][-1][3], measured["now"][-1][3]
    added = {op: now_ops.get(op, 0) - base_ops.get(op, 0) for op in sorted(set(base_ops) | set(now_ops))}
    print("  requests added per run: " + ", ".join(f"{op} {n:+d}" for op, n in added.items() if n))


if __name__ == "__main__":
    main()
