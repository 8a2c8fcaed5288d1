"""The sandbox's snapshot of moto (moto_snapshot_server.py): the project's tests undo every AWS drift with it, so a
restore must give back exactly the seeded replica, ids included, whatever a test changed or added."""

from viewster_infra.sandbox import moto_server


def inventory(staging) -> dict:
    ec2, ssm, cloudwatch = staging.client("ec2"), staging.client("ssm"), staging.client("cloudwatch")
    instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    return {
        "instances": sorted((i["InstanceId"], i["InstanceType"], i["State"]["Name"]) for i in instances),
        "groups": sorted(g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]),
        "addresses": sorted((a["PublicIp"], a.get("InstanceId")) for a in ec2.describe_addresses()["Addresses"]),
        "parameters": sorted(p["Name"] for p in ssm.describe_parameters()["Parameters"]),
        "alarms": sorted(a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]),
    }


def test_a_restore_gives_back_the_seeded_replica_ids_included(staging):
    seeded = inventory(staging)
    ec2 = staging.client("ec2")
    instance = seeded["instances"][0][0]
    ec2.stop_instances(InstanceIds=[instance])
    ec2.modify_instance_attribute(InstanceId=instance, InstanceType={"Value": "t3.micro"})
    ec2.create_security_group(GroupName="added-by-a-test", Description="x")
    address = next(a for a in ec2.describe_addresses()["Addresses"] if "AssociationId" in a)
    ec2.disassociate_address(AssociationId=address["AssociationId"])
    staging.client("ssm").delete_parameter(Name=seeded["parameters"][0])
    staging.client("cloudwatch").delete_alarms(AlarmNames=seeded["alarms"][:2])
    assert inventory(staging) != seeded

    moto_server.restore(staging.state.aws_endpoint_url)
    assert inventory(staging) == seeded
    moto_server.restore(staging.state.aws_endpoint_url)  # a snapshot serves any number of restores
    assert inventory(staging) == seeded
    assert staging.run().failures == {}
