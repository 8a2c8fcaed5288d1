"""문제 진단 체크리스트: who may reach each port. A port's sources are compared as a set: a missing source and an
extra one (a port opened to the world) are both drift."""

import pytest

from viewster_infra.findings import expect, require

pytestmark = pytest.mark.aws("ec2")  # the AWS services these checks read (prefetch.py)


def _sources(rules: list[dict], protocol: str, port: int, names_by_id: dict[str, str]) -> set[str]:
    """Every CIDR and group allowed to reach protocol/port, through any rule that covers it."""
    sources = set()
    for rule in rules:
        covers_all = rule["protocol"] == "-1"
        covers_port = rule["protocol"] == protocol and rule["from_port"] <= port <= rule["to_port"]
        if covers_all or covers_port:
            sources.update(rule["cidrs"])
            sources.update(f"group {names_by_id.get(gid, gid)}" for gid in rule["group_ids"])
    return sources


def test_security_group_ingress_sources(ingress_rule, spec, aws):
    groups = aws.facts("ec2")["security_groups"]
    want = spec.security_groups[ingress_rule.key]
    group = require(f"security group {want.name}", groups[ingress_rule.key], "no group of that name in the VPC")
    names_by_id = {g["id"]: key for key, g in groups.items() if g is not None}
    rule = ingress_rule.want
    expected = set(rule.from_cidrs) | {f"group {source}" for source in rule.from_groups}
    found = _sources(group["ingress"], rule.protocol, rule.port, names_by_id)
    expect(ingress_rule.label, "allowed sources", expected, found)
