"""The suite cannot change what it inspects, nor read a secret value: refused in code, before anything is sent."""

import pytest

from viewster_infra.aws.reader import AwsReader, AwsSetupError, Target
from viewster_infra.aws.readonly import WriteRefused, is_allowed


@pytest.fixture
def reader(sandboxes):
    staging = sandboxes("staging")
    reader = AwsReader(Target(region=staging.state.region, endpoint_url=staging.state.aws_endpoint_url))
    sent = []
    reader._session.events.register("before-send", lambda request, **_: sent.append(request.url))
    reader.sent = sent
    return reader


@pytest.mark.parametrize(
    "service, call, params",
    [
        ("ec2", "terminate_instances", {"InstanceIds": ["i-0123456789abcdef0"]}),
        (
            "s3",
            "put_bucket_versioning",
            {"Bucket": "viewster-assets-staging", "VersioningConfiguration": {"Status": "Suspended"}},
        ),
        ("rds", "modify_db_instance", {"DBInstanceIdentifier": "viewster-staging-database", "EngineVersion": "15.13"}),
        ("ssm", "get_parameter", {"Name": "/viewster/staging/database_url", "WithDecryption": True}),
        ("ssm", "get_parameters_by_path", {"Path": "/viewster"}),
        ("lambda", "get_function", {"FunctionName": "viewster-staging-telegram-notifier"}),
    ],
)
def test_refused_before_anything_is_sent(reader, service, call, params):
    with pytest.raises(WriteRefused, match="refused: the suite only reads AWS"):
        getattr(reader.client(service), call)(**params)
    assert reader.sent == []
    assert not reader.calls


def test_reads_go_through(reader):
    reader.client("ec2").describe_vpcs()
    assert len(reader.sent) == 1


def test_the_rule():
    assert is_allowed("ec2", "DescribeInstances")
    assert is_allowed("s3", "GetBucketEncryption")
    assert is_allowed("s3", "HeadBucket")
    assert not is_allowed("ec2", "RunInstances")
    assert not is_allowed("ssm", "GetParameter")
    assert not is_allowed("secrets-manager", "GetSecretValue")


def test_sandbox_mode_refuses_an_endpoint_off_this_machine():
    with pytest.raises(AwsSetupError, match="is not on 127.0.0.0/8"):
        AwsReader(Target(region="ap-northeast-2", endpoint_url="http://198.51.100.7:5000"))
