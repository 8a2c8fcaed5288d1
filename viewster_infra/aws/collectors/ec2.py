"""EC2: the VPC and its subnets, the three instances with their root volumes, Elastic IPs and status checks,
security groups; and everything in the environment's VPC (instances, groups and their rules, Elastic IPs, network
interfaces), to find what nobody manages."""

from __future__ import annotations

from viewster_infra.aws.collectors._common import RunOptions, paginate, tags_of, with_tags
from viewster_infra.spec.model import EnvironmentSpec

GONE = {"shutting-down", "terminated"}


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    ec2 = reader.client("ec2")
    # Independent reads at once; then what needs the instances' ids (their volumes and status checks).
    vpcs, subnets, reservations, addresses, groups = reader.parallel(
        lambda: list(paginate(ec2, "describe_vpcs", "Vpcs")),
        lambda: list(paginate(ec2, "describe_subnets", "Subnets")),
        lambda: list(paginate(ec2, "describe_instances", "Reservations")),
        lambda: ec2.describe_addresses()["Addresses"],  # not paginated in the API
        lambda: list(paginate(ec2, "describe_security_groups", "SecurityGroups")),
    )
    vpc = _first(with_tags(vpcs, spec.vpc.tags))
    instances = [i for r in reservations for i in r["Instances"]]
    chosen = {key: _instance(instances, want.tags) for key, want in spec.ec2.instances.items()}

    instance_ids = [i["InstanceId"] for i in chosen.values() if i]
    vpc_id = vpc["VpcId"] if vpc else None
    volumes, statuses, interfaces = {}, {}, []
    in_vpc = {"Name": "vpc-id", "Values": [vpc_id]}
    if instance_ids or vpc_id:
        attached = {"Name": "attachment.instance-id", "Values": instance_ids}
        found_volumes, found_statuses, interfaces = reader.parallel(
            lambda: list(paginate(ec2, "describe_volumes", "Volumes", Filters=[attached])) if instance_ids else [],
            # 점검 절차 2: instance and system status checks (IncludeAllInstances: stopped ones too)
            lambda: (
                list(
                    paginate(
                        ec2,
                        "describe_instance_status",
                        "InstanceStatuses",
                        InstanceIds=instance_ids,
                        IncludeAllInstances=True,
                    )
                )
                if instance_ids
                else []
            ),
            lambda: (
                list(paginate(ec2, "describe_network_interfaces", "NetworkInterfaces", Filters=[in_vpc]))
                if vpc_id
                else []
            ),
        )
        volumes = {v["VolumeId"]: v for v in found_volumes}
        statuses = {s["InstanceId"]: s for s in found_statuses}

    return {
        "vpc": {"id": vpc["VpcId"], "cidr": vpc["CidrBlock"]} if vpc else None,
        "subnets": {
            key: _subnet(_first(s for s in with_tags(subnets, want.tags) if s["VpcId"] == vpc_id))
            for key, want in spec.vpc.subnets.items()
        },
        "instances": {
            key: _instance_facts(inst, volumes, addresses, statuses.get(inst["InstanceId"], {})) if inst else None
            for key, inst in chosen.items()
        },
        "security_groups": {
            key: _group(_first(g for g in groups if g["GroupName"] == want.name and g["VpcId"] == vpc_id))
            for key, want in spec.security_groups.items()
        },
        "in_vpc": _inventory(vpc_id, instances, groups, addresses, interfaces),
    }


def _inventory(vpc_id, instances, groups, addresses, interfaces) -> dict:
    """What is in the VPC, as the unmanaged-resource check compares it with the state (AWS's defaults left out:
    the default security group; the interfaces AWS manages for a service or that belong to an instance)."""
    live = [i for i in instances if i.get("VpcId") == vpc_id and i["State"]["Name"] not in GONE]
    interface_ids = {n["NetworkInterfaceId"] for n in interfaces}
    return {
        "instances": [
            {"id": i["InstanceId"], "name": tags_of(i).get("Name"), "launched": i["LaunchTime"].isoformat()}
            for i in live
        ],
        "security_groups": [
            {"id": g["GroupId"], "name": g["GroupName"], "ingress": _group(g)["ingress"]}
            for g in groups
            if g["VpcId"] == vpc_id and g["GroupName"] != "default"
        ],
        "addresses": [
            {"id": a.get("AllocationId"), "public_ip": a["PublicIp"], "instance": a.get("InstanceId")}
            for a in addresses
            if a.get("NetworkInterfaceId") in interface_ids or a.get("InstanceId") in {i["InstanceId"] for i in live}
        ],
        "network_interfaces": [
            {"id": n["NetworkInterfaceId"], "description": n.get("Description", "")}
            for n in interfaces
            if not n.get("RequesterManaged") and not (n.get("Attachment") or {}).get("InstanceId")
        ],
    }


def _first(items):
    return next(iter(items), None)


def _instance(instances: list[dict], tags: dict[str, str]) -> dict | None:
    """The newest live instance with these tags; a terminated one only if nothing else matches."""
    matching = sorted(with_tags(instances, tags), key=lambda i: i["LaunchTime"], reverse=True)
    live = [i for i in matching if i["State"]["Name"] not in GONE]
    return _first(live or matching)


def _subnet(subnet: dict | None) -> dict | None:
    if subnet is None:
        return None
    return {"id": subnet["SubnetId"], "cidr": subnet["CidrBlock"], "availability_zone": subnet["AvailabilityZone"]}


def _instance_facts(inst: dict, volumes: dict[str, dict], addresses: list[dict], status: dict) -> dict:
    root_name = inst.get("RootDeviceName")
    root_id = next(
        (m["Ebs"]["VolumeId"] for m in inst.get("BlockDeviceMappings", []) if m["DeviceName"] == root_name), None
    )
    root = volumes.get(root_id)
    address = _first(a for a in addresses if a.get("InstanceId") == inst["InstanceId"])
    return {
        "id": inst["InstanceId"],
        "name": tags_of(inst).get("Name"),
        "instance_type": inst["InstanceType"],
        "state": inst["State"]["Name"],
        "subnet_id": inst.get("SubnetId"),
        "private_ip": inst.get("PrivateIpAddress"),
        "security_group_ids": sorted(g["GroupId"] for g in inst.get("SecurityGroups", [])),
        "root_volume": {"size_gib": root["Size"], "type": root["VolumeType"]} if root else None,
        "elastic_ip": address["PublicIp"] if address else None,
        "instance_status": (status.get("InstanceStatus") or {}).get("Status"),
        "system_status": (status.get("SystemStatus") or {}).get("Status"),
    }


def _group(group: dict | None) -> dict | None:
    if group is None:
        return None
    return {
        "id": group["GroupId"],
        "name": group["GroupName"],
        "ingress": [
            {
                "protocol": p["IpProtocol"],
                "from_port": p.get("FromPort"),
                "to_port": p.get("ToPort"),
                "cidrs": [r["CidrIp"] for r in p.get("IpRanges", [])]
                + [r["CidrIpv6"] for r in p.get("Ipv6Ranges", [])],
                "group_ids": [pair["GroupId"] for pair in p.get("UserIdGroupPairs", [])],
            }
            for p in group.get("IpPermissions", [])
        ],
    }
