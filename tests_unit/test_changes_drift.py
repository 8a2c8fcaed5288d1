"""Change control (tests_infra/changes/), each check failing on the change it is about, made as it happens in life:
a person's console edit of the database, a rule added by hand, an instance launched by hand, an image pushed from a
laptop and run; and passing on what is allowed: a change by Terraform, a read-only console session, a change to the
other environment, a change before the previous report."""

import json
import re
import time

import pytest
from botocore.exceptions import ClientError

from tests_unit.harness import SPEC_DIR, proves
from tests_unit.test_hosts_drift import run_options
from viewster_infra import changes
from viewster_infra.aws.collectors import cloudtrail
from viewster_infra.sandbox import terraform_state
from viewster_infra.sandbox.ecr_images import build
from viewster_infra.sandbox.seed import FAKE_SECRET_VALUE
from viewster_infra.spec.loader import load

UNRELEASED = "c0ffee15bada55e5c0ffee15bada55e5c0ffee15"
REGISTRY = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"
GARY = "arn:aws:iam::123456789012:user/gary"
AT = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
CHANGE_CHECKS = ("terraform", "unmanaged", "changes_only", "pushed_by_ci")


def changes_run(sandbox, *args, reports_dir=None):
    return sandbox.run("-k", " or ".join(CHANGE_CHECKS), *args, changes=True, reports_dir=reports_dir)


def test_the_compliant_sandbox_passes_every_change_check(staging, tmp_path):
    result = changes_run(staging, reports_dir=tmp_path)  # a first run: CloudTrail read over the last 24 hours
    assert result.exit_code == 0, result.failures
    ran = {name.split("[")[0] for name, outcome in result.outcomes.items() if outcome == "passed"}
    assert ran >= {
        "test_terraform_manages_resource",
        "test_terraform_state_matches_aws",
        "test_no_unmanaged_resources",
        "test_changes_only_by_allowed_principals",
    }
    # the state holds the parameters' values and the database's password; the facts hold none of them
    assert FAKE_SECRET_VALUE not in json.dumps(result.report)
    # the seeding's writes in Seoul (about ninety: two pages of 50), one page in us-east-1
    assert result.operations["cloudtrail:LookupEvents"] == 3
    assert result.operations["s3:GetObject"] == 1


@proves("test_terraform_state_matches_aws", "test_changes_only_by_allowed_principals")
def test_a_console_edit_of_the_database(staging):
    staging.client("rds", staging.person()).modify_db_instance(
        DBInstanceIdentifier="viewster-staging-database", DBInstanceClass="db.t3.small", ApplyImmediately=True
    )
    result = changes_run(staging)
    assert set(result.failures) == {
        "test_terraform_state_matches_aws[staging-database-database]",
        "test_changes_only_by_allowed_principals[staging-rds]",
    }
    assert result.failures["test_terraform_state_matches_aws[staging-database-database]"] == (
        "database viewster-staging-database: changed outside Terraform: "
        "state says instance class 'db.t3.micro', AWS says 'db.t3.small'"
    )
    assert re.fullmatch(
        rf"staging rds changes: 1 change\(s\) by someone other than terraform, ci: ModifyDBInstance on "
        rf"viewster-staging-database by {GARY} \(console\) from 203\.0\.113\.7 at {AT}",
        result.failures["test_changes_only_by_allowed_principals[staging-rds]"],
    )


