"""AWS facts gathered once per run and per service, shared by every test and every xdist worker.

The first process that needs a service's facts takes a file lock in the run directory, calls the collector and
writes the result as JSON; every other process (and every later test) reads that file. So the number of API
calls depends on the spec, not on the number of checks or workers.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from filelock import FileLock

from viewster_infra.aws.collectors import COLLECTORS
from viewster_infra.aws.reader import AwsReader
from viewster_infra.spec.model import EnvironmentSpec

ACCESS_DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "AuthorizationErrorException",
}


@dataclass
class ServiceFacts:
    service: str
    data: dict | None
    error: str | None = None
    calls: dict[str, int] = field(default_factory=dict)


class AwsSnapshot:
    def __init__(self, run_dir: Path, spec: EnvironmentSpec, make_reader: Callable[[], AwsReader]) -> None:
        self._run_dir = run_dir
        self._spec = spec
        self._make_reader = make_reader
        self._reader: AwsReader | None = None
        self._memo: dict[str, ServiceFacts] = {}

    def facts(self, service: str) -> ServiceFacts:
        if service not in self._memo:
            path = self._run_dir / f"aws-{service}.json"
            with FileLock(f"{path}.lock"):
                if not path.exists():
                    _write_atomically(path, self._collect(service).__dict__)
                self._memo[service] = ServiceFacts(**json.loads(path.read_text()))
        return self._memo[service]

    def record(self, service: str, data: dict, calls: dict[str, int]) -> None:
        """Keep facts read outside a collector (the credential check) so that they are counted too."""
        facts = ServiceFacts(service=service, data=data, calls=dict(calls))
        _write_atomically(self._run_dir / f"aws-{service}.json", facts.__dict__)
        self._memo[service] = facts

    def _collect(self, service: str) -> ServiceFacts:
        if self._reader is None:
            self._reader = self._make_reader()
        before = Counter(self._reader.calls)
        try:
            data, error = COLLECTORS[service](self._reader, self._spec), None
        except ClientError as exc:
            data, error = None, _explain(service, exc)
        except BotoCoreError as exc:
            data, error = None, f"could not be read: {exc}"
        calls = dict(Counter(self._reader.calls) - before)
        return ServiceFacts(service=service, data=data, error=error, calls=calls)


def calls_recorded(run_dir: Path) -> Counter[str]:
    """Every API call the run's collectors made, added up from the shared files."""
    total: Counter[str] = Counter()
    for path in run_dir.glob("aws-*.json"):
        total.update(json.loads(path.read_text())["calls"])
    return total


def _explain(service: str, exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    code = error.get("Code", "ClientError")
    action = exc.operation_name
    if code in ACCESS_DENIED_CODES:
        return f"access denied for {service}:{action} ({code}); this service's checks cannot run"
    return f"{service}:{action} failed: {code}: {error.get('Message', '')}".rstrip(": ")


def _write_atomically(path: Path, payload: dict) -> None:
    partial = path.with_suffix(f".{os.getpid()}.partial")
    partial.write_text(json.dumps(payload, default=str, sort_keys=True))
    partial.replace(path)
