"""The CI role's policy (iam/post-deploy-checks-policy.json), proven against moto with IAM enforced: a user with
only this policy runs the suite green, every action in it is one the suite makes (none missing, none unused), and
without any one of them exactly the checks of that service fail, naming the denied call."""

import json
import re

import boto3
import pytest
import requests

from tests_unit.harness import ROOT, SPEC_DIR, run_suite
from viewster_infra.sandbox import moto_server
from viewster_infra.sandbox.ecr_images import COMMITS
from viewster_infra.sandbox.seed import seed
from viewster_infra.sandbox.state import SandboxState
from viewster_infra.spec.loader import load

# One worker runs them all (make test's --dist loadgroup), so that one IAM-enforcing moto is started and seeded, and
# one compliant run made, instead of one of each per xdist worker (module fixtures are per worker).
pytestmark = pytest.mark.xdist_group("iam")

POLICY = json.loads((ROOT / "iam" / "post-deploy-checks-policy.json").read_text())
ACCOUNT = "123456789012"
# botocore's operation -> the IAM action that allows it, where the two names differ.
IAM_ACTION = {
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:ListBuckets": "s3:ListAllMyBuckets",
}
# botocore's service id -> IAM's prefix
IAM_PREFIX = {"route-53": "route53", "cost-explorer": "ce", "resource-groups-tagging-api": "tag"}
# The facts an action is read for, where they are not named after its service: the Terraform state is an S3 object.
FACTS_OF = {"s3:GetObject": "terraform"}
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}  # AWS answers it for every principal
IMPLIED = {"kms:Decrypt"}  # asked of KMS by SSM itself when ssm:GetParameter decrypts the SecureString key
RUN = ("--env=staging", "--sandbox", f"--deployed-sha={COMMITS[-1]}", "--ssh-key-from-ssm", "--aws-profile=ci")


def policy_actions(policy: dict) -> set[str]:
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def iam_action(operation: str) -> str:
    service, _, name = operation.partition(":")
    operation = f"{IAM_PREFIX.get(service, service)}:{name}"
    return IAM_ACTION.get(operation, operation)


def as_moto_judges(policy: dict) -> dict:
    """moto matches resources only for S3 (bucket ARNs) and knows no conditions or policy variables: elsewhere it
    asks about Resource "*", so the copy it is given is widened to that. The actions are exactly the policy's."""
    statements = []
    for statement in policy["Statement"]:
        widened = {k: v for k, v in statement.items() if k != "Condition"}
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if not all(resource.startswith("arn:aws:s3:::") for resource in resources):
            widened["Resource"] = "*"
        statements.append(widened)
    return {"Version": policy["Version"], "Statement": statements}


class IamSandbox:
    """AWS only (no hosts), IAM enforced: an admin user to change the CI user's policy, the CI user to run as."""

    def __init__(self, base) -> None:
        self.pid, self.endpoint = moto_server.start(
            base / "moto.log", ACCOUNT, module="viewster_infra.sandbox.moto_iam_server"
        )
        self.state_dir, self.reports_dir, self.credentials = base / "state", base / "reports", base / "credentials"
        seed(self.endpoint, load(SPEC_DIR, "staging").spec, "staging")
        SandboxState(
            env="staging",
            region="ap-northeast-2",
            aws_endpoint_url=self.endpoint,
            moto_pid=self.pid,
            account_id=ACCOUNT,
            hosts_unavailable="AWS only: the IAM proof needs no hosts",
        ).save(self.state_dir)
        iam = self._client("iam", "sandbox", "sandbox")
        keys = {}
        for user, policy in (("admin", {"Version": "2012-10-17", "Statement": [_allow_all()]}), ("ci", POLICY)):
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="policy", PolicyDocument=json.dumps(as_moto_judges(policy)))
            keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
        self.credentials.write_text(
            "".join(
                f"[{user}]\naws_access_key_id = {key['AccessKeyId']}\naws_secret_access_key = {key['SecretAccessKey']}\n"
                for user, key in keys.items()
            )
        )
        self.admin = self._client("iam", keys["admin"]["AccessKeyId"], keys["admin"]["SecretAccessKey"])
        requests.post(  # from here on every request is authenticated and authorised
            f"{self.endpoint}/moto-api/reset-auth", data="0", headers={"Content-Type": "text/plain"}, timeout=10
        ).raise_for_status()

    def _client(self, service: str, key: str, secret: str):
        return boto3.client(
            service,
            region_name="ap-northeast-2",
            endpoint_url=self.endpoint,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )

    def run_as_ci(self, policy: dict, monkeypatch):
        self.admin.put_user_policy(
            UserName="ci", PolicyName="policy", PolicyDocument=json.dumps(as_moto_judges(policy))
        )
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(self.credentials))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(self.credentials.with_name("no-config")))
        return run_suite(*RUN, f"--sandbox-dir={self.state_dir}", reports_dir=self.reports_dir)


