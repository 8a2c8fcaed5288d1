"""Gather first, then check: before the first check runs, everything the collected checks will read is gathered at
once, in parallel: each AWS service's collector in its own thread (a bounded pool; boto3 clients are shared and
safe to call from threads), the hosts' probes, the endpoints. The run then waits one round trip per request chain
instead of one per request.

What a check reads is what pytest already knows of it: the `hosts` or `endpoints` fixture in its closure, and the
AWS services its `aws` marker names (`pytestmark = pytest.mark.aws("rds")` in a module, `@pytest.mark.aws("ec2")`
on a check that also reads EC2). A check that reads a service it does not name fails saying so (fixtures.py);
`tests_unit/test_prefetch.py` proves a whole run reads exactly what its checks name, so the per-run call count and
the no-repeat rule are exactly as without prefetching.
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

MAX_THREADS = 12  # at most this many things gathered at once: the hosts, the endpoints, ten AWS services
MARKER = "aws"
MARKER_HELP = f"{MARKER}(*services): the AWS services a check reads with aws.facts(service), gathered before it runs"
FIXTURES = ("hosts", "endpoints")  # facts read through a fixture of their own


def declared_services(item: pytest.Item) -> set[str]:
    """The AWS services a check's markers name (its module's and its own)."""
    return {service for marker in item.iter_markers(MARKER) for service in marker.args}


def reads_of(item: pytest.Item) -> set[str]:
    """The facts a check reads: "aws-<service>", "hosts", "endpoints"."""
    found = {f"aws-{service}" for service in declared_services(item)}
    return found | {name for name in FIXTURES if name in getattr(item, "fixturenames", ())}


def needed(items) -> set[str]:
    found: set[str] = set()
    for item in items:
        found |= reads_of(item)
    return found


def gather(context, names: set[str], hosts_together: bool) -> dict[str, float]:
    """Gather `names` in parallel and wait for all of them. Returns seconds per part: "aws" (first start to last
    end of the AWS collectors), "hosts", "endpoints", and "wall"."""
    tasks = {}  # the slowest first (the hosts' probes), so that no AWS read queues ahead of them
    if "hosts" in names and hosts_together and context.hosts.unavailable is None:
        first_role = next(iter(context.spec.hosts.roles))
        tasks["hosts"] = lambda: context.hosts.facts(first_role)  # gathers every host at once
    if "endpoints" in names and context.hosts.unavailable is None:
        tasks["endpoints"] = context.endpoint_facts
    # What a host's probe waits for (the database's endpoint for its TCP reach test, say) is read before the other
    # AWS services: started all at once, the dozen collectors' first requests share one interpreter, and the probe
    # would wait for all of them (about 0.35 s on the sandbox) before it could start.
    awaited = {f"aws-{kind}" for kind in context.hosts.aws_facts_needed()} if "hosts" in tasks else set()
    for name in sorted(n for n in names if n.startswith("aws-")):
        tasks[name] = functools.partial(context.snapshot.facts, name.removeprefix("aws-"))
    spans: dict[str, tuple[float, float]] = {}

    def timed(name: str) -> None:
        started = time.monotonic()
        try:
            tasks[name]()
        except Exception:  # noqa: BLE001 - the check that reads these facts meets the same error and reports it
            pass
        spans[name] = (started, time.monotonic())

    started = time.monotonic()
    if tasks:
        with ThreadPoolExecutor(max_workers=min(MAX_THREADS, len(tasks))) as pool:
            later = [name for name in tasks if name.startswith("aws-") and name not in awaited]
            first = {name: pool.submit(timed, name) for name in tasks if name not in later}
            for name in awaited & set(first):
                first[name].result()  # the hosts' probes and the endpoints go on meanwhile
            for name in later:
                pool.submit(timed, name)
    parts = {"wall": time.monotonic() - started}
    aws = [span for name, span in spans.items() if name.startswith("aws-")]
    if aws:
        parts["aws"] = max(end for _, end in aws) - min(start for start, _ in aws)
    for name in ("hosts", "endpoints"):
        if name in spans:
            parts[name] = spans[name][1] - spans[name][0]
    return parts
