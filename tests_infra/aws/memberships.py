"""Checks that a resource sits in the security group the spec gives it (EC2 instances, RDS instances)."""

from viewster_infra.findings import expect_includes, require


def expect_security_group(resource_label: str, group_key: str, attached_ids: list[str], aws) -> None:
    groups = aws.facts("ec2")["security_groups"]
    group = require(f"security group {group_key}", groups[group_key], "no group of that name in the VPC")
    names = {g["id"]: g["name"] for g in groups.values() if g}
    attached = {names.get(group_id, group_id) for group_id in attached_ids}
    expect_includes(resource_label, "security groups", group["name"], attached)