@proves("test_no_unmanaged_resources")
def test_a_rule_added_by_hand(staging):
    backend = staging.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["viewster-staging-backend-sg"]}]
    )["SecurityGroups"][0]["GroupId"]
    staging.client("ec2", staging.person(console=False, source_ip="198.51.100.20")).authorize_security_group_ingress(
        GroupId=backend,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    result = changes_run(staging)
    assert set(result.failures) == {
        "test_no_unmanaged_resources[staging-security-group-rules]",
        "test_terraform_state_matches_aws[staging-security-group-backend]",
        "test_changes_only_by_allowed_principals[staging-ec2]",
    }
    assert result.failures["test_no_unmanaged_resources[staging-security-group-rules]"] == (
        "security group rule viewster-staging-backend-sg tcp 22-22 from 0.0.0.0/0: in neither the Terraform state "
        f"nor the spec (in {backend})"
    )
    assert re.fullmatch(
        rf".*AuthorizeSecurityGroupIngress on {backend} by {GARY} from 198\.51\.100\.20 at {AT}",
        result.failures["test_changes_only_by_allowed_principals[staging-ec2]"],
    )


def test_an_instance_launched_by_hand(staging):
    ec2 = staging.client("ec2")
    subnet = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["viewster-staging-public-subnet"]}])
    launched = staging.client("ec2", staging.person()).run_instances(
        ImageId="ami-0f0e0d0c0b0a09080",
        InstanceType="t3.large",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet["Subnets"][0]["SubnetId"],
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [{"Key": "Name", "Value": "gary-debug"}, {"Key": "Environment", "Value": "staging"}],
            }
        ],
    )["Instances"][0]["InstanceId"]
    result = changes_run(staging)
    assert set(result.failures) == {
        "test_no_unmanaged_resources[staging-instances]",
        "test_changes_only_by_allowed_principals[staging-ec2]",
    }
    assert re.fullmatch(
        rf"ec2 instance {launched}: in neither the Terraform state nor the spec \(Name 'gary-debug', launched .*Z\)",
        result.failures["test_no_unmanaged_resources[staging-instances]"],
    )
    assert f"RunInstances on {launched}" in result.failures["test_changes_only_by_allowed_principals[staging-ec2]"]


@proves("test_deploy_image_pushed_by_ci")
def test_an_image_pushed_from_a_laptop_and_run(staging_hosts):
    gary = staging_hosts.person(console=False, source_ip="198.51.100.20")
    image = staging_hosts.push_image("backend", UNRELEASED, by=gary)
    staging_hosts.push_to_registry(image)
    staging_hosts.restore("backend", "backend-blue")
    staging_hosts.ssh(
        "backend",
        "docker rm -f backend-blue >/dev/null && docker run -d --name backend-blue -p 8080:8080 "
        f"{run_options(staging_hosts)} {REGISTRY}/viewster-staging-backend:{UNRELEASED[:7]}",
    )
    result = changes_run(staging_hosts)
    assert set(result.failures) == {
        "test_deploy_image_pushed_by_ci[staging-backend-backend-blue]",
        "test_changes_only_by_allowed_principals[staging-ecr]",
    }
    assert re.fullmatch(
        rf"backend container backend-blue: runs {re.escape(image.digest[:19])}…, pushed by {GARY} at {AT}, not by ci",
        result.failures["test_deploy_image_pushed_by_ci[staging-backend-backend-blue]"],
    )
    assert (
        "PutImage on viewster-staging-backend by "
        in result.failures["test_changes_only_by_allowed_principals[staging-ecr]"]
    )


def test_an_image_no_push_produced(staging_hosts):
    """An image copied into the registry behind ECR's back: no PutImage at all."""
    image = build("viewster-staging-frontend", UNRELEASED)
    staging_hosts.push_to_registry(image)
    staging_hosts.restore("frontend", "frontend-blue")
    staging_hosts.ssh(
        "frontend",
        "docker rm -f frontend-blue >/dev/null && docker run -d --name frontend-blue -p 3000:3000 "
        f"{run_options(staging_hosts, 'frontend', 'frontend-blue')} {REGISTRY}/viewster-staging-frontend:{UNRELEASED[:7]}",
    )
    result = staging_hosts.run("-k", "pushed_by_ci", changes=True)
    assert result.failures == {
        "test_deploy_image_pushed_by_ci[staging-frontend-frontend-blue]": "frontend container frontend-blue: runs "
        f"{image.digest[:19]}…, and no push of it is recorded (CloudTrail PutImage in viewster-staging-frontend)"
    }


@proves("test_terraform_manages_resource")
def test_an_alarm_deleted_in_the_console(staging):
    staging.client("cloudwatch", staging.person()).delete_alarms(AlarmNames=["viewster-staging-rds-cpu-high"])
    result = staging.run("-k", "terraform", changes=True)
    assert result.failures == {
        "test_terraform_manages_resource[staging-alarm-rds-cpu-high]": "alarm viewster-staging-rds-cpu-high: deleted "
        "outside Terraform: the state has aws_cloudwatch_metric_alarm.rds_cpu_high_staging = "
        "viewster-staging-rds-cpu-high, AWS has none"
    }


