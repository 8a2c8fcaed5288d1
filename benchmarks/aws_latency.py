"""Prints what AWS round trips cost a run: the AWS checks alone (tests_infra/aws), straight to the sandbox's moto and
through a proxy adding 100 ms to every round trip (50 ms each way), as a CI runner far from Seoul would see. Also
the AWS API calls of each run (they must be equal). Uses a private sandbox without hosts; leaves nothing running.

    .venv/bin/python benchmarks/aws_latency.py [--runs 5] [--delay-ms 100]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import delaying_proxy  # noqa: E402

from viewster_infra.sandbox import lifecycle  # noqa: E402
from viewster_infra.sandbox.hosts import lifecycle as hosts_lifecycle  # noqa: E402


def run(state_dir: Path, reports: Path) -> tuple[float, int, str]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--env=staging", "--sandbox", f"--sandbox-dir={state_dir}",
         f"--reports-dir={reports}", "-p", "no:cacheprovider", "-q", "tests_infra/aws"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"suite failed ({done.returncode}):\n{done.stdout[-3000:]}")
    calls = int(re.search(r"AWS API calls: (\d+)", done.stdout).group(1))
    phases = re.search(r"Phases: (.*)", done.stdout).group(1)
    return elapsed, calls, phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs of each variant; the median is printed")
    parser.add_argument("--delay-ms", type=float, default=100, help="added round trip, split evenly both ways")
    args = parser.parse_args()
    hosts_lifecycle.unavailable_reason = lambda: "not needed for the AWS checks"  # moto only: faster, quieter
    with tempfile.TemporaryDirectory(prefix="viewster-awsbench-") as tmp:
        work = Path(tmp)
        direct_dir, delayed_dir = work / "direct", work / "delayed"
        state = lifecycle.up("staging", ROOT / "specs", direct_dir)
        try:
            moto = urlsplit(state.aws_endpoint_url)
            port = delaying_proxy.start({"moto": (moto.hostname, moto.port)}, args.delay_ms / 2000)["moto"]
            delayed_dir.mkdir()
            document = json.loads((direct_dir / "staging.json").read_text())
            document["aws_endpoint_url"] = f"http://127.0.0.1:{port}"
            (delayed_dir / "staging.json").write_text(json.dumps(document))
            results = {}
            for label, state_dir in (("direct", direct_dir), (f"+{args.delay_ms:g} ms round trip", delayed_dir)):
                runs = [run(state_dir, work / "reports") for _ in range(args.runs)]
                results[label] = statistics.median(r[0] for r in runs)
                print(f"{label}: AWS checks wall {results[label]:.2f} s (median of {args.runs}), "
                      f"AWS API calls {sorted({r[1] for r in runs})}")  # fmt: skip
                print(f"    {runs[len(runs) // 2][2]}")
            direct, delayed = results.values()
            print(f"added by the round trips: {delayed - direct:.2f} s")
        finally:
            lifecycle.down("staging", direct_dir)


if __name__ == "__main__":
    main()
