"""INC-2026-011 recreated: Redis set back to noeviction (an image default after an upgrade); the guard names it."""

from tests_unit.harness import proves


@proves("test_redis_evicts_expiring_keys_at_its_limit")
def test_redis_back_on_noeviction(staging_hosts):
    staging_hosts.restore("thirdparty", "redis")
    assert staging_hosts.run("-m", "incident").failures == {}
    staging_hosts.ssh("thirdparty", "docker exec redis redis-cli config set maxmemory-policy noeviction")
    result = staging_hosts.run("-m", "incident")
    check = "test_redis_evicts_expiring_keys_at_its_limit[staging-thirdparty]"
    assert result.failures == {check: "thirdparty redis: maxmemory-policy expected 'volatile-lru', found 'noeviction'"}
    assert result.properties[check]["incident"] == "INC-2026-011"
    assert result.properties[check]["control"] == "INC-2026-011"
