"""Prints what the host half costs for `pytest --env=staging --sandbox` on the replica hosts' real Docker Engine:
the engine's version, the probe's time per host (SSH per host: one connection, one command) and the full run's
wall, both as is and with 50 ms extra round trip to every host; and, for comparison, what one `docker stats
--no-stream` takes on the same engine (the probe samples the containers' cgroups instead).

The kernel here has no netem, so latency is added by a small TCP proxy on 127.0.0.1 that holds every chunk for
25 ms in each direction; an ssh_config sends each host alias through it (HostKeyAlias keeps host keys verified).
Uses a private sandbox and leaves nothing running. Needs root and the host packages (make host-packages).

    .venv/bin/python benchmarks/host_numbers.py [--runs 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import delaying_proxy  # noqa: E402

from viewster_infra.sandbox import lifecycle  # noqa: E402

ONE_WAY_DELAY = 0.025


def delayed_ssh_config(original: Path, hosts: dict, ports: dict[str, int], out: Path) -> Path:
    text = original.read_text()
    for role, host in hosts.items():
        if role in ports:
            text = text.replace(
                f"    HostName {host['address']}\n",
                f"    HostName 127.0.0.1\n    Port {ports[role]}\n    HostKeyAlias {host['address']}\n",
            )
    out.write_text(text)
    return out


def run_suite(state_dir: Path, reports: Path, *extra: str) -> tuple[float, str, str]:
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--env=staging",
            "--sandbox",
            f"--sandbox-dir={state_dir}",
            f"--reports-dir={reports}",
            "-p",
            "no:cacheprovider",
            "-q",
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"suite failed ({done.returncode}):\n{done.stdout[-3000:]}")
    ssh = re.search(r"SSH per host: (.*)", done.stdout).group(1)
    passed = re.search(r"(\d+) passed", done.stdout).group(1)
    return elapsed, ssh, passed


def engine_and_stats(ssh_config: Path) -> None:
    def on_thirdparty(command: str) -> tuple[float, str]:
        started = time.monotonic()
        done = subprocess.run(
            ["ssh", "-F", str(ssh_config), "staging-thirdparty", command], capture_output=True, text=True
        )
        return time.monotonic() - started, done.stdout.strip()

    _, version = on_thirdparty("docker version --format '{{.Server.Version}}'")
    print(f"Docker Engine on the replica hosts: {version}")
    timings = [on_thirdparty("docker stats --no-stream redis rabbitmq >/dev/null")[0] for _ in range(3)]
    print(f"docker stats --no-stream (2 containers, over ssh): {', '.join(f'{t:.2f}' for t in timings)} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant; the median is printed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="viewster-hostbench-") as tmp:
        work = Path(tmp)
        state_dir = work / "sandbox"
        state = lifecycle.up("staging", ROOT / "specs", state_dir)
        try:
            if state.hosts is None:
                sys.exit(f"no replica hosts: {state.hosts_unavailable}")
            hosts = {role: h for role, h in state.hosts["hosts"].items() if h["ssh_alias"]}
            engine_and_stats(Path(state.hosts["ssh_config"]))
            ports = delaying_proxy.start({role: (h["address"], 22) for role, h in hosts.items()}, ONE_WAY_DELAY)
            delayed = delayed_ssh_config(Path(state.hosts["ssh_config"]), hosts, ports, work / "ssh_config.delayed")
            for label, extra in (("direct", ()), ("+50 ms round trip", (f"--ssh-config={delayed}",))):
                results = [run_suite(state_dir, work / "reports", *extra) for _ in range(args.runs)]
                wall = statistics.median(r[0] for r in results)
                print(f"{label}: {results[0][2]} checks, wall {wall:.2f} s (median of {args.runs} runs)")
                for _, ssh, _ in results:
                    print(f"    SSH per host: {ssh}")
        finally:
            lifecycle.down("staging", state_dir)


if __name__ == "__main__":
    main()
