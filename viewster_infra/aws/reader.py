"""One boto3 session for the run: credentials resolved once, read-only clients, every API call counted."""

from __future__ import annotations

import contextvars
import ipaddress
import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import boto3
import botocore.exceptions
from botocore.config import Config

from viewster_infra.aws.readonly import allow_secret_read, refuse_non_reads

T = TypeVar("T")
PARALLEL_READS = 8  # within one collector; botocore keeps 10 connections per client

# botocore's own retry mode: adaptive backs off on throttling and rate-limits the client itself.
CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=20,
    user_agent_extra="viewster-infra-suite",
)

# Where credentials already sit in the environment (CI with OIDC, an instance or container role's variables),
# the default chain is used rather than the guide's profile.
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)

SANDBOX_CREDENTIALS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}


class AwsSetupError(Exception):
    """Credentials or endpoint unusable: one line for the person at the terminal."""


@dataclass(frozen=True)
class Target:
    """What to talk to: a real account through a profile or the default chain, or a sandbox endpoint."""

    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    profile_is_fallback: bool = False  # the spec's profile, used because nothing else named credentials

    @property
    def is_sandbox(self) -> bool:
        return self.endpoint_url is not None

    def describe(self) -> str:
        if self.is_sandbox:
            return f"sandbox at {self.endpoint_url}" + (f" as profile {self.profile}" if self.profile else "")
        return f"profile {self.profile}" if self.profile else "default credential chain"


def choose_target(region: str, profile_option: str | None, guide_profile: str) -> Target:
    """--aws-profile, else AWS_PROFILE, else credentials already in the environment, else the guide's profile."""
    if profile_option:
        return Target(region=region, profile=profile_option)
    if os.environ.get("AWS_PROFILE"):
        return Target(region=region, profile=os.environ["AWS_PROFILE"])
    if any(os.environ.get(name) for name in CREDENTIAL_VARIABLES):
        return Target(region=region)
    return Target(region=region, profile=guide_profile, profile_is_fallback=True)


# The calls of the collector running in this context (contextvars: a collector's own worker threads share it,
# a collector it waits for, even in the same thread, counts into its own).
_scope: ContextVar[Counter | None] = ContextVar("aws_call_scope", default=None)


