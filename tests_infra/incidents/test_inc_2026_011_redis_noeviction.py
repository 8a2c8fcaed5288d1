"""INC-2026-011: Redis at its memory limit refused every session write for 40 minutes.

What happened: a Redis upgrade on thirdparty came back with the image's default maxmemory-policy, noeviction. When
used_memory reached maxmemory (256 MB) on a busy evening, Redis answered every write with OOM: new sessions and
timers could not be stored, so logins failed while every health check stayed green. (A worked example of an
incident test, written as the team would after such an incident.)

The fact that would have caught it: the policy Redis applies at its limit. volatile-lru lets keys that expire
(sessions, timers) go first and keeps writes working; evictions themselves are watched by VS-LIVE-10.
"""

import pytest

from viewster_infra.findings import expect

POLICY = "volatile-lru"


@pytest.mark.incident(
    id="INC-2026-011",
    date="2026-10-14",
    summary="Redis at maxmemory with noeviction refused every session write (logins failed for 40 min)",
    link="https://example.invalid/postmortems/INC-2026-011",
)
def test_redis_evicts_expiring_keys_at_its_limit(redis, hosts):
    facts = hosts.facts(redis.key)["redis"]
    expect(
        redis.label,
        "maxmemory-policy",
        POLICY,
        facts["maxmemory_policy"],
        cause=None if facts["answered"] else redis.label,
    )
