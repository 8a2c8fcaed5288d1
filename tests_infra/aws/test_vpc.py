"""네트워크: the environment's VPC and its public subnet."""

import pytest

from viewster_infra.findings import expect, require

pytestmark = pytest.mark.aws("ec2")  # the AWS services these checks read (prefetch.py)


def _vpc(vpc, aws):
    return require(vpc.label, aws.facts("ec2")["vpc"], f"no VPC tagged {vpc.want.tags}")


def _subnet(subnet, aws):
    return require(
        subnet.label, aws.facts("ec2")["subnets"][subnet.key], f"no subnet tagged {subnet.want.tags} in the VPC"
    )


def test_vpc_cidr(vpc, aws):
    expect(vpc.label, "CIDR", vpc.want.cidr, _vpc(vpc, aws)["cidr"])


def test_subnet_cidr(subnet, aws):
    expect(subnet.label, "CIDR", subnet.want.cidr, _subnet(subnet, aws)["cidr"])


def test_subnet_availability_zone(subnet, aws):
    expect(subnet.label, "availability zone", subnet.want.availability_zone, _subnet(subnet, aws)["availability_zone"])
