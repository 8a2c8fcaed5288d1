"""The sandbox's own AWS session: plain (writing) boto3 clients, for seeding the replica and keeping its hosts in
step with it. Never the suite's read-only clients, and only ever pointed at the sandbox's loopback endpoint."""

from __future__ import annotations

import boto3

from viewster_infra.aws.reader import SANDBOX_CREDENTIALS, share_service_models


def sandbox_session(region: str, **credentials: str) -> boto3.Session:
    """A session on the sandbox's dummy credentials that reads botocore's service models through the process's
    shared loader: the project's tests sync the DNS host after every reset, and a fresh loader parses botocore's
    endpoints file (1.2 MB of JSON) again each time. `credentials`: a role's, instead of the account root's dummy
    keys."""
    session = boto3.Session(region_name=region, **(credentials or SANDBOX_CREDENTIALS))
    share_service_models(session)
    return session
