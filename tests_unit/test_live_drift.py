"""Live state: each signal fails on the condition it guards (a stopped host, a busy CPU, credits gone, a disk
nearly full, too many connections, no data at all, an alarm firing), and reading them costs two AWS requests
however many metrics and alarms are checked."""

import datetime as dt

from tests_unit.harness import proves, set_live
from tests_unit.test_cloudwatch_drift import instance_id

GIB = 2**30


def report(staging, namespace: str, dimension: str, value: str, metric: str, reading: float, times: int = 10) -> None:
    """`times` datapoints of `reading` in every 5-minute period of the last hour, beside the quiet ones."""
    now = dt.datetime.now(dt.UTC)
    data = [
        {
            "MetricName": metric,
            "Dimensions": [{"Name": dimension, "Value": value}],
            "Timestamp": now - dt.timedelta(minutes=m),
            "Value": reading,
        }
        for m in range(1, 60, 5)
        for _ in range(times)
    ]
    staging.client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=data)


def test_the_compliant_estate_is_quiet(staging):
    result = staging.run("-k", "live or firing")
    assert result.exit_code == 0 and result.failures == {}


@proves("test_ec2_instance_status_ok", "test_ec2_system_status_ok")
def test_a_stopped_host_fails_its_status_checks(staging):
    staging.client("ec2").stop_instances(InstanceIds=[instance_id(staging, "thirdparty")])
    failures = staging.run("-k", "ec2").failures
    assert failures == {
        "test_ec2_instance_state[staging-thirdparty]": "ec2 instance viewster-staging-thirdparty: state expected 'running', found 'stopped'",
        "test_ec2_instance_status_ok[staging-thirdparty]": "ec2 instance viewster-staging-thirdparty: instance status check expected 'ok', found 'not-applicable'",
        "test_ec2_system_status_ok[staging-thirdparty]": "ec2 instance viewster-staging-thirdparty: system status check expected 'ok', found 'not-applicable'",
    }


@proves("test_ec2_cpu_utilization_average", "test_ec2_cpu_credit_balance")
def test_a_busy_host_out_of_credits(staging):
    report(staging, "AWS/EC2", "InstanceId", instance_id(staging, "backend"), "CPUUtilization", 99.0)
    report(staging, "AWS/EC2", "InstanceId", instance_id(staging, "backend"), "CPUCreditBalance", 3.0, times=1)
    failures = staging.run("-k", "cpu_utilization or credit").failures
    assert failures == {
        "test_ec2_cpu_utilization_average[staging-backend]": "ec2 instance viewster-staging-backend: CPUUtilization "
        f"average (%) expected under 70, found {(14 + 10 * 99) / 11:.1f}",
        "test_ec2_cpu_credit_balance[staging-backend]": "ec2 instance viewster-staging-backend: CPUCreditBalance "
        "minimum expected above 20, found 3",
    }


@proves("test_rds_cpu_utilization_average", "test_rds_free_storage_minimum", "test_rds_connections_maximum")
def test_a_database_busy_full_and_crowded(staging):
    database = ("AWS/RDS", "DBInstanceIdentifier", "viewster-staging-database")
    report(staging, *database, "CPUUtilization", 95.0)
    report(staging, *database, "FreeStorageSpace", 2 * GIB, times=1)
    report(staging, *database, "DatabaseConnections", 75.0, times=1)
    label = "rds viewster-staging-database"
    assert staging.run("-k", "rds_cpu or free_storage or connections").failures == {
        "test_rds_cpu_utilization_average[staging-database]": f"{label}: CPUUtilization average (%) expected under "
        f"70, found {(8 + 10 * 95) / 11:.1f}",
        "test_rds_free_storage_minimum[staging-database]": f"{label}: FreeStorageSpace minimum (GiB) expected above "
        "5, found 2.00",
        "test_rds_connections_maximum[staging-database]": f"{label}: DatabaseConnections maximum expected under 60, found 75",
    }


def test_no_data_is_a_finding_not_a_pass(staging):
    staging.reset(metrics=False)
    failures = staging.run("-k", "live").failures
    metrics = {
        **{
            f"test_ec2_cpu_utilization_average[staging-{r}]": "CPUUtilization"
            for r in ("frontend", "backend", "thirdparty")
        },
        **{
            f"test_ec2_cpu_credit_balance[staging-{r}]": "CPUCreditBalance"
            for r in ("frontend", "backend", "thirdparty")
        },
        "test_rds_cpu_utilization_average[staging-database]": "CPUUtilization",
        "test_rds_free_storage_minimum[staging-database]": "FreeStorageSpace",
        "test_rds_connections_maximum[staging-database]": "DatabaseConnections",
    }
    assert set(failures) == set(metrics)
    for check, metric in metrics.items():
        assert failures[check].endswith(f": {metric}: no data in the last 60 min"), failures[check]


@proves("test_cloudwatch_alarm_not_firing")
def test_a_firing_alarm_says_why_and_since_when(staging):
    reason = "Threshold Crossed: 2 datapoints [91.2, 88.0] were greater than the threshold (70.0)."
    staging.client("cloudwatch").set_alarm_state(
        AlarmName="viewster-staging-backend-ec2-cpu-high", StateValue="ALARM", StateReason=reason
    )
    failures = staging.run("-k", "firing").failures
    finding = failures.pop("test_cloudwatch_alarm_not_firing[staging-backend-ec2-cpu-high]")
    assert failures == {}
    assert finding.startswith(
        "cloudwatch alarm viewster-staging-backend-ec2-cpu-high: state expected 'OK', found 'ALARM' since 20"
    )
    assert finding.endswith(f" UTC ({reason})")


def test_insufficient_data_is_reported_and_fails_only_where_the_spec_says(staging, spec_copy):
    staging.client("cloudwatch").set_alarm_state(
        AlarmName="viewster-staging-rds-storage-low", StateValue="INSUFFICIENT_DATA", StateReason="No datapoints."
    )
    reported = staging.run("-k", "firing")
    check = "test_cloudwatch_alarm_not_firing[staging-rds-storage-low]"
    assert reported.exit_code == 0 and "INSUFFICIENT_DATA since " in reported.sections[check]

    set_live(spec_copy, insufficient_data_fails=True)
    strict = staging.run("-k", "firing", f"--spec-dir={spec_copy}")
    assert set(strict.failures) == {check}


def test_live_signals_cost_two_requests_however_many_are_checked(staging):
    everything = staging.run()
    one = staging.run("-k", "test_rds_connections_maximum")
    all_live = staging.run("-k", "live or firing")
    assert everything.operations["cloudwatch:GetMetricData"] == 1  # 9 metrics, one request
    assert everything.operations["ec2:DescribeInstanceStatus"] == 1  # 3 instances, one request
    # collectors read per service, not per check; the live checks on the broker's queues also have the hosts'
    # probe read the monitoring user's password, once, and the slow-statement check reads Performance Insights
    assert one.api_calls == (
        all_live.api_calls
        - all_live.operations.get("ssm:GetParameter", 0)
        - all_live.operations["pi:DescribeDimensionKeys"]
    )
    assert all_live.operations.get("ssm:GetParameter", 0) <= 1
