"""EC2 인스턴스 (환경별 3대) and 점검 절차 2: type, state, root volume, Elastic IP, subnet, security group."""

import pytest

from tests_infra.aws.memberships import expect_security_group
from viewster_infra.findings import drift, expect, require

pytestmark = pytest.mark.aws("ec2")  # the AWS services these checks read (prefetch.py)


def _instance(instance, aws):
    return require(
        instance.label, aws.facts("ec2")["instances"][instance.key], f"no instance tagged {instance.want.tags}"
    )


def test_ec2_instance_type(instance, aws):
    expect(instance.label, "instance type", instance.want.instance_type, _instance(instance, aws)["instance_type"])


def test_ec2_instance_state(instance, aws):
    expect(instance.label, "state", instance.want.state, _instance(instance, aws)["state"])


def test_ec2_root_volume_size(instance, aws):
    root = require(
        f"{instance.label} root volume", _instance(instance, aws)["root_volume"], "no EBS root volume attached"
    )
    expect(instance.label, "root volume size (GiB)", instance.want.root_volume.size_gib, root["size_gib"])


def test_ec2_root_volume_type(instance, aws):
    root = require(
        f"{instance.label} root volume", _instance(instance, aws)["root_volume"], "no EBS root volume attached"
    )
    expect(instance.label, "root volume type", instance.want.root_volume.type, root["type"])


def test_ec2_elastic_ip_attached(instance, aws):
    attached = _instance(instance, aws)["elastic_ip"] is not None
    expect(instance.label, "Elastic IP attached", instance.want.elastic_ip, attached)


def test_ec2_instance_subnet(instance, aws):
    ec2 = aws.facts("ec2")
    subnet = require(
        f"subnet {instance.want.subnet}", ec2["subnets"][instance.want.subnet], "the instance's expected subnet"
    )
    found = _instance(instance, aws)["subnet_id"]
    if found != subnet["id"]:
        drift(instance.label, prop="subnet", expected=f"{instance.want.subnet} ({subnet['id']})", found=str(found))


def test_ec2_instance_security_group(instance, aws):
    attached = _instance(instance, aws)["security_group_ids"]
    expect_security_group(instance.label, instance.want.security_group, attached, aws)
