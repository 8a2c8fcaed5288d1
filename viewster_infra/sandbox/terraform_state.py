"""The state `terraform apply` leaves for the seeded replica: format version 4, the AWS provider's resource types
and attribute names (hashicorp/aws 5.82), the ids AWS gave. Written to the environment's state location in moto's
S3 (changes.terraform_state), as an S3 backend keeps it, by the Terraform role.

It is built from what AWS holds after seeding, for the resources the spec names (and the ones Terraform makes
alongside them: the Elastic IPs, the internet gateway, the Lambda function's role, the topic's subscription), so a
drift made later outside Terraform is a difference between the two. Like a real state it holds secrets in the clear
(the parameters' values, the database's password): the suite must keep none of them.
"""

from __future__ import annotations

import json
import uuid

from viewster_infra.sandbox.seed import FAKE_SECRET_VALUE
from viewster_infra.spec.model import EnvironmentSpec

PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'
TERRAFORM_VERSION = "1.9.8"
STATE_BUCKET_REGION_KEY = "LocationConstraint"


def location(spec: EnvironmentSpec) -> tuple[str, str]:
    """(bucket, key) of an S3 state location."""
    bucket, _, key = spec.changes.terraform_state.removeprefix("s3://").partition("/")
    return bucket, key


def write(client, spec: EnvironmentSpec, env: str) -> None:
    """Build the state from AWS as it is now and put it where the spec says, creating the bucket if need be.
    `client(service)` gives the Terraform role's clients."""
    state = build(client, spec, env)
    bucket, key = location(spec)
    s3 = client("s3")
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={STATE_BUCKET_REGION_KEY: spec.aws.region})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(state, indent=2).encode())


