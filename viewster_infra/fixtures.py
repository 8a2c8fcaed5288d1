"""The fixtures checks are written against: the run, its spec, and its facts (AWS, hosts, endpoints), each
gathered once per run. A check that finds its facts missing fails (or, without replica hosts, skips) with one line."""

from __future__ import annotations

import pytest

from viewster_infra import findings, prefetch
from viewster_infra.collection import CHECKS_DIR
from viewster_infra.context import RunContext
from viewster_infra.factstore import facts_used
from viewster_infra.findings import drift
from viewster_infra.outcomes import READS
from viewster_infra.plugin import CONTEXT


class AwsFacts:
    """What checks read AWS through: `aws.facts("rds")` is the rds collector's data, read once per run."""

    def __init__(self, context: RunContext) -> None:
        self._snapshot = context.snapshot

    def facts(self, service: str) -> dict:
        _declared(service)
        found = self._snapshot.facts(service)
        self._snapshot.store.used(found.name)
        if found.error is not None:
            drift(service, found.error, cause=service)
        return found.data


class UndeclaredRead(Exception):
    """A check read an AWS service its `aws` marker does not name: the run would not have gathered it first."""


def _declared(service: str) -> None:
    item = findings.current_test.get()
    if item is not None and service not in prefetch.declared_services(item):
        raise UndeclaredRead(
            f"{item.name} reads aws.facts({service!r}) without naming it: add @pytest.mark.aws({service!r}) "
            "(or to its module's pytestmark)"
        )


@pytest.fixture(autouse=True)
def _current_test(request: pytest.FixtureRequest):
    """Lets a failing check attach its finding and evidence to its own report (findings.drift), and records which
    facts it read (what --settle reads again, what an AccessDenied on a service takes down)."""
    token = findings.current_test.set(request.node)
    reads: set[str] = set()
    request.node.stash[READS] = reads
    reading = facts_used.set(reads)
    yield
    facts_used.reset(reading)
    findings.current_test.reset(token)


@pytest.fixture(scope="session")
def run(request: pytest.FixtureRequest) -> RunContext:
    """The run's context: environment, spec, account."""
    context = request.config.stash.get(CONTEXT, None)
    if context is None:
        raise pytest.UsageError(f"the checks in {CHECKS_DIR}/ need --env")
    return context


@pytest.fixture(scope="session")
def spec(run: RunContext):
    """The environment's validated spec (specs/common.yaml merged with specs/<env>.yaml)."""
    return run.spec


@pytest.fixture(scope="session")
def aws(run: RunContext) -> AwsFacts:
    """AWS facts, gathered once per service per run and shared across xdist workers."""
    return AwsFacts(run)


class HostFacts:
    """What host checks read: `hosts.facts("backend")` is that host's probe, run once per run over SSH."""

    def __init__(self, context: RunContext) -> None:
        self._hosts = context.hosts

    def facts(self, role: str) -> dict:
        if self._hosts.unavailable is not None:
            pytest.skip(f"no replica hosts in this sandbox: {self._hosts.unavailable}")
        found = self._hosts.facts(role)
        self._hosts.store.used(found.name)
        if found.error is not None:
            drift(f"host {role}", f"unreachable: {found.error}", cause=f"host {role}")
        return found.data


@pytest.fixture(scope="session")
def hosts(run: RunContext) -> HostFacts:
    """Host facts, gathered once per run (one SSH command per host, hosts in parallel)."""
    return HostFacts(run)


class EndpointFacts:
    """What checks of the live endpoints read: probed once per run from outside, as a client would."""

    def __init__(self, context: RunContext) -> None:
        self._context = context

    def facts(self) -> dict:
        if self._context.hosts.unavailable is not None:
            pytest.skip(f"no replica hosts in this sandbox: {self._context.hosts.unavailable}")
        found = self._context.endpoint_facts()
        self._context.snapshot.store.used(found.name)
        return found.data


@pytest.fixture(scope="session")
def endpoints(run: RunContext) -> EndpointFacts:
    """What the environment serves, probed once per run from outside."""
    return EndpointFacts(run)


@pytest.fixture(scope="session")
def role_host(run: RunContext):
    """role -> a testinfra host on the run's SSH connection, for incident tests: `role_host("backend").file(...)`."""
    return run.hosts.testinfra_host
