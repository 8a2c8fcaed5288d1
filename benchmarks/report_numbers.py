"""Prints what the reports cost: the size of a run's HTML, JSON and JUnit files, and the time writing them adds to
a run (the JSON document, the HTML page and reports/index.html, measured on a real run's JSON, median of 20).
Uses a private sandbox with one drift (so the page has a failure with evidence) and leaves nothing running.

    .venv/bin/python benchmarks/report_numbers.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from viewster_infra.report import html, records  # noqa: E402
from viewster_infra.sandbox import lifecycle  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="viewster-reportbench-") as tmp:
        work = Path(tmp)
        state_dir, reports = work / "sandbox", work / "reports"
        state = lifecycle.up("staging", ROOT / "specs", state_dir)
        try:
            if state.hosts is not None:  # a failure with evidence: the stopped container's last log lines
                subprocess.run(
                    ["ssh", "-F", state.hosts["ssh_config"], "staging-backend", "docker stop backend-blue"],
                    capture_output=True,
                    check=True,
                )
            for _ in range(3):  # three runs: the index lists them, the last compares with the one before
                subprocess.run(
                    [sys.executable, "-m", "pytest", "--env=staging", "--sandbox", f"--sandbox-dir={state_dir}"]
                    + [f"--reports-dir={reports}", "-p", "no:cacheprovider", "-q"],
                    cwd=ROOT,
                    capture_output=True,
                )
        finally:
            lifecycle.down("staging", state_dir)
        newest = max(reports.glob("staging-*.json"))
        for suffix in ("html", "json", "xml"):
            size = newest.with_suffix(f".{suffix}").stat().st_size
            print(f"{suffix}: {size / 1024:.0f} KiB")
        print(f"index.html: {(reports / 'index.html').stat().st_size / 1024:.0f} KiB for 3 runs")
        doc = json.loads(newest.read_text())
        print(f"results: {len(doc['results'])} records; counts {doc['counts']['by_status']}")
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            records.write(work / "bench.json", doc)
            html.write(work / "bench.html", html.render_run(doc))
            html.write(work / "index.html", html.render_index(reports))
            timings.append(time.perf_counter() - started)
        print(f"writing JSON + HTML + index: {statistics.median(timings) * 1000:.0f} ms (median of 20)")


if __name__ == "__main__":
    main()
