"""CloudWatch checks: the dashboard and each alarm property, each failing on its own drift."""

import json

import pytest

from tests_unit.harness import proves

TOPIC = "arn:aws:sns:ap-northeast-2:123456789012:viewster-staging-alarms"
RECOVER = "arn:aws:automate:ap-northeast-2:ec2:recover"


def alter_alarm(staging, name: str, **changes) -> None:
    """put_metric_alarm replaces an alarm whole: re-put what it has, with `changes` applied."""
    cloudwatch = staging.client("cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    fields = (
        "Namespace",
        "MetricName",
        "Dimensions",
        "Statistic",
        "ComparisonOperator",
        "Threshold",
        "Period",
        "EvaluationPeriods",
        "AlarmActions",
    )
    cloudwatch.put_metric_alarm(AlarmName=name, **({f: alarm[f] for f in fields} | changes))


def instance_id(staging, role: str) -> str:
    reservations = staging.client("ec2").describe_instances(
        Filters=[{"Name": "tag:Name", "Values": [f"viewster-staging-{role}"]}]
    )["Reservations"]
    return reservations[0]["Instances"][0]["InstanceId"]


@proves("test_cloudwatch_dashboard_namespaces")
def test_dashboard_without_s3_metrics(staging):
    widgets = [{"type": "metric", "properties": {"metrics": [[ns, "CPUUtilization"]]}} for ns in ("AWS/EC2", "AWS/RDS")]
    staging.client("cloudwatch").put_dashboard(
        DashboardName="viewster-staging-cost-monitoring", DashboardBody=json.dumps({"widgets": widgets})
    )
    assert staging.run().failures == {
        "test_cloudwatch_dashboard_namespaces[staging-cost-monitoring]": "cloudwatch dashboard "
        "viewster-staging-cost-monitoring: metric namespaces shown expected to include 'AWS/S3', "
        "found ['AWS/EC2', 'AWS/RDS']"
    }


@proves(
    "test_cloudwatch_alarm_metric",
    "test_cloudwatch_alarm_statistic",
    "test_cloudwatch_alarm_comparison",
    "test_cloudwatch_alarm_threshold",
    "test_cloudwatch_alarm_period",
    "test_cloudwatch_alarm_evaluation_periods",
    "test_cloudwatch_alarm_notifies_topic",
    "test_cloudwatch_alarm_recover_action",
)
@pytest.mark.parametrize(
    "alarm, change, check, message",
    [
        pytest.param(
            "rds-cpu-high",
            {"MetricName": "CPUCreditBalance"},
            "test_cloudwatch_alarm_metric",
            "metric expected 'AWS/RDS CPUUtilization', found 'AWS/RDS CPUCreditBalance'",
            id="metric",
        ),
        pytest.param(
            "backend-ec2-cpu-high",
            {"Statistic": "Maximum"},
            "test_cloudwatch_alarm_statistic",
            "statistic expected 'Average', found 'Maximum'",
            id="statistic",
        ),
        pytest.param(
            "rds-storage-low",
            {"ComparisonOperator": "LessThanOrEqualToThreshold"},
            "test_cloudwatch_alarm_comparison",
            "comparison expected 'LessThanThreshold', found 'LessThanOrEqualToThreshold'",
            id="comparison",
        ),
        pytest.param(
            "frontend-ec2-cpu-high",
            {"Threshold": 80.0},
            "test_cloudwatch_alarm_threshold",
            "threshold expected 70, found 80",
            id="threshold",
        ),
        pytest.param(
            "rds-storage-low",
            {"Threshold": 5e9},
            "test_cloudwatch_alarm_threshold",
            "threshold expected 5368709120, found 5000000000",
            id="threshold-in-bytes",
        ),
        pytest.param(
            "thirdparty-ec2-cpu-high",
            {"Period": 60},
            "test_cloudwatch_alarm_period",
            "period (s) expected 300, found 60",
            id="period",
        ),
        pytest.param(
            "backend-auto-recovery",
            {"EvaluationPeriods": 3},
            "test_cloudwatch_alarm_evaluation_periods",
            "evaluation periods expected 2, found 3",
            id="evaluation-periods",
        ),
        pytest.param(
            "rds-cpu-high",
            {"AlarmActions": []},
            "test_cloudwatch_alarm_notifies_topic",
            f"alarm actions expected to include '{TOPIC}', found []",
            id="no-notification",
        ),
        pytest.param(
            "frontend-auto-recovery",
            {"AlarmActions": [TOPIC]},
            "test_cloudwatch_alarm_recover_action",
            f"has the EC2 recover action ({RECOVER}) expected True, found False",
            id="no-recovery",
        ),
    ],
)
def test_altered_alarm(staging, alarm, change, check, message):
    alter_alarm(staging, f"viewster-staging-{alarm}", **change)
    assert staging.run().failures == {
        f"{check}[staging-{alarm}]": f"cloudwatch alarm viewster-staging-{alarm}: {message}"
    }


@proves("test_cloudwatch_alarm_dimensions")
def test_alarm_watching_the_wrong_instance(staging):
    backend, frontend = instance_id(staging, "backend"), instance_id(staging, "frontend")
    alter_alarm(
        staging, "viewster-staging-backend-ec2-cpu-high", Dimensions=[{"Name": "InstanceId", "Value": frontend}]
    )
    assert staging.run().failures == {
        "test_cloudwatch_alarm_dimensions[staging-backend-ec2-cpu-high]": "cloudwatch alarm "
        f"viewster-staging-backend-ec2-cpu-high: dimensions expected {{'InstanceId': '{backend}'}}, "
        f"found {{'InstanceId': '{frontend}'}}"
    }


def test_missing_alarm_is_not_found(staging):
    staging.client("cloudwatch").delete_alarms(AlarmNames=["viewster-staging-rds-storage-low"])
    failures = staging.run().failures
    assert {name.split("[")[1] for name in failures} == {"staging-rds-storage-low]"}
    assert set(failures.values()) == {
        "cloudwatch alarm viewster-staging-rds-storage-low: not found (no metric alarm of that name)"
    }
