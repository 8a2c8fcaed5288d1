"""AWS facts, gathered once per run and per service (see factstore.py for how they are shared)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from viewster_infra import factstore
from viewster_infra.aws.collectors import COLLECTORS, NEEDS
from viewster_infra.aws.collectors._common import FactsUnreadable, RunOptions
from viewster_infra.aws.reader import AwsReader
from viewster_infra.factstore import Facts, FactStore
from viewster_infra.spec.model import EnvironmentSpec

NO_OPTIONS = RunOptions()
ACCESS_DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "AuthorizationErrorException",
}


class AwsSnapshot:
    """AWS facts by service ("ec2", "rds", ...), each read once per run by its collector."""

    def __init__(
        self,
        store: FactStore,
        spec: EnvironmentSpec,
        make_reader: Callable[[], AwsReader],
        options: RunOptions = NO_OPTIONS,
    ) -> None:
        self.store = store
        self._spec = spec
        self._options = options
        self._make_reader = make_reader
        self._reader: AwsReader | None = None
        self._reader_lock = threading.Lock()

    def facts(self, service: str) -> Facts:
        return self.store.get(f"aws-{service}", lambda: self._collect(service))

    def record(self, service: str, data: dict, calls: dict[str, int]) -> None:
        """Keep facts read outside a collector (the credential check) so that they are counted too."""
        self.store.put(Facts(name=f"aws-{service}", data=data, calls=dict(calls)))

    def secure_string(self, parameter: str) -> tuple[str | None, str | None]:
        """A SecureString the spec names as a credential (the RabbitMQ monitoring user's password): (value, None),
        or (None, why it could not be read). The value is kept in memory only: never in the facts, which are
        written to the run directory and reported."""
        reader = self._reader_now()
        with reader.counting() as calls:  # counted with the run's other AWS calls; the value goes nowhere
            try:
                found = reader.secure_string(parameter), None
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "error")
                found = None, f"cannot read SSM parameter {parameter}: {code}"
            except BotoCoreError as exc:
                found = None, f"cannot read SSM parameter {parameter}: {exc}"
        self.record("ssm-credentials", {}, calls)
        return found

    def _reader_now(self) -> AwsReader:
        with self._reader_lock:
            if self._reader is None:
                self._reader = self._make_reader()
            return self._reader

    def _collect(self, service: str) -> Facts:
        self._reader_now()
        # Another service's facts, when the collector gets to needing them (gathered once, counted as that service's)
        options = replace(self._options, facts=lambda other: self._needed(service, other))
        with self._reader.counting() as calls:
            try:
                data, error = COLLECTORS[service](self._reader, self._spec, options), None
            except ClientError as exc:
                data, error = None, _explain(service, exc)
            except BotoCoreError as exc:
                data, error = None, f"could not be read: {exc}"
            except FactsUnreadable as exc:
                data, error = None, str(exc)
        return Facts(name=f"aws-{service}", data=data, error=error, calls=dict(calls))

    def _needed(self, service: str, other: str) -> dict | None:
        if other not in NEEDS.get(service, []):
            raise KeyError(f"the {service} collector reads {other} facts: add it to NEEDS")
        return self.facts(other).data


def calls_recorded(run_dir: Path) -> Counter[str]:
    """Every AWS API call the run made, added up across processes."""
    return factstore.calls_recorded(run_dir, "aws-")


def _explain(service: str, exc: ClientError) -> str:
    """One line, whatever the error looks like (an error body botocore could not parse comes as its raw text)."""
    error = exc.response.get("Error", {})
    code, message = error.get("Code") or "ClientError", error.get("Message") or ""
    raw = re.search(r"<Code>([^<]+)</Code>(?:<Message>([^<]*)</Message>)?", message)
    if raw:
        code, message = raw.group(1), raw.group(2) or ""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code == "ClientError" and status:
        code = f"HTTP {status}"
    action = exc.operation_name
    if code in ACCESS_DENIED_CODES or (code == "HTTP 403"):
        return f"access denied for {service}:{action} ({code}); this service's checks cannot run"
    return f"{service}:{action} failed: {code}: {' '.join(message.split())}".rstrip(": ")
