"""EC2 instance checks, each failing on its own drift."""

from tests_unit.harness import proves


def instance(staging, role: str) -> dict:
    found = staging.client("ec2").describe_instances(
        Filters=[{"Name": "tag:Name", "Values": [f"viewster-staging-{role}"]}]
    )["Reservations"][0]["Instances"][0]
    return found


def root_volume_id(staging, role: str) -> str:
    return instance(staging, role)["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]


@proves("test_ec2_instance_type")
def test_instance_type_drift(staging):
    staging.client("ec2").modify_instance_attribute(
        InstanceId=instance(staging, "backend")["InstanceId"], InstanceType={"Value": "t3.micro"}
    )
    assert staging.run().failures == {
        "test_ec2_instance_type[staging-backend]": "ec2 instance viewster-staging-backend: instance type expected "
        "'t2.small', found 't3.micro'"
    }


@proves("test_ec2_instance_state")
def test_instance_state_drift(staging):
    staging.client("ec2").stop_instances(InstanceIds=[instance(staging, "thirdparty")["InstanceId"]])
    failures = staging.run().failures
    assert failures.pop("test_ec2_instance_state[staging-thirdparty]") == (
        "ec2 instance viewster-staging-thirdparty: state expected 'running', found 'stopped'"
    )
    # A stopped instance has no status checks to pass (test_live_drift.py proves those two).
    assert set(failures) == {
        "test_ec2_instance_status_ok[staging-thirdparty]",
        "test_ec2_system_status_ok[staging-thirdparty]",
    }


@proves("test_ec2_root_volume_size")
def test_root_volume_size_drift(staging):
    staging.client("ec2").modify_volume(VolumeId=root_volume_id(staging, "frontend"), Size=30)
    assert staging.run().failures == {
        "test_ec2_root_volume_size[staging-frontend]": "ec2 instance viewster-staging-frontend: root volume size (GiB) "
        "expected 20, found 30"
    }


@proves("test_ec2_root_volume_type")
def test_root_volume_type_drift(staging):
    staging.client("ec2").modify_volume(VolumeId=root_volume_id(staging, "frontend"), VolumeType="gp2")
    assert staging.run().failures == {
        "test_ec2_root_volume_type[staging-frontend]": "ec2 instance viewster-staging-frontend: root volume type "
        "expected 'gp3', found 'gp2'"
    }


@proves("test_ec2_elastic_ip_attached")
def test_elastic_ip_detached_drift(staging):
    ec2 = staging.client("ec2")
    thirdparty = instance(staging, "thirdparty")["InstanceId"]
    address = ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [thirdparty]}])["Addresses"][0]
    ec2.disassociate_address(AssociationId=address["AssociationId"])
    assert staging.run().failures == {
        "test_ec2_elastic_ip_attached[staging-thirdparty]": "ec2 instance viewster-staging-thirdparty: Elastic IP "
        "attached expected True, found False"
    }


@proves("test_ec2_instance_subnet")
def test_instance_subnet_drift(staging):
    def thirdparty_in_another_subnet(spec: dict) -> None:
        spec["vpc"]["subnets"]["other"] = {
            "tags": {"Name": "other"},
            "cidr": "10.2.9.0/24",
            "availability_zone": "ap-northeast-2b",
        }
        spec["ec2"]["instances"]["thirdparty"]["subnet"] = "other"

    staging.reset(drift=thirdparty_in_another_subnet)
    public = staging.client("ec2").describe_subnets(Filters=[{"Name": "cidr-block", "Values": ["10.2.1.0/24"]}])
    found = instance(staging, "thirdparty")["SubnetId"]
    assert staging.run().failures == {
        "test_ec2_instance_subnet[staging-thirdparty]": "ec2 instance viewster-staging-thirdparty: subnet expected "
        f"public ({public['Subnets'][0]['SubnetId']}), found {found}"
    }


@proves("test_ec2_instance_security_group")
def test_instance_security_group_drift(staging):
    ec2 = staging.client("ec2")
    backend = instance(staging, "backend")
    default = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [backend["VpcId"]]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    ec2.modify_instance_attribute(InstanceId=backend["InstanceId"], Groups=[default])
    assert staging.run().failures == {
        "test_ec2_instance_security_group[staging-backend]": "ec2 instance viewster-staging-backend: security groups "
        f"expected to include 'viewster-staging-backend-sg', found {{'{default}'}}"
    }


def test_missing_instance_is_not_found(staging):
    ec2 = staging.client("ec2")
    ec2.delete_tags(Resources=[instance(staging, "thirdparty")["InstanceId"]], Tags=[{"Key": "Name"}])
    failures = staging.run().failures
    assert failures["test_ec2_instance_type[staging-thirdparty]"] == (
        "ec2 instance viewster-staging-thirdparty: not found "
        "(no instance tagged {'Name': 'viewster-staging-thirdparty', 'Environment': 'staging'})"
    )
