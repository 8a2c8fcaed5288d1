"""Gather first, then check: before the first check runs, everything the collected checks will read is gathered at
once, in parallel: each AWS service's collector in its own thread (a bounded pool; boto3 clients are shared and
safe to call from threads), the hosts' probes, the endpoints. The run then waits one round trip per request chain
instead of one per request.

What a check reads is found in its source: `aws.facts("ec2")`, `hosts.facts(...)`, `endpoints.facts()`, also
inside the helpers it calls (followed into tests_infra and viewster_infra). A read the scan misses is still made,
lazily, by the check itself; `tests_unit/test_prefetch.py` proves the scan matches what each check really reads, so
the per-run call count and the no-repeat rule are exactly as without prefetching.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

MAX_THREADS = 12  # at most this many things gathered at once: the hosts, the endpoints, ten AWS services
FOLLOWED = ("tests_infra", "viewster_infra")


def reads_of(function, _outer: frozenset = frozenset()) -> set[str]:
    """The facts a check function reads: "aws-<service>", "hosts", "endpoints"."""
    if function in _READS:
        return _READS[function]
    if function in _outer:  # a helper that calls back into its caller: counted once, where it started
        return set()
    node = _definition(function)
    found: set[str] = set()
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)) if node is not None else ():
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "facts" and isinstance(func.value, ast.Name):
            receiver = func.value.id
            if receiver == "aws" and call.args and isinstance(call.args[0], ast.Constant):
                found.add(f"aws-{call.args[0].value}")
            elif receiver in ("hosts", "endpoints"):
                found.add(receiver)
        called = _resolve(func, function.__globals__)
        if inspect.isfunction(called) and called.__module__.startswith(FOLLOWED):
            found |= reads_of(called, _outer | {function})
    _READS[function] = found
    return found


_READS: dict = {}  # function -> what it reads: each source file is parsed once per process


def _definition(function) -> ast.FunctionDef | None:
    """The function's definition in its module's syntax tree (module-level functions; others from their source)."""
    try:
        if function.__qualname__ == function.__name__:
            return _module_functions(inspect.getsourcefile(function)).get(function.__name__)
        return ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return None


@functools.cache
def _module_functions(path: str) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _resolve(func: ast.expr, names: dict):
    if isinstance(func, ast.Name):
        return names.get(func.id)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return getattr(names.get(func.value.id), func.attr, None)
    return None


def needed(functions) -> set[str]:
    found: set[str] = set()
    for function in set(functions):
        found |= reads_of(function)
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
