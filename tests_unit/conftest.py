"""Fixtures for the suite's own tests: real sandboxes, one per environment and per xdist worker."""

from __future__ import annotations

import shutil
import time

import pytest

from tests_unit.harness import SPEC_DIR, Sandbox


@pytest.fixture(scope="session")
def sandboxes(tmp_path_factory):
    """env -> a running sandbox of that environment, started on first use and stopped at the end."""
    started: dict[str, Sandbox] = {}
    failed: dict[str, Exception] = {}

    def get(env: str) -> Sandbox:
        if env in failed:  # one failed start is reported by every test that needs it, not retried by each
            raise failed[env]
        if env not in started:
            base = tmp_path_factory.mktemp(f"sandbox-{env}")
            try:
                started[env] = Sandbox(env, state_dir=base / "state", reports_dir=base / "reports")
            except Exception as exc:
                failed[env] = exc
                raise
        return started[env]

    yield get
    for sandbox in started.values():
        sandbox.down()


@pytest.fixture
def staging(sandboxes) -> Sandbox:
    """A compliant staging sandbox, fresh for this test: make one drift, run the suite, read the outcome."""
    sandbox = sandboxes("staging")
    sandbox.reset()
    sandbox.wait_until_consumed()
    return sandbox


@pytest.fixture
def staging_hosts(sandboxes):
    """The staging sandbox for host drift: each test names what it drifts with `restore(host)` (the whole host is
    started again, compliant, after it), `restore(host, container)` (only that container is run again: a host
    with RabbitMQ takes seven seconds to start, its Redis a fraction of one), `restore_link(host)` (its network
    link set up again: the host itself was left as it was) or `restore_queues()` (the broker's queues deleted
    with the messages the test left in them; the backend's worker declares them again)."""
    sandbox = sandboxes("staging")
    if sandbox.state.hosts is None:
        pytest.skip(f"no replica hosts here: {sandbox.state.hosts_unavailable}")
    sandbox.reset()
    sandbox.wait_until_consumed()
    drifted: list[tuple[str, str | None]] = []
    links: list[str] = []
    queues: list[bool] = []
    sandbox.restore = lambda host, container=None: drifted.append((host, container))
    sandbox.restore_link = links.append
    sandbox.restore_queues = lambda: queues.append(True)
    yield sandbox
    for host in dict.fromkeys(links):
        sandbox.link_up(host)
    if queues:  # before any host starts again: a new worker would take the messages left behind
        deleted_at = time.monotonic()
        sandbox.delete_queues()
    whole = [host for host, container in dict.fromkeys(drifted) if container is None]
    for host in whole:
        sandbox.restart_host(host)
    for host, container in dict.fromkeys(drifted):
        if container is not None and host not in whole:
            sandbox.recreate_container(host, container)
    if queues:
        sandbox.wait_for_the_worker(since=deleted_at)


@pytest.fixture
def spec_copy(tmp_path):
    """A copy of specs/ to change or break."""
    copy = tmp_path / "specs"
    shutil.copytree(SPEC_DIR, copy)
    return copy