def test_a_resource_missing_from_the_state_and_one_replaced(staging):
    """The state as a team would leave it after `terraform state rm` of the bucket, and with a subnet id that AWS no
    longer has (the subnet made again by hand)."""
    state = terraform_state.build(
        lambda service: staging.client(service, staging.principal("terraform")), staging.spec, "staging"
    )
    state["resources"] = [r for r in state["resources"] if r["type"] != "aws_s3_bucket"]
    subnet = next(r for r in state["resources"] if r["type"] == "aws_subnet")
    subnet["instances"][0]["attributes"]["id"] = "subnet-0123456789abcdef0"
    bucket, key = terraform_state.location(staging.spec)
    staging.client("s3", staging.principal("terraform")).put_object(
        Bucket=bucket, Key=key, Body=json.dumps(state).encode()
    )
    result = staging.run("-k", "terraform_manages", changes=True)
    subnet_id = staging.client("ec2").describe_subnets(
        Filters=[{"Name": "tag:Name", "Values": ["viewster-staging-public-subnet"]}]
    )["Subnets"][0]["SubnetId"]
    assert result.failures == {
        "test_terraform_manages_resource[staging-bucket-assets]": "bucket viewster-assets-staging: not in the "
        "Terraform state (s3://viewster-terraform-state/staging/terraform.tfstate has no aws_s3_bucket for it)",
        "test_terraform_manages_resource[staging-subnet-public]": "subnet viewster-staging-public-subnet: replaced "
        "outside Terraform: the state has aws_subnet.public_staging = subnet-0123456789abcdef0, AWS has "
        f"{subnet_id}",
    }


def test_a_state_of_another_format_is_one_line_per_check(staging):
    bucket, key = terraform_state.location(staging.spec)
    staging.client("s3", staging.principal("terraform")).put_object(
        Bucket=bucket, Key=key, Body=json.dumps({"version": 3, "modules": []}).encode()
    )
    result = staging.run("-k", "terraform_manages and instance", changes=True)
    assert set(result.failures.values()) == {
        "terraform: terraform state s3://viewster-terraform-state/staging/terraform.tfstate: format version 3, the "
        "suite reads 4"
    }


def test_what_is_allowed_is_no_finding(staging):
    """A change by Terraform, a read-only console session, a failed write, the other environment's bucket made by
    hand in the same account, and AWS's own default security group: none is a finding."""
    terraform = staging.principal("terraform")
    staging.client("s3", terraform).put_bucket_tagging(
        Bucket="viewster-assets-staging", Tagging={"TagSet": [{"Key": "Owner", "Value": "platform"}]}
    )
    person = staging.person()
    staging.client("ec2", person).describe_instances()
    staging.client("rds", person).describe_db_instances()
    with pytest.raises(ClientError, match="InvalidInstanceID.NotFound"):
        staging.client("ec2", person).terminate_instances(InstanceIds=["i-0000000000000000f"])
    staging.client("s3", person).create_bucket(
        Bucket="viewster-production-scratch", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"}
    )
    result = changes_run(staging)
    assert result.exit_code == 0, result.failures


def test_a_change_before_the_previous_report_is_not_read_again(staging):
    staging.client("sns", staging.person()).create_topic(Name="viewster-staging-scratch")
    # a report's start is kept to the second, and the window starts there: an event in the same second as the
    # previous run's start is read again (once more rather than never)
    time.sleep(1.1)
    first = changes_run(staging)
    assert set(first.failures) == {
        "test_no_unmanaged_resources[staging-topics]",
        "test_changes_only_by_allowed_principals[staging-sns]",
    }
    second = changes_run(staging)  # the first run's report is the previous one now
    assert set(second.failures) == {"test_no_unmanaged_resources[staging-topics]"}  # it still exists


