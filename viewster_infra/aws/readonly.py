"""The suite may read AWS, never change it: enforced on every client before a request is built.

A botocore `before-parameter-build` handler sees the operation before anything is serialised or sent, and raises
for any operation that is not a read. Reads that would hand back a secret value are refused as well, so no secret
can reach a report, a log or an assertion message by accident.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

READ_PREFIXES = ("Describe", "List", "Get")

# Reads whose names do not start with a read prefix.
EXTRA_READS = frozenset({"s3:HeadBucket", "cloudtrail:LookupEvents"})

# Reads that return secret material. The suite checks that such things exist and what type they are
# (ssm:DescribeParameters), never their values.
SECRET_READS = frozenset(
    {
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:GetParametersByPath",
        "ssm:GetParameterHistory",
        "secrets-manager:GetSecretValue",
        "secrets-manager:BatchGetSecretValue",
        "kms:Decrypt",
        "lambda:GetFunction",  # its answer carries the function's environment variables (tokens, keys)
        "lambda:GetFunctionConfiguration",
    }
)


# The secret a read may be let through for, one exact parameter at a time (the SSH key with --ssh-key-from-ssm, the
# RabbitMQ monitoring password the spec names): (service:operation, parameter name).
_secret_read_allowed: ContextVar[tuple[str, str] | None] = ContextVar("secret_read_allowed", default=None)


@contextmanager
def allow_secret_read(operation: str, name: str):
    """Inside this block, and only for this exact operation and name, a secret read is let through."""
    token = _secret_read_allowed.set((operation, name))
    try:
        yield
    finally:
        _secret_read_allowed.reset(token)


class WriteRefused(Exception):
    """An operation that is not a plain read was asked for; nothing was sent."""


def is_allowed(service: str, operation: str) -> bool:
    """`service` is botocore's hyphenised service id, as in event names: "ec2", "route-53", "secrets-manager"."""
    name = f"{service}:{operation}"
    if name in SECRET_READS:
        return False
    return operation.startswith(READ_PREFIXES) or name in EXTRA_READS


def refuse_non_reads(event_name: str, model, params: dict, **_: object) -> None:
    """botocore handler for `before-parameter-build`: raise before a write or a secret read is built."""
    service = event_name.split(".")[1]
    if _secret_read_allowed.get() == (f"{service}:{model.name}", params.get("Name")):
        return
    if not is_allowed(service, model.name):
        raise WriteRefused(
            f"{service}:{model.name} refused: the suite only reads AWS "
            "(Describe*/List*/Get*, no secret values); nothing was sent"
        )