def build(client, spec: EnvironmentSpec, env: str) -> dict:
    resources: list[dict] = []

    def add(tf_type: str, name: str, attributes: dict, dependencies: tuple[str, ...] = ()) -> None:
        resources.append(
            {
                "mode": "managed",
                "type": tf_type,
                "name": f"{name.replace('-', '_')}_{env}",
                "provider": PROVIDER,
                "instances": [
                    {
                        "schema_version": 0,
                        "attributes": attributes,
                        "sensitive_attributes": [],
                        "dependencies": list(dependencies),
                    }
                ],
            }
        )

    ec2 = client("ec2")
    vpc = next(v for v in ec2.describe_vpcs()["Vpcs"] if _tags(v).get("Name") == spec.vpc.tags.get("Name"))
    add("aws_vpc", "main", {"id": vpc["VpcId"], "cidr_block": vpc["CidrBlock"], "tags": _tags(vpc)})
    for gateway in ec2.describe_internet_gateways()["InternetGateways"]:
        if any(a["VpcId"] == vpc["VpcId"] for a in gateway.get("Attachments", [])):
            add("aws_internet_gateway", "main", {"id": gateway["InternetGatewayId"], "vpc_id": vpc["VpcId"]})
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    for key, want in spec.vpc.subnets.items():
        subnet = next(s for s in subnets if _tags(s).get("Name") == want.tags.get("Name"))
        add(
            "aws_subnet",
            key,
            {
                "id": subnet["SubnetId"],
                "vpc_id": vpc["VpcId"],
                "cidr_block": subnet["CidrBlock"],
                "availability_zone": subnet["AvailabilityZone"],
                "tags": _tags(subnet),
            },
        )
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]
    for key, want in spec.security_groups.items():
        group = next(g for g in groups if g["GroupName"] == want.name)
        add(
            "aws_security_group",
            key,
            {
                "id": group["GroupId"],
                "arn": f"arn:aws:ec2:{spec.aws.region}:{group['OwnerId']}:security-group/{group['GroupId']}",
                "name": group["GroupName"],
                "description": group["Description"],
                "vpc_id": vpc["VpcId"],
                "ingress": [_ingress(p) for p in group.get("IpPermissions", [])],
                "egress": [],
                "tags": _tags(group),
            },
        )
    reservations = ec2.describe_instances()["Reservations"]
    instances = [i for r in reservations for i in r["Instances"] if i["State"]["Name"] not in ("terminated",)]
    volumes = {v["VolumeId"]: v for v in ec2.describe_volumes()["Volumes"]}
    addresses = ec2.describe_addresses()["Addresses"]
    for key, want in spec.ec2.instances.items():
        instance = next(i for i in instances if _tags(i).get("Name") == want.tags.get("Name"))
        root = next(m for m in instance["BlockDeviceMappings"] if m["DeviceName"] == instance["RootDeviceName"])
        volume = volumes[root["Ebs"]["VolumeId"]]
        add(
            "aws_instance",
            key,
            {
                "id": instance["InstanceId"],
                "ami": instance["ImageId"],
                "instance_type": instance["InstanceType"],
                "subnet_id": instance["SubnetId"],
                "private_ip": instance.get("PrivateIpAddress"),
                "vpc_security_group_ids": sorted(g["GroupId"] for g in instance["SecurityGroups"]),
                "root_block_device": [
                    {
                        "volume_id": volume["VolumeId"],
                        "volume_size": volume["Size"],
                        "volume_type": volume["VolumeType"],
                    }
                ],
                "tags": _tags(instance),
            },
        )
        for address in addresses:
            if address.get("InstanceId") == instance["InstanceId"]:
                add(
                    "aws_eip",
                    key,
                    {
                        "id": address["AllocationId"],
                        "public_ip": address["PublicIp"],
                        "instance": instance["InstanceId"],
                    },
                )

    rds = client("rds")
    databases = {d["DBInstanceIdentifier"]: d for d in rds.describe_db_instances()["DBInstances"]}
    for key, want in spec.rds.databases.items():
        db = databases[want.identifier]
        add(
            "aws_db_instance",
            key,
            {
                "id": db["DbiResourceId"],
                "resource_id": db["DbiResourceId"],
                "arn": db["DBInstanceArn"],
                "identifier": db["DBInstanceIdentifier"],
                "engine": db["Engine"],
                "engine_version": db["EngineVersion"],
                "instance_class": db["DBInstanceClass"],
                "allocated_storage": db["AllocatedStorage"],
                "max_allocated_storage": db.get("MaxAllocatedStorage", 0),
                "storage_type": db.get("StorageType"),
                "publicly_accessible": db["PubliclyAccessible"],
                "backup_retention_period": db["BackupRetentionPeriod"],
                "parameter_group_name": db["DBParameterGroups"][0]["DBParameterGroupName"],
                "performance_insights_enabled": db.get("PerformanceInsightsEnabled", False),
                "username": db["MasterUsername"],
                "password": FAKE_SECRET_VALUE,
                "vpc_security_group_ids": sorted(g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]),
            },
        )
    for key, want in spec.rds.databases.items():
        add("aws_db_parameter_group", key, {"id": want.parameter_group, "name": want.parameter_group})
    for key, want in spec.s3.buckets.items():
        add("aws_s3_bucket", key, {"id": want.name, "bucket": want.name, "arn": f"arn:aws:s3:::{want.name}"})
    ecr = client("ecr")
    repositories = {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}
    for key, want in spec.ecr.repositories.items():
        repo = repositories[want.name]
        add(
            "aws_ecr_repository",
            key,
            {
                "id": repo["repositoryName"],
                "arn": repo["repositoryArn"],
                "name": repo["repositoryName"],
                "repository_url": repo["repositoryUri"],
                "image_scanning_configuration": [{"scan_on_push": repo["imageScanningConfiguration"]["scanOnPush"]}],
            },
        )
    cloudwatch = client("cloudwatch")
    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    for key, want in spec.cloudwatch.alarms.items():
        alarm = alarms[want.name]
        add(
            "aws_cloudwatch_metric_alarm",
            key,
            {
                "id": alarm["AlarmName"],
                "arn": alarm["AlarmArn"],
                "alarm_name": alarm["AlarmName"],
                "namespace": alarm["Namespace"],
                "metric_name": alarm["MetricName"],
                "statistic": alarm.get("Statistic"),
                "comparison_operator": alarm["ComparisonOperator"],
                "threshold": alarm["Threshold"],
                "period": alarm["Period"],
                "evaluation_periods": alarm["EvaluationPeriods"],
                "alarm_actions": alarm.get("AlarmActions", []),
                "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])},
            },
        )
    for key, want in spec.cloudwatch.dashboards.items():
        add("aws_cloudwatch_dashboard", key, {"id": want.name, "dashboard_name": want.name})
    sns = client("sns")
    topics = {t["TopicArn"].rsplit(":", 1)[1]: t["TopicArn"] for t in sns.list_topics()["Topics"]}
    subscriptions = sns.list_subscriptions()["Subscriptions"]
    for key, want in spec.sns.topics.items():
        add("aws_sns_topic", key, {"id": topics[want.name], "arn": topics[want.name], "name": want.name})
        for subscription in subscriptions:
            if subscription["TopicArn"] == topics[want.name]:
                add(
                    "aws_sns_topic_subscription",
                    key,
                    {
                        "id": subscription["SubscriptionArn"],
                        "arn": subscription["SubscriptionArn"],
                        "topic_arn": subscription["TopicArn"],
                        "protocol": subscription["Protocol"],
                        "endpoint": subscription["Endpoint"],
                    },
                )
    functions = {f["FunctionName"]: f for f in client("lambda").list_functions()["Functions"]}
    for key, want in spec.lambda_.functions.items():
        function = functions[want.name]
        add(
            "aws_lambda_function",
            key,
            {"id": want.name, "arn": function["FunctionArn"], "function_name": want.name, "role": function["Role"]},
        )
        role_name = function["Role"].rsplit("/", 1)[1]
        add("aws_iam_role", f"{key}-role", {"id": role_name, "arn": function["Role"], "name": role_name})
    route53 = client("route53")
    zone = next(z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == spec.route53.zone + ".")
    zone_id = zone["Id"].rsplit("/", 1)[1]
    records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    for key, want in spec.route53.records.items():
        record = next(r for r in records if r["Name"].rstrip(".") == want.name and r["Type"] == want.type)
        add(
            "aws_route53_record",
            key,
            {
                "id": f"{zone_id}_{want.name}_{want.type}",
                "zone_id": zone_id,
                "name": want.name,
                "type": want.type,
                "ttl": record.get("TTL"),
                "records": sorted(r["Value"] for r in record.get("ResourceRecords", [])),
            },
        )
    for key, want in spec.ssm.parameters.items():
        if (want.state_of or env) != env:
            continue  # another environment's state manages it
        add(
            "aws_ssm_parameter",
            key,
            {
                "id": want.name,
                "arn": f"arn:aws:ssm:{spec.aws.region}:{vpc['OwnerId']}:parameter{want.name}",
                "name": want.name,
                "type": want.type,
                "value": FAKE_SECRET_VALUE,
            },
        )
    return {
        "version": 4,
        "terraform_version": TERRAFORM_VERSION,
        "serial": 1,
        "lineage": str(uuid.uuid5(uuid.NAMESPACE_URL, f"viewster-{env}")),
        "outputs": {},
        "resources": resources,
        "check_results": None,
    }


def _tags(resource: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or []}


def _ingress(permission: dict) -> dict:
    return {
        "protocol": permission["IpProtocol"],
        "from_port": permission.get("FromPort", 0),
        "to_port": permission.get("ToPort", 0),
        "cidr_blocks": [r["CidrIp"] for r in permission.get("IpRanges", [])],
        "ipv6_cidr_blocks": [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])],
        "security_groups": [p["GroupId"] for p in permission.get("UserIdGroupPairs", [])],
        "prefix_list_ids": [],
        "self": False,
        "description": "",
    }