def _allow_all() -> dict:
    return {"Effect": "Allow", "Action": "*", "Resource": "*"}


@pytest.fixture(scope="module")
def iam_sandbox(tmp_path_factory):
    sandbox = IamSandbox(tmp_path_factory.mktemp("iam"))
    yield sandbox
    moto_server.stop(sandbox.pid)


@pytest.fixture(scope="module")
def compliant(iam_sandbox):
    """The full policy's run: which checks read which facts, and which operations it made."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        return iam_sandbox.run_as_ci(POLICY, monkeypatch)


def test_a_user_with_only_this_policy_runs_the_suite_green(compliant):
    assert compliant.exit_code == 0, compliant.failures
    aws_checks = {name for name, outcome in compliant.outcomes.items() if outcome == "passed"}
    assert len(aws_checks) > 140


def test_the_policy_is_exactly_the_actions_a_full_run_makes(compliant):
    operations = set(compliant.operations)
    needed = {iam_action(op) for op in operations} - NEEDS_NO_PERMISSION
    granted = policy_actions(POLICY) - IMPLIED
    assert needed - granted == set(), "missing from the policy"
    assert granted - needed == set(), "in the policy but never used"
    assert not any("*" in action for action in policy_actions(POLICY))


def test_the_key_and_the_brokers_password_are_the_only_parameters_decrypted_through_ssm_only():
    statements = {s["Sid"]: s for s in POLICY["Statement"]}
    key = statements["SsmTheHostsSshKeyOnly"]
    assert key["Action"] == ["ssm:GetParameter"] and key["Resource"].endswith(
        ":parameter/viewster/common/keypair/private_key"
    )
    # the one other secret: the broker's monitoring password the probe asks RabbitMQ's management API with, per env
    password = statements["SsmTheBrokersMonitoringPasswordOnly"]
    spec_names = sorted(
        load(SPEC_DIR, env).spec.ssm.parameters["rabbitmq-monitor-password"].name for env in ("production", "staging")
    )
    assert password["Action"] == ["ssm:GetParameter"]
    assert sorted(arn.split(":parameter", 1)[1] for arn in password["Resource"]) == spec_names
    decrypt = statements["KmsDecryptThatKeyThroughSsmOnly"]
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": "ssm.ap-northeast-2.amazonaws.com"}
    decryptable = {
        arn.split(":parameter", 1)[1]
        for arn in decrypt["Condition"]["StringLike"]["kms:EncryptionContext:PARAMETER_ARN"]
    }
    assert decryptable == {"/viewster/common/keypair/private_key", *spec_names}


ONE_SERVICE_ACTIONS = sorted(policy_actions(POLICY) - IMPLIED - {"ssm:GetParameter"})


@pytest.mark.parametrize("denied", ONE_SERVICE_ACTIONS)
def test_without_one_action_exactly_that_services_checks_fail(iam_sandbox, compliant, monkeypatch, denied):
    result = iam_sandbox.run_as_ci(_without(POLICY, denied), monkeypatch)
    service = FACTS_OF.get(denied, denied.split(":")[0])
    reading = {name for name, reads in compliant.reads.items() if f"aws-{service}" in reads}
    assert reading and set(result.failures) == reading
    operation = {v: k for k, v in IAM_ACTION.items()}.get(denied, denied).split(":")[1]
    line = re.compile(
        rf"^{service}: access denied for {service}:{operation} \([\w ]+\); this service's checks cannot run$"
    )
    assert all(line.match(message) for message in result.failures.values()), set(result.failures.values())


def test_without_the_key_parameter_the_run_stops_before_any_check(iam_sandbox, monkeypatch):
    result = iam_sandbox.run_as_ci(_without(POLICY, "ssm:GetParameter"), monkeypatch)
    assert result.exit_code == 4 and result.outcomes == {}


def _without(policy: dict, action: str) -> dict:
    statements = [{**s, "Action": [a for a in s["Action"] if a != action]} for s in policy["Statement"]]
    return {"Version": policy["Version"], "Statement": [s for s in statements if s["Action"]]}