def test_lookups_are_paged_and_paced(staging, tmp_path):
    """130 tag changes by hand since the previous report: three pages of 50 in Seoul, each read in turn."""
    changes_run(staging, reports_dir=tmp_path)
    ec2 = staging.client("ec2", staging.person())
    vpc = staging.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["viewster-staging-vpc"]}])
    vpc_id = vpc["Vpcs"][0]["VpcId"]
    for n in range(130):
        ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "touched", "Value": str(n)}])
    result = staging.run("-k", "changes_only and ec2", changes=True, reports_dir=tmp_path)
    # 3 pages of writes in Seoul, 1 in us-east-1, and the pushes of the running images (before the window)
    assert result.operations["cloudtrail:LookupEvents"] == 5
    assert result.failures["test_changes_only_by_allowed_principals[staging-ec2]"].startswith(
        "staging ec2 changes: 130 change(s) by someone other than terraform, ci: CreateTags on "
    )


def test_a_record_added_by_hand_in_the_console(staging):
    """Route53's events are in us-east-1, and name the zone only: the record's name comes from the request."""
    route53 = staging.client("route53")
    zone = next(z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == "viewster.io.")
    staging.client("route53", staging.person()).change_resource_record_sets(
        HostedZoneId=zone["Id"],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": "debug.staging.viewster.io",
                        "Type": "A",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": "198.51.100.99"}],
                    },
                }
            ]
        },
    )
    result = changes_run(staging)
    assert set(result.failures) == {
        "test_no_unmanaged_resources[staging-records]",
        "test_changes_only_by_allowed_principals[staging-route53]",
    }
    assert result.failures["test_no_unmanaged_resources[staging-records]"] == (
        "route53 record A debug.staging.viewster.io: in neither the Terraform state nor the spec (in zone viewster.io)"
    )
    assert re.fullmatch(
        rf".*ChangeResourceRecordSets on {zone['Id'].rsplit('/', 1)[1]}, debug\.staging\.viewster\.io by {GARY} "
        rf"\(console\) from 203\.0\.113\.7 at {AT}",
        result.failures["test_changes_only_by_allowed_principals[staging-route53]"],
    )


@pytest.mark.parametrize(
    ("env", "name", "theirs"),
    [
        ("staging", "viewster-assets-staging", True),
        ("staging", "staging-api.viewster.io", True),
        ("staging", "viewster-assets-production", False),
        ("staging", "api.viewster.io", False),
        ("production", "api.viewster.io", True),
        ("production", "viewster.io", True),
        ("production", "viewster-production-backend", True),
        ("production", "staging-api.viewster.io", False),
        ("production", "viewster-assets-staging", False),
    ],
)
def test_which_names_are_an_environments(env, name, theirs):
    assert changes.is_environments_name(name, load(SPEC_DIR, env).spec) is theirs


def test_lookups_are_paced_to_two_a_second(monkeypatch):
    """LookupEvents' limit: the first two requests at once, the third a second after the first."""
    clock, slept = [100.0], []
    monkeypatch.setattr(cloudtrail.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(
        cloudtrail.time, "sleep", lambda s: (slept.append(round(s, 3)), clock.__setitem__(0, clock[0] + s))
    )
    pacer = cloudtrail.Pacer()
    pacer.wait()
    clock[0] += 0.2
    pacer.wait()
    pacer.wait()  # at 100.2: waits until 101.0
    pacer.wait()  # at 101.0: waits until 101.2
    assert slept == [0.8, 0.2]


@pytest.mark.parametrize(
    ("event", "allowed"),
    [
        (
            {
                "principal": "arn:aws:sts::123456789012:assumed-role/viewster-terraform/run",
                "role": "arn:aws:iam::123456789012:role/viewster-terraform",
            },
            "terraform",
        ),
        ({"principal": "arn:aws:iam::123456789012:user/gary", "role": None}, None),
        ({"principal": "arn:aws:iam::123456789012:root", "principal_type": "Root", "role": None}, None),
        ({"principal": "rds.amazonaws.com", "principal_type": "AWSService", "role": None}, "aws"),
        (
            {
                "principal": "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForRDS/RDS",
                "role": "arn:aws:iam::123456789012:role/aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS",
            },
            "aws",
        ),
    ],
    ids=["terraform-session", "a-person", "root", "an-aws-service", "a-service-linked-role"],
)
def test_who_may_change_the_estate(event, allowed):
    """AWS acting by itself (a service; its service-linked role placing RDS's network interface) is not a person."""
    assert changes.allowed_as(event, load(SPEC_DIR, "staging").spec) == allowed
