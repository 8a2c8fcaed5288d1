"""네트워크 checks, each failing on its own drift. A VPC's or subnet's CIDR cannot change on a live resource, so
the replica is seeded from a changed spec instead."""

from tests_unit.harness import proves


@proves("test_vpc_cidr")
def test_vpc_cidr_drift(staging):
    staging.reset(drift=lambda spec: spec["vpc"].update(cidr="10.2.0.0/20"))
    assert staging.run().failures == {
        "test_vpc_cidr[staging-vpc]": "vpc viewster-staging-vpc: CIDR expected '10.2.0.0/16', found '10.2.0.0/20'"
    }


@proves("test_subnet_cidr")
def test_subnet_cidr_drift(staging):
    staging.reset(drift=lambda spec: spec["vpc"]["subnets"]["public"].update(cidr="10.2.7.0/24"))
    assert staging.run().failures == {
        "test_subnet_cidr[staging-public]": "subnet viewster-staging-public-subnet: CIDR expected '10.2.1.0/24', "
        "found '10.2.7.0/24'"
    }


@proves("test_subnet_availability_zone")
def test_subnet_availability_zone_drift(staging):
    staging.reset(drift=lambda spec: spec["vpc"]["subnets"]["public"].update(availability_zone="ap-northeast-2a"))
    assert staging.run().failures == {
        "test_subnet_availability_zone[staging-public]": "subnet viewster-staging-public-subnet: availability zone "
        "expected 'ap-northeast-2b', found 'ap-northeast-2a'"
    }


def test_missing_vpc_is_not_found(staging):
    ec2 = staging.client("ec2")
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["viewster-staging-vpc"]}])["Vpcs"][0]["VpcId"]
    ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "Name"}])
    failures = staging.run().failures
    assert failures["test_vpc_cidr[staging-vpc]"] == (
        "vpc viewster-staging-vpc: not found (no VPC tagged {'Name': 'viewster-staging-vpc', 'Environment': 'staging'})"
    )
