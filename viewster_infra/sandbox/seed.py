"""Seeds a moto server with a replica of one environment that complies with its spec.

Everything is built from the spec, so a spec change and the sandbox never disagree. These clients write, and
so they are plain boto3 clients, never the suite's read-only ones; they only ever talk to the sandbox endpoint.

It is built as the estate is (Terraform 참조, 배포 방식): the account's root makes the two roles the spec allows to
change it; the Terraform role creates every resource and writes the state `terraform apply` would leave
(terraform_state.py); the CI deploy role pushes the images. The sandbox's CloudTrail (trail.py) records each of
them so, and a compliant replica has no change by anyone else.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import requests

from viewster_infra.sandbox import ecr_images
from viewster_infra.sandbox.aws_session import sandbox_session
from viewster_infra.spec.model import EnvironmentSpec

# moto accepts any AMI id and gives the instance this root device name, as an Ubuntu AMI would.
SANDBOX_IMAGE_ID = "ami-0f0e0d0c0b0a09080"
ROOT_DEVICE = "/dev/sda1"
# Obviously fake values: the suite must never print these, and unit tests look for them in every report.
FAKE_SECRET_VALUE = "sandbox-secret-value-never-printed"
RECOVER_ACTION = "arn:aws:automate:{region}:ec2:recover"
# What the scanner found in a compliant image: nothing at or above the default threshold (CRITICAL).
COMPLIANT_SCAN = {"MEDIUM": 2, "LOW": 3, "INFORMATIONAL": 1}


def seed(
    endpoint_url: str,
    spec: EnvironmentSpec,
    env: str,
    scan_counts: dict[str, dict[str, int]] | None = None,
    metrics: bool = True,
    costs: dict[str, float] | None = None,
) -> None:
    """A compliant replica of `env`. scan_counts: ecr.repositories key -> the severity counts of its latest image's
    scan, instead of COMPLIANT_SCAN (how a drift test gives an image a CRITICAL finding). metrics=False: no
    CloudWatch datapoints at all (instances and a database that report nothing). costs: what Cost Explorer
    reports this month per service, instead of QUIET_COSTS."""
    from viewster_infra.sandbox import terraform_state  # it reads this module's fake secret

    session = sandbox_session(spec.aws.region)
    terraform, ci = (
        as_principal(endpoint_url, session, spec, name) for name in ("terraform", spec.changes.image_pusher)
    )

    def client(name: str):
        return terraform.client(name, endpoint_url=endpoint_url)

    ec2 = client("ec2")
    subnet_ids, group_ids = _network(ec2, spec)
    instance_ids, public_ips = _instances(ec2, spec, subnet_ids, group_ids)
    _database(client("rds"), spec, group_ids)
    _buckets(client("s3"), spec)
    _repositories(client("ecr"), ci.client("ecr", endpoint_url=endpoint_url), spec, endpoint_url, scan_counts or {})
    function_arns = _functions(client("lambda"), client("iam"), spec, env)
    topic_arns = _topics(client("sns"), spec, function_arns)
    _monitoring(client("cloudwatch"), spec, instance_ids, topic_arns)
    if metrics:
        _datapoints(client("cloudwatch"), spec, instance_ids)
    _dns(client("route53"), spec, public_ips)
    _parameters(client("ssm"), spec)
    terraform_state.write(client, spec, env)
    _costs(endpoint_url, spec, session, QUIET_COSTS if costs is None else costs)


def as_principal(endpoint_url: str, session, spec: EnvironmentSpec, name: str):
    """A session of the role the spec allows as `name` (changes.principals), made in moto's IAM if need be and
    assumed through STS as GitHub Actions' OIDC or a person's `terraform apply` would."""
    role_name = spec.changes.principals[name].rsplit("/", 1)[1]
    iam = session.client("iam", endpoint_url=endpoint_url)
    try:
        arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
        }
        arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    credentials = session.client("sts", endpoint_url=endpoint_url).assume_role(RoleArn=arn, RoleSessionName=name)[
        "Credentials"
    ]
    return sandbox_session(
        spec.aws.region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _tag_spec(kind: str, tags: dict[str, str]) -> list[dict]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def _network(ec2, spec: EnvironmentSpec) -> tuple[dict[str, str], dict[str, str]]:
    vpc_id = ec2.create_vpc(CidrBlock=spec.vpc.cidr, TagSpecifications=_tag_spec("vpc", spec.vpc.tags))["Vpc"]["VpcId"]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc_id)
    subnet_ids = {
        key: ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=subnet.cidr,
            AvailabilityZone=subnet.availability_zone,
            TagSpecifications=_tag_spec("subnet", subnet.tags),
        )["Subnet"]["SubnetId"]
        for key, subnet in spec.vpc.subnets.items()
    }
    group_ids = {
        key: ec2.create_security_group(GroupName=group.name, Description=f"viewster {key}", VpcId=vpc_id)["GroupId"]
        for key, group in spec.security_groups.items()
    }
    for key, group in spec.security_groups.items():
        permissions = [
            {
                "IpProtocol": rule.protocol,
                "FromPort": rule.port,
                "ToPort": rule.port,
                "IpRanges": [{"CidrIp": cidr} for cidr in rule.from_cidrs],
                "UserIdGroupPairs": [{"GroupId": group_ids[source]} for source in rule.from_groups],
            }
            for rule in group.ingress
        ]
        ec2.authorize_security_group_ingress(GroupId=group_ids[key], IpPermissions=permissions)
    return subnet_ids, group_ids


def _instances(ec2, spec, subnet_ids, group_ids) -> tuple[dict[str, str], dict[str, str]]:
    instance_ids, public_ips = {}, {}
    for key, inst in spec.ec2.instances.items():
        volume = {"VolumeSize": inst.root_volume.size_gib, "VolumeType": inst.root_volume.type}
        instance_id = ec2.run_instances(
            ImageId=SANDBOX_IMAGE_ID,
            InstanceType=inst.instance_type,
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet_ids[inst.subnet],
            SecurityGroupIds=[group_ids[inst.security_group]],
            BlockDeviceMappings=[{"DeviceName": ROOT_DEVICE, "Ebs": volume}],
            TagSpecifications=_tag_spec("instance", inst.tags),
        )["Instances"][0]["InstanceId"]
        instance_ids[key] = instance_id
        if inst.elastic_ip:
            address = ec2.allocate_address(Domain="vpc")
            ec2.associate_address(InstanceId=instance_id, AllocationId=address["AllocationId"])
            public_ips[key] = address["PublicIp"]
    return instance_ids, public_ips


def _database(rds, spec, group_ids) -> None:
    for db in spec.rds.databases.values():
        family = f"{db.engine}{db.engine_version.split('.')[0]}"
        rds.create_db_parameter_group(
            DBParameterGroupName=db.parameter_group, DBParameterGroupFamily=family, Description="viewster"
        )
        rds.create_db_instance(
            DBParameterGroupName=db.parameter_group,
            EnablePerformanceInsights=db.performance_insights,
            PerformanceInsightsRetentionPeriod=7,  # the free tier
            DBInstanceIdentifier=db.identifier,
            Engine=db.engine,
            EngineVersion=db.engine_version,
            DBInstanceClass=db.instance_class,
            StorageType=db.storage_type,
            AllocatedStorage=db.allocated_storage_gib,
            MaxAllocatedStorage=db.max_allocated_storage_gib,
            PubliclyAccessible=db.publicly_accessible,
            BackupRetentionPeriod=db.backup_retention_days
            if db.backup_retention_days is not None
            else max(db.min_backup_retention_days, 7),
            VpcSecurityGroupIds=[group_ids[db.security_group]],
            MasterUsername="viewster",
            MasterUserPassword=FAKE_SECRET_VALUE,
        )


def _buckets(s3, spec) -> None:
    for bucket in spec.s3.buckets.values():
        s3.create_bucket(Bucket=bucket.name, CreateBucketConfiguration={"LocationConstraint": spec.aws.region})
        s3.put_bucket_versioning(Bucket=bucket.name, VersioningConfiguration={"Status": bucket.versioning})
        s3.put_bucket_encryption(
            Bucket=bucket.name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": bucket.encryption}}]
            },
        )
        lifecycle = bucket.lifecycle
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket.name,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "assets-tiering",
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "Transitions": [
                            {"Days": t.days, "StorageClass": t.storage_class} for t in lifecycle.transitions
                        ],
                        "NoncurrentVersionExpiration": {"NoncurrentDays": lifecycle.noncurrent_version_expiration_days},
                    }
                ]
            },
        )
        flag = bucket.block_public_access
        s3.put_public_access_block(
            Bucket=bucket.name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": flag,
                "IgnorePublicAcls": flag,
                "BlockPublicPolicy": flag,
                "RestrictPublicBuckets": flag,
            },
        )


def _repositories(ecr, deploy_ecr, spec, endpoint_url: str, scan_counts: dict[str, dict[str, int]]) -> None:
    """Each repository (Terraform's) with its images (pushed by CI: ecr_images.py), every image scanned, results
    seeded through moto's static API."""
    account = ecr.describe_registry()["registryId"]
    scanned = []
    for key, repo in spec.ecr.repositories.items():
        ecr.create_repository(repositoryName=repo.name, imageScanningConfiguration={"scanOnPush": repo.scan_on_push})
        history = ecr_images.history(repo.name)
        for image in history:
            deploy_ecr.put_image(
                repositoryName=repo.name, imageManifest=image.manifest, imageTag=image.tag, imageDigest=image.digest
            )
        newest = history[-1]
        for tag in repo.required_tags:
            deploy_ecr.put_image(
                repositoryName=repo.name, imageManifest=newest.manifest, imageTag=tag, imageDigest=newest.digest
            )
        for image in history:
            deploy_ecr.start_image_scan(repositoryName=repo.name, imageId={"imageDigest": image.digest})
            counts = scan_counts.get(key, COMPLIANT_SCAN) if image is newest else COMPLIANT_SCAN
            scanned.append((repo.name, image.digest, counts))
    scan_results(endpoint_url, spec.aws.region, account, scanned)


def scan_results(endpoint_url: str, region: str, account: str, scanned: list[tuple[str, str, dict]]) -> None:
    """What the scanner found, per (repository, digest, severity counts), through moto's static result API (moto
    scans nothing itself)."""
    results = [
        {
            "registryId": account,
            "repositoryName": repository,
            "imageId": {"imageDigest": digest},
            "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
            "imageScanFindings": {"findings": [], "findingSeverityCounts": counts},
        }
        for repository, digest, counts in scanned
    ]
    requests.post(
        f"{endpoint_url}/moto-api/static/ecr/scan-finding-results",
        json={"results": results, "region": region, "account_id": account},
        timeout=10,
    ).raise_for_status()


def _functions(lambda_client, iam, spec, env: str) -> dict[str, str]:
    role_arn = iam.create_role(
        RoleName=f"viewster-{env}-lambda",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return {
        key: lambda_client.create_function(
            FunctionName=fn.name,
            Runtime="python3.11",
            Role=role_arn,
            Handler="handler.handler",
            Code={"ZipFile": code.getvalue()},
            Environment={"Variables": {"TELEGRAM_BOT_TOKEN": FAKE_SECRET_VALUE}},
        )["FunctionArn"]
        for key, fn in spec.lambda_.functions.items()
    }


def _topics(sns, spec, function_arns) -> dict[str, str]:
    topic_arns = {}
    for key, topic in spec.sns.topics.items():
        topic_arns[key] = sns.create_topic(Name=topic.name)["TopicArn"]
        for fn in topic.lambda_subscribers:
            sns.subscribe(TopicArn=topic_arns[key], Protocol="lambda", Endpoint=function_arns[fn])
    return topic_arns


def _monitoring(cloudwatch, spec, instance_ids, topic_arns) -> None:
    for dashboard in spec.cloudwatch.dashboards.values():
        widgets = [
            {"type": "metric", "properties": {"metrics": [[namespace, "placeholder"]], "region": spec.aws.region}}
            for namespace in dashboard.namespaces
        ]
        cloudwatch.put_dashboard(DashboardName=dashboard.name, DashboardBody=json.dumps({"widgets": widgets}))
    databases = spec.rds.databases
    for alarm in spec.cloudwatch.alarms.values():
        if alarm.instance is not None:
            dimension = {"Name": "InstanceId", "Value": instance_ids[alarm.instance]}
        else:
            dimension = {"Name": "DBInstanceIdentifier", "Value": databases[alarm.database].identifier}
        actions = [topic_arns[alarm.notifies]]
        if alarm.recovers_instance:
            actions.append(RECOVER_ACTION.format(region=spec.aws.region))
        cloudwatch.put_metric_alarm(
            AlarmName=alarm.name,
            Namespace=alarm.namespace,
            MetricName=alarm.metric,
            Dimensions=[dimension],
            Statistic=alarm.statistic,
            ComparisonOperator=alarm.comparison,
            Threshold=alarm.threshold,
            Period=alarm.period_seconds,
            EvaluationPeriods=alarm.evaluation_periods,
            AlarmActions=actions,
        )


# A quiet, healthy estate: what each metric reads over the last hour (every 5 minutes).
QUIET = {
    "AWS/EC2": {"CPUUtilization": 14.0, "CPUCreditBalance": 140.0},
    "AWS/RDS": {"CPUUtilization": 8.0, "FreeStorageSpace": 15 * 2**30, "DatabaseConnections": 12.0},
}


def _datapoints(cloudwatch, spec, instance_ids) -> None:
    """The live metrics of a compliant estate over the spec's window, as CloudWatch would hold them."""
    now = datetime.now(UTC)
    times = [now - timedelta(minutes=m) for m in range(1, spec.live.window_minutes, 5)]
    targets = [("AWS/EC2", "InstanceId", instance_id) for instance_id in instance_ids.values()]
    targets += [("AWS/RDS", "DBInstanceIdentifier", db.identifier) for db in spec.rds.databases.values()]
    for namespace, dimension, value in targets:
        cloudwatch.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": dimension, "Value": value}],
                    "Timestamp": at,
                    "Value": reading,
                }
                for metric, reading in QUIET[namespace].items()
                for at in times
            ],
        )


