"""Prints what the post-deploy gate costs and shows on the sandbox: the AWS calls deploy verification adds, the time
of a run with and without it, a settled run in which a container comes up 5 s late, actionlint's verdict on the
workflow, and the CI role's policy's action count. Uses a private sandbox and leaves nothing running. Needs root
and the host packages (make host-packages).

    .venv/bin/python benchmarks/deploy_numbers.py [--runs 3]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from viewster_infra.sandbox import lifecycle  # noqa: E402
from viewster_infra.sandbox.ecr_images import COMMITS  # noqa: E402


def suite(state_dir: Path, reports: Path, *extra: str, check: bool = True) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--env=staging", "--sandbox", f"--sandbox-dir={state_dir}"]
        + [f"--reports-dir={reports}", "-p", "no:cacheprovider", "-q", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    if check and done.returncode != 0:
        sys.exit(f"suite failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return elapsed, done.stdout


def calls(out: str) -> str:
    return re.search(r"AWS API calls: (.*)", out).group(1)


def ssh(state, role: str, command: str) -> None:
    subprocess.run(
        ["ssh", "-F", state.hosts["ssh_config"], f"staging-{role}", command],
        check=True,
        timeout=60,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant; the median is printed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="viewster-deploybench-") as tmp:
        work = Path(tmp)
        state_dir, reports = work / "sandbox", work / "reports"
        state = lifecycle.up("staging", ROOT / "specs", state_dir)
        try:
            if state.hosts is None:
                sys.exit(f"no replica hosts: {state.hosts_unavailable}")
            variants = {
                "without the deploy checks (-k 'not deploy')": ("-k", "not deploy"),
                "all checks, no --deployed-sha": (),
                "all checks, --deployed-sha of the running commit": (f"--deployed-sha={COMMITS[-1][:7]}",),
                "all checks, --deployed-sha of the older commit": (f"--deployed-sha={COMMITS[0][:7]}",),
            }
            for label, extra in variants.items():
                older = "older" in label
                results = [suite(state_dir, reports, *extra, check=not older) for _ in range(args.runs)]
                wall = statistics.median(r[0] for r in results)
                print(f"{label}: wall {wall:.2f} s (median of {args.runs}); AWS API calls {calls(results[0][1])}")
            suite(state_dir, reports, "-k", "ecr or deploy", f"--deployed-sha={COMMITS[-1][:7]}")
            print(f"  ECR reads of a run: {ecr_operations(reports)}")

            ssh(state, "backend", "docker stop backend-blue")
            ssh(state, "backend", "nohup sh -c 'sleep 5; docker start backend-blue' >/dev/null 2>&1 &")
            wall, out = suite(state_dir, reports, "--settle=30s")
            print(f"settled run, backend-blue up 5 s after the start: wall {wall:.2f} s")
            for line in re.findall(r"^(test_\S+: (?:passed|still failing) .*)$", out, re.MULTILINE):
                print(f"  {line}")
            print(f"  SSH per host: {re.search(r'SSH per host: (.*)', out).group(1)}")
        finally:
            lifecycle.down("staging", state_dir)

    lint = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "actionlint"), "-no-color", ".github/workflows/post-deploy-checks.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    verdict = "no findings" if lint.returncode == 0 else lint.stdout.strip()
    print(f"actionlint .github/workflows/post-deploy-checks.yml: exit {lint.returncode}, {verdict}")
    policy = json.loads((ROOT / "iam" / "post-deploy-checks-policy.json").read_text())
    actions = [a for statement in policy["Statement"] for a in statement["Action"]]
    wildcard = [a for a in actions if "*" in a]
    print(f"iam/post-deploy-checks-policy.json: {len(actions)} actions, {len(wildcard)} with a wildcard")


def ecr_operations(reports: Path) -> str:
    newest = max(reports.glob("*.xml"), key=lambda p: p.stat().st_mtime).read_text()
    operations = re.search(r'name="AWS operations" value="([^"]*)"', newest).group(1)
    return ", ".join(op for op in operations.split(", ") if op.startswith("ecr:"))


if __name__ == "__main__":
    main()