class AwsReader:
    """Read-only boto3 clients against one target, sharing one call counter. Collectors run in threads at once, and
    read independent things in threads of their own (`parallel`): each client is created once (boto3 sessions are
    not safe to create clients from concurrently; clients are safe to call), and each collector counts its own
    calls (`counting`)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.calls: Counter[str] = Counter()
        self._clients: dict[tuple, object] = {}
        self._lock = threading.Lock()
        if target.is_sandbox:
            _require_loopback(target.endpoint_url)
            # Dummy credentials, or a profile's when one is named (the sandbox with IAM enforced: a least-privilege
            # user's keys); either way only the sandbox's loopback endpoint is ever sent anything.
            credentials = {"profile_name": target.profile} if target.profile else SANDBOX_CREDENTIALS
            self._session = boto3.Session(region_name=target.region, **credentials)
            self._session.events.register("before-send", _refuse_non_loopback)
        else:
            try:
                self._session = boto3.Session(region_name=target.region, profile_name=target.profile)
            except botocore.exceptions.ProfileNotFound:
                if target.profile_is_fallback:
                    raise AwsSetupError(
                        "no AWS credentials: no --aws-profile, no AWS_PROFILE, none in the environment, and the "
                        f"spec's profile {target.profile!r} is not configured on this machine"
                    ) from None
                raise AwsSetupError(
                    f"AWS profile {target.profile!r} is not configured on this machine "
                    "(see `aws configure list-profiles`); pass --aws-profile or set AWS_PROFILE"
                ) from None
            if self._session.get_credentials() is None:
                raise AwsSetupError(
                    f"no AWS credentials found ({target.describe()}); pass --aws-profile, set AWS_PROFILE, "
                    "or export credentials"
                )
        share_service_models(self._session)
        self._session.events.register("before-parameter-build", refuse_non_reads)
        self._session.events.register("before-call", self._count)

    def client(self, service: str, region: str | None = None):
        """The read-only client of `service`, in the target's region unless one is named (Cost Explorer answers only
        in us-east-1)."""
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service, config=CLIENT_CONFIG, endpoint_url=self.target.endpoint_url, region_name=region
                )
            return self._clients[key]

    @contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        """The calls made inside this block, also from the threads `parallel` starts in it."""
        calls: Counter[str] = Counter()
        token = _scope.set(calls)
        try:
            yield calls
        finally:
            _scope.reset(token)

    def parallel(self, *reads: Callable[[], T]) -> list[T]:
        """Independent reads at once (one round trip for all instead of one each); results in order, the first
        error raised. Each runs in a copy of the caller's context, so its calls count where the caller's do."""
        if len(reads) <= 1:
            return [read() for read in reads]
        with ThreadPoolExecutor(max_workers=min(len(reads), PARALLEL_READS)) as pool:
            futures = [pool.submit(contextvars.copy_context().run, read) for read in reads]
            return [future.result() for future in futures]

    def account_id(self) -> str:
        """The account the credentials belong to (sts:GetCallerIdentity), or AwsSetupError."""
        try:
            return self.client("sts").get_caller_identity()["Account"]
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            raise AwsSetupError(
                f"AWS rejected the credentials ({self.target.describe()}): "
                f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
            ) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise AwsSetupError(f"cannot reach AWS ({self.target.describe()}): {exc}") from None

    def secure_string(self, parameter: str) -> str:
        """A credential the spec names (hosts.roles.*.rabbitmq.management_password_parameter), decrypted: the only
        other secret the suite reads, let through for exactly this parameter. Raises botocore's errors."""
        with allow_secret_read("ssm:GetParameter", parameter):
            return self.client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]

    def private_key(self, parameter: str) -> str:
        """The one secret the suite reads, only when asked (--ssh-key-from-ssm): an SSH key from SSM."""
        with allow_secret_read("ssm:GetParameter", parameter):
            try:
                return self.client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
            except botocore.exceptions.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "error")
                raise AwsSetupError(f"--ssh-key-from-ssm: cannot read {parameter}: {code}") from None

    def _count(self, model, **_: object) -> None:
        operation = f"{model.service_model.service_id.hyphenize()}:{model.name}"
        scope = _scope.get()
        with self._lock:
            self.calls[operation] += 1
            if scope is not None:
                scope[operation] += 1


_service_models = None  # botocore's loader of its data files (service models, endpoints), shared by every session
_service_models_lock = threading.Lock()


def share_service_models(session: boto3.Session) -> None:
    """Every session of this process reads botocore's service models through one loader, which parses each file
    once: EC2's model alone is megabytes of JSON, and the twelve clients of a run took 0.25 s of CPU to create with
    a fresh loader, 0.02 s with a warm one. It matters where one process runs the suite many times (the project's
    own tests, --settle's re-reads); the files are botocore's static data, the same for every session."""
    global _service_models
    botocore_session = session._session  # boto3 has no public accessor; the loader is swapped before any client
    with _service_models_lock:
        if _service_models is None:
            _service_models = botocore_session.get_component("data_loader")
        else:
            botocore_session.register_component("data_loader", _service_models)


def _require_loopback(endpoint_url: str) -> None:
    host = urlsplit(endpoint_url).hostname or ""
    if not _is_loopback(host):
        raise AwsSetupError(f"sandbox endpoint {endpoint_url} is not on 127.0.0.0/8; refusing to use it")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
        except OSError:
            return False


def _refuse_non_loopback(request, **_: object) -> None:
    """In sandbox mode, a request that would leave the machine is stopped before it is sent."""
    host = urlsplit(request.url).hostname or ""
    if not _is_loopback(host):
        raise AwsSetupError(f"sandbox mode: refused a request to {host}, which is not on 127.0.0.0/8")
