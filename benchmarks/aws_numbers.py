"""Prints the numbers the AWS half of the suite is judged by: checks per environment, AWS API calls per run (with
and without -n 2), and wall times. Uses private sandboxes and report directories; leaves nothing running.

    .venv/bin/python benchmarks/aws_numbers.py [--make-test]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def timed(command: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return elapsed, done.stdout


def suite(env: str, work: Path, *extra: str) -> tuple[float, int, int]:
    """(wall seconds, checks passed, AWS API calls) of `pytest --env=ENV --sandbox EXTRA`."""
    seconds, out = timed(
        [
            PYTHON,
            "-m",
            "pytest",
            f"--env={env}",
            "--sandbox",
            f"--sandbox-dir={work / 'sandbox'}",
            f"--reports-dir={work / 'reports'}",
            "-p",
            "no:cacheprovider",
            *extra,
        ]
    )
    passed = int(re.search(r"(\d+) passed", out).group(1))
    calls = int(re.search(r"AWS API calls: (\d+)", out).group(1))
    return seconds, passed, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--make-test", action="store_true", help="also time `make test` (about two minutes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="viewster-bench-") as tmp:
        work = Path(tmp)
        for env in ("staging", "production"):
            cold, checks, calls = suite(env, work)  # no sandbox running: the run starts and stops one
            timed([PYTHON, "-m", "viewster_infra.sandbox", "up", f"--env={env}", f"--state-dir={work / 'sandbox'}"])
            warm, _, _ = suite(env, work)
            parallel, _, parallel_calls = suite(env, work, "-n", "2")
            timed([PYTHON, "-m", "viewster_infra.sandbox", "down", f"--env={env}", f"--state-dir={work / 'sandbox'}"])
            print(f"{env}: {checks} checks; AWS API calls {calls} (with -n 2: {parallel_calls})")
            print(
                f"{env}: pytest --env={env} --sandbox: {cold:.1f} s starting its own sandbox, "
                f"{warm:.1f} s with one running, {parallel:.1f} s with -n 2"
            )
    if args.make_test:
        seconds, out = timed(["make", "--no-print-directory", "test"])
        print(f"make test: {seconds:.1f} s ({out.strip().splitlines()[-1].strip('= ')})")


if __name__ == "__main__":
    main()