# This month so far, well within every budget of the spec.
QUIET_COSTS = {
    "Amazon Elastic Compute Cloud - Compute": 41.2,
    "Amazon Relational Database Service": 14.7,
    "Amazon Simple Storage Service": 0.42,
    "Amazon EC2 Container Registry (ECR)": 0.31,
    "AmazonCloudWatch": 3.1,
}


def _costs(endpoint_url: str, spec, session, per_service: dict[str, float]) -> None:
    """What Cost Explorer answers (moto tracks no cost): one month-to-date result, through moto's result API."""
    account = session.client("sts", endpoint_url=endpoint_url).get_caller_identity()["Account"]
    today = datetime.now(UTC).date()
    groups = [
        {"Keys": [service], "Metrics": {"UnblendedCost": {"Amount": f"{amount:.2f}", "Unit": "USD"}}}
        for service, amount in per_service.items()
    ]
    period = {"Start": today.replace(day=1).isoformat(), "End": (today + timedelta(days=1)).isoformat()}
    result = {"ResultsByTime": [{"TimePeriod": period, "Total": {}, "Groups": groups, "Estimated": True}]}
    requests.post(
        f"{endpoint_url}/moto-api/static/ce/cost-and-usage-results",
        json={"account_id": account, "results": [result | {"DimensionValueAttributes": []}]},
        timeout=10,
    ).raise_for_status()


def _dns(route53, spec, public_ips) -> None:
    zone_id = route53.create_hosted_zone(Name=spec.route53.zone, CallerReference="viewster-sandbox")["HostedZone"]["Id"]
    changes = [
        {
            "Action": "UPSERT",
            "ResourceRecordSet": {
                "Name": record.name,
                "Type": record.type,
                "TTL": 300,
                "ResourceRecords": [{"Value": public_ips[record.points_to]}],
            },
        }
        for record in spec.route53.records.values()
    ]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})


def _parameters(ssm, spec) -> None:
    for parameter in spec.ssm.parameters.values():
        ssm.put_parameter(Name=parameter.name, Type=parameter.type, Value=FAKE_SECRET_VALUE)
