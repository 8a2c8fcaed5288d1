"""The suite cannot change what it inspects, nor read a secret value: refused in code, before anything is sent."""

import tempfile
from pathlib import Path

import pytest

from viewster_infra.aws.reader import AwsReader, AwsSetupError, Target
from viewster_infra.aws.readonly import WriteRefused, allow_secret_read, is_allowed
from viewster_infra.sandbox.hosts.lifecycle import publish_private_key


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


def test_ssh_key_from_ssm_is_used_and_never_shown(staging_hosts, tmp_path):
    """--ssh-key-from-ssm: the hosts are reached with the key from SSM alone, from a 0600 file that is gone after
    the run, and the key appears in no output and no report."""
    state = staging_hosts.state
    identity = Path(state.hosts["identity_file"])
    publish_private_key(state.aws_endpoint_url, staging_hosts.spec, identity)
    without_key = tmp_path / "ssh_config"
    config = Path(state.hosts["ssh_config"]).read_text()
    without_key.write_text("\n".join(line for line in config.splitlines() if "IdentityFile" not in line) + "\n")
    reports = tmp_path / "reports"
    # This run's own temp directory (another worker's run may hold its key meanwhile); short, as SSH's control
    # sockets live there and a socket's path has at most 107 characters.
    with tempfile.TemporaryDirectory(prefix="vs-") as run_temp:
        result = staging_hosts.cli(
            f"--ssh-config={without_key}",
            "--ssh-key-from-ssm",
            "-rA",
            reports_dir=reports,
            env_overrides={"TMPDIR": run_temp},
        )
        assert list(Path(run_temp).glob("viewster-staging-*/ssh-key-from-ssm")) == []
    assert result.returncode == 0, result.stdout[-3000:]
    key_body = identity.read_text().splitlines()[1]
    assert key_body not in result.stdout + result.stderr
    for report in reports.iterdir():
        assert key_body not in report.read_text()


def test_ssm_get_parameter_is_allowed_only_for_the_named_key(reader):
    with allow_secret_read("ssm:GetParameter", "/viewster/common/keypair/private_key"):
        with pytest.raises(WriteRefused):
            reader.client("ssm").get_parameter(Name="/viewster/staging/database_url", WithDecryption=True)
    assert reader.sent == []
