"""--settle: a check that fails right after a deploy is read again until it passes or the settle time is up, and
only the facts behind failing checks are read again."""

import re

import pytest

from tests_unit.test_cloudwatch_drift import alter_alarm

SETTLE_LINE = re.compile(r"^(passed|still failing) (\d+\.\d) s into the run \((\d+) reads\)$")


def settled(result, check: str) -> tuple[str, float, int]:
    match = SETTLE_LINE.match(result.settled[check])
    assert match, result.settled[check]
    return match.group(1), float(match.group(2)), int(match.group(3))


def test_a_container_that_comes_up_5_s_late_passes_with_settle_and_fails_without(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.ssh("backend", "docker stop backend-blue")
    check = "test_container_running[staging-backend-backend-blue]"

    assert staging_hosts.run("-k", "container_running").failures == {
        check: "backend container backend-blue: state expected 'running', found 'exited'"
    }

    staging_hosts.ssh("backend", "nohup sh -c 'sleep 5; docker start backend-blue' >/dev/null 2>&1 &")
    result = staging_hosts.run("--settle=30s", "-k", "container_running")
    assert result.exit_code == 0, result.failures
    outcome, seconds, reads = settled(result, check)
    assert outcome == "passed" and 4 <= seconds < 30 and reads >= 2
    assert set(result.settled) == {check}  # the checks that passed at once needed no second read
    assert result.ssh_commands("backend") == reads  # one probe of that host per read...
    assert result.ssh_commands("frontend") == result.ssh_commands("thirdparty") == 1  # ...and of no other host


def test_a_permanent_drift_fails_when_the_settle_time_is_up_not_later(staging_hosts):
    staging_hosts.restore("frontend")
    staging_hosts.ssh("frontend", "docker stop admin-frontend-blue")
    result = staging_hosts.run("--settle=6s", "-k", "container_running")
    check = "test_container_running[staging-frontend-admin-frontend-blue]"
    assert result.failures == {
        check: "frontend container admin-frontend-blue: state expected 'running', found 'exited'"
    }
    outcome, seconds, reads = settled(result, check)
    assert outcome == "still failing"
    assert 6 <= seconds <= 6 + 5
    assert result.ssh_commands("frontend") == reads


def test_aws_facts_are_read_again_only_for_the_service_that_failed(staging):
    alter_alarm(staging, "viewster-staging-rds-cpu-high", Threshold=80.0)  # a permanent drift
    # rds_engine passes: the database's facts are not read again (staging's backups, failing by decision, are not
    # in the selection: a late failing check gets one fresh read of its own facts after the settle time)
    once = staging.run("-k", "cloudwatch or rds_engine")
    settled_run = staging.run("--settle=5s", "-k", "cloudwatch or rds_engine")
    assert settled_run.failures == once.failures != {}
    _, _, reads = settled(settled_run, "test_cloudwatch_alarm_threshold[staging-rds-cpu-high]")
    cloudwatch_reads_per_run = 3  # DescribeAlarms, GetDashboard and GetMetricData
    assert settled_run.api_calls == once.api_calls + (reads - 1) * cloudwatch_reads_per_run


def test_without_settle_a_failing_check_is_read_once(staging):
    compliant = staging.run("-k", "ecr")
    staging.client("ecr").put_image_scanning_configuration(
        repositoryName="viewster-staging-backend", imageScanningConfiguration={"scanOnPush": False}
    )
    result = staging.run("-k", "ecr")
    assert result.exit_code == 1 and result.settled == {}
    assert result.api_calls == compliant.api_calls  # the failing check's facts were not read a second time


@pytest.mark.parametrize(("value", "seconds"), [("90s", 90), ("2m", 120), ("1m30s", 90), ("45", 45)])
def test_settle_durations_read_as_nginx_and_goss_write_them(staging, value, seconds):
    result = staging.run(f"--settle={value}", "-k", "vpc")
    assert result.exit_code == 0 and result.report["run"]["settle_seconds"] == seconds
