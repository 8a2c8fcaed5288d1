"""Bad input is one clear line and exit code 4 (pytest's usage error), never a traceback or a failure per check."""

import pytest
import yaml

from tests_unit.cli import run_pytest
from tests_unit.harness import SPEC_DIR

USAGE_ERROR = 4


def assert_usage_error(result, expected_line: str) -> None:
    assert result.returncode == USAGE_ERROR, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"ERROR: {expected_line}"]
    assert "Traceback" not in result.stdout + result.stderr


def test_unknown_env_lists_the_environments():
    assert_usage_error(run_pytest("--env=prod"), f"unknown --env 'prod'; {SPEC_DIR} defines: production, staging")


def test_missing_env_lists_the_environments():
    assert_usage_error(
        run_pytest(), "--env is required to run the infrastructure checks; choose one of: production, staging"
    )


def test_the_suites_own_tests_need_no_env():
    result = run_pytest("tests_unit/test_spec.py", "-q")
    assert result.returncode == 0, result.stdout


def test_malformed_spec_names_file_field_and_problem(spec_copy):
    staging = yaml.safe_load((spec_copy / "staging.yaml").read_text())
    staging["rds"]["databases"]["database"]["backup_retention_days"] = "none"
    (spec_copy / "staging.yaml").write_text(yaml.safe_dump(staging))
    assert_usage_error(
        run_pytest("--env=staging", f"--spec-dir={spec_copy}"),
        f"invalid spec: {spec_copy / 'staging.yaml'}: rds.databases.database.backup_retention_days: "
        "Input should be a valid integer, unable to parse string as an integer (found 'none')",
    )


def test_profile_that_does_not_exist(tmp_path):
    assert_usage_error(
        run_pytest("--env=staging", "--aws-profile=nobody", home=tmp_path),
        "AWS profile 'nobody' is not configured on this machine (see `aws configure list-profiles`); "
        "pass --aws-profile or set AWS_PROFILE",
    )


def test_no_credentials_at_all(tmp_path):
    assert_usage_error(
        run_pytest("--env=production", home=tmp_path),
        "no AWS credentials: no --aws-profile, no AWS_PROFILE, none in the environment, and the spec's profile "
        "'jongmun' is not configured on this machine",
    )


def test_profile_without_credentials(tmp_path):
    config = tmp_path / "config"
    config.write_text("[profile jongmun]\nregion = ap-northeast-2\n")
    assert_usage_error(
        run_pytest("--env=production", home=tmp_path, env_overrides={"AWS_CONFIG_FILE": str(config)}),
        "no AWS credentials found (profile jongmun); pass --aws-profile, set AWS_PROFILE, or export credentials",
    )


def test_wrong_account_aborts_before_any_check(sandboxes, spec_copy):
    staging = sandboxes("staging")
    own = yaml.safe_load((spec_copy / "staging.yaml").read_text())
    own["aws"] = {"account_id": "999999999999"}
    (spec_copy / "staging.yaml").write_text(yaml.safe_dump(own))
    result = run_pytest("--env=staging", "--sandbox", f"--sandbox-dir={staging.state_dir}", f"--spec-dir={spec_copy}")
    assert_usage_error(
        result,
        f"wrong account: the credentials (sandbox at {staging.state.aws_endpoint_url}) are for account 123456789012, "
        "but the spec for staging names 999999999999; refusing to check the wrong estate",
    )


@pytest.mark.parametrize(
    "option, expected",
    [
        ("--deployed-sha=main", "--deployed-sha 'main' is not a commit SHA (7 to 40 hexadecimal digits)"),
        ("--deployed-sha=abc12", "--deployed-sha 'abc12' is not a commit SHA (7 to 40 hexadecimal digits)"),
        ("--settle=soon", "--settle 'soon' is not a duration (examples: 90s, 2m, 1m30s)"),
        ("--summary-md=/nonexistent/dir/summary.md", "--summary-md /nonexistent/dir/summary.md: cannot write there"),
    ],
)
def test_bad_gate_options_stop_before_any_check(option, expected, tmp_path):
    # No credentials exist here (HOME is empty): the option is refused before anything is read.
    assert_usage_error(run_pytest("--env=staging", option, home=tmp_path), expected)


def test_deployed_sha_from_the_environment_is_checked_too(tmp_path):
    assert_usage_error(
        run_pytest("--env=staging", home=tmp_path, env_overrides={"VIEWSTER_DEPLOYED_SHA": "HEAD"}),
        "--deployed-sha 'HEAD' is not a commit SHA (7 to 40 hexadecimal digits)",
    )
