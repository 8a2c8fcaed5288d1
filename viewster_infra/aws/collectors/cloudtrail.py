"""CloudTrail: every write (ReadOnly=false) since the previous report of the environment, at most
changes.window_hours_max back, in the environment's region and in us-east-1 (where IAM's, STS's and Route53's
events are kept); and the ECR pushes of the images that should run, back to the oldest of them.

LookupEvents answers two requests per second per account and region, 50 events a page: the reads of each region
are paced to that (the first two at once, then one every half second) and followed page by page. Only what the
checks and the report show is kept of an event: what, which resources, who (ARN, the role of an assumed-role
session, console or not), from where, when, and for a push the repository and digest. Request parameters are not
kept (they can carry values), except a Route53 change's record names: its Resources name the zone only.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from datetime import UTC, datetime

from viewster_infra import deploy
from viewster_infra.aws.collectors._common import RunOptions
from viewster_infra.spec.model import EnvironmentSpec

REQUESTS_PER_SECOND = 2  # LookupEvents' limit, per account and region
PUSH_LOOKBACK_SLACK = 300  # seconds before the oldest image to run was pushed
MAX_LOOKBACK = 90 * 24 * 3600  # LookupEvents keeps 90 days


class Pacer:
    """At most `rate` requests in any second: a request waits until the one `rate` requests before it is a second
    old."""

    def __init__(self, rate: int = REQUESTS_PER_SECOND) -> None:
        self._sent: deque[float] = deque(maxlen=rate)
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            if len(self._sent) == self._sent.maxlen:
                delay = self._sent[0] + 1.0 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self._sent.append(time.monotonic())


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    now = time.time()
    since = now - spec.changes.window_hours_max * 3600
    if options.changes_since is not None:
        since = max(since, options.changes_since)
    home, other = spec.aws.region, spec.changes.global_region
    pacers = {region: Pacer() for region in {home, other}}
    pushes_since = _oldest_push_to_run(options.facts("ecr"), options.deployed_sha)
    reads = [
        lambda: _lookup(reader, home, pacers[home], since, now, ("ReadOnly", "false")),
        lambda: _lookup(reader, other, pacers[other], since, now, ("ReadOnly", "false")) if other != home else [],
    ]
    if pushes_since is not None and pushes_since < since:  # pushes in the window come with the writes
        start = max(pushes_since - PUSH_LOOKBACK_SLACK, now - MAX_LOOKBACK)
        reads.append(lambda: _lookup(reader, home, pacers[home], start, now, ("EventName", "PutImage")))
    found = reader.parallel(*reads)
    writes = _unique(found[0] + found[1])
    pushes = [e for e in _unique(writes + (found[2] if len(found) > 2 else [])) if e["name"] == "PutImage"]
    return {
        "since": _iso(since),
        "until": _iso(now),
        "regions": sorted(pacers),
        "writes": sorted(writes, key=lambda e: e["time"], reverse=True),
        "pushes": sorted(pushes, key=lambda e: e["time"], reverse=True),
    }


def _lookup(reader, region: str, pacer: Pacer, start: float, end: float, attribute: tuple[str, str]) -> list[dict]:
    client = reader.client("cloudtrail", region=region)
    params = {
        "LookupAttributes": [{"AttributeKey": attribute[0], "AttributeValue": attribute[1]}],
        "StartTime": datetime.fromtimestamp(start, UTC),
        "EndTime": datetime.fromtimestamp(end, UTC),
        "MaxResults": 50,
    }
    events = []
    while True:
        pacer.wait()
        page = client.lookup_events(**params)
        events += [_event(e, region) for e in page.get("Events", [])]
        if not page.get("NextToken"):
            return events
        params["NextToken"] = page["NextToken"]


def _event(looked_up: dict, region: str) -> dict:
    record = json.loads(looked_up.get("CloudTrailEvent") or "{}")
    named = [r["ResourceName"] for r in looked_up.get("Resources", []) if r.get("ResourceName")]
    # A Route53 change names its zone only: the records it changes are in its request (names and types, no value)
    batch = (record.get("requestParameters") or {}).get("changeBatch") or {}
    named += [
        str(c["resourceRecordSet"]["name"]).rstrip(".").lower()
        for c in batch.get("changes", [])
        if (c.get("resourceRecordSet") or {}).get("name")
    ]
    identity = record.get("userIdentity", {})
    issuer = identity.get("sessionContext", {}).get("sessionIssuer", {})
    pushed = (record.get("responseElements") or {}).get("image") or {}
    agent = record.get("userAgent", "")
    return {
        "id": looked_up["EventId"],
        "time": looked_up["EventTime"].astimezone(UTC).isoformat(timespec="seconds"),
        "name": looked_up["EventName"],
        "source": looked_up.get("EventSource", ""),
        "region": record.get("awsRegion", region),
        "resources": list(dict.fromkeys(named)),
        "principal": identity.get("arn") or identity.get("type", "unknown"),
        "principal_type": identity.get("type"),
        "role": issuer.get("arn") if identity.get("type") == "AssumedRole" else None,
        "console": record.get("sessionCredentialFromConsole") == "true",
        "source_ip": record.get("sourceIPAddress"),
        "user_agent": agent[:120],
        "error": record.get("errorCode"),
        "repository": pushed.get("repositoryName"),
        "digest": (pushed.get("imageId") or {}).get("imageDigest"),
    }


def _unique(events: list[dict]) -> list[dict]:
    return list({e["id"]: e for e in events}.values())


def _oldest_push_to_run(ecr: dict | None, deployed_sha: str | None) -> float | None:
    """When the oldest of the images that should run (each repository's `latest`, the deployed commit's) was
    pushed: their PutImage events are read back to it."""
    times = []
    for repository in ((ecr or {}).get("repositories") or {}).values():
        for image in (repository or {}).get("images", []):
            if "latest" in image["tags"] or (deployed_sha and deploy.tagged([image], deployed_sha)):
                times.append(datetime.fromisoformat(image["pushed_at"]).timestamp())
    return min(times) if times else None


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
