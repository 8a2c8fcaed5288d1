"""Starts and stops moto's server as a detached process on a free loopback port; takes and puts back snapshots of
its state (moto_snapshot_server.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

READY_TIMEOUT_SECONDS = 20
ROOT = Path(__file__).resolve().parents[2]
# moto_snapshot_server.py's routes, outside every AWS API's paths
SNAPSHOT_PATH = "/_sandbox/snapshot"
RESTORE_PATH = "/_sandbox/restore"
PERFORMANCE_INSIGHTS_PATH = "/_sandbox/performance-insights"  # performance_insights.py: where a stand-in is
RDS_EVENTS_PATH = "/_sandbox/rds/events"  # rds_additions.py: an event AWS raises by itself
RDS_MAINTENANCE_PATH = "/_sandbox/rds/maintenance"  # rds_additions.py: maintenance AWS schedules
SNAPSHOT_SERVER = "viewster_infra.sandbox.moto_snapshot_server"


class SandboxError(Exception):
    """The sandbox could not be brought up or down: one line for the person at the terminal."""


def start(log_path: Path, account_id: str, module: str = SNAPSHOT_SERVER) -> tuple[int, str]:
    """Start moto (or `module`, a wrapper of it); return its pid and endpoint once it answers."""
    port = _free_port()
    env = dict(
        os.environ,
        MOTO_ACCOUNT_ID=account_id,
        PYTHONPATH=str(ROOT),  # for a wrapper module
        # No catalogue of Amazon's public AMIs (about 1,300 per region, with a snapshot each): the sandbox's
        # instances run an image id of their own (seed.py) and the suite reads no AMI. A quarter of moto's state
        # less to copy at every snapshot restore.
        MOTO_EC2_LOAD_DEFAULT_AMIS="false",
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # outlives `up`, and a Ctrl-C in the caller's terminal does not reach it
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxError(f"moto server exited at start (code {process.returncode}); see {log_path}")
        try:
            requests.get(f"{endpoint}/moto-api/data.json", timeout=1)
            return process.pid, endpoint
        except requests.ConnectionError:
            time.sleep(0.1)
    stop(process.pid)
    raise SandboxError(f"moto server did not answer on {endpoint} within {READY_TIMEOUT_SECONDS}s; see {log_path}")


def snapshot(endpoint: str) -> None:
    """The server's state now is the one `restore` goes back to."""
    requests.post(f"{endpoint}{SNAPSHOT_PATH}", timeout=30).raise_for_status()


def restore(endpoint: str) -> None:
    """Back to the state of the last snapshot: every resource, id and datapoint as it was then."""
    requests.post(f"{endpoint}{RESTORE_PATH}", timeout=30).raise_for_status()


def stop(pid: int) -> None:
    """Stop the server and wait for it to go (SIGKILL after 5 s)."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _running(pid):
                return
            time.sleep(0.05)


def _running(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        if finished:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
