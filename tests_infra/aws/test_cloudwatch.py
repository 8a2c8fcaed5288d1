"""CloudWatch 모니터링: the cost dashboard and each of the eight alarms, property by property."""

import pytest

from viewster_infra.findings import expect, expect_includes, require

pytestmark = pytest.mark.aws("cloudwatch")  # the AWS services these checks read (prefetch.py)

RECOVER_ACTION = "arn:aws:automate:{region}:ec2:recover"


def _alarm(alarm, aws):
    return require(alarm.label, aws.facts("cloudwatch")["alarms"][alarm.key], "no metric alarm of that name")


def test_cloudwatch_dashboard_namespaces(dashboard, aws):
    found = require(dashboard.label, aws.facts("cloudwatch")["dashboards"][dashboard.key], "no such dashboard")
    for namespace in dashboard.want.namespaces:
        expect_includes(dashboard.label, "metric namespaces shown", namespace, found["namespaces"])


def test_cloudwatch_alarm_metric(alarm, aws):
    found = _alarm(alarm, aws)
    expect(
        alarm.label, "metric", f"{alarm.want.namespace} {alarm.want.metric}", f"{found['namespace']} {found['metric']}"
    )


@pytest.mark.aws("ec2")
def test_cloudwatch_alarm_dimensions(alarm, spec, aws):
    want = alarm.want
    if want.instance is not None:
        instance = require(
            f"ec2 instance {want.instance}",
            aws.facts("ec2")["instances"][want.instance],
            "the instance the alarm should watch",
        )
        expected = {"InstanceId": instance["id"]}
    else:
        expected = {"DBInstanceIdentifier": spec.rds.databases[want.database].identifier}
    expect(alarm.label, "dimensions", expected, _alarm(alarm, aws)["dimensions"])


def test_cloudwatch_alarm_statistic(alarm, aws):
    expect(alarm.label, "statistic", alarm.want.statistic, _alarm(alarm, aws)["statistic"])


def test_cloudwatch_alarm_comparison(alarm, aws):
    expect(alarm.label, "comparison", alarm.want.comparison, _alarm(alarm, aws)["comparison"])


def test_cloudwatch_alarm_threshold(alarm, aws):
    expect(alarm.label, "threshold", alarm.want.threshold, _alarm(alarm, aws)["threshold"])


def test_cloudwatch_alarm_period(alarm, aws):
    expect(alarm.label, "period (s)", alarm.want.period_seconds, _alarm(alarm, aws)["period_seconds"])


def test_cloudwatch_alarm_evaluation_periods(alarm, aws):
    expect(alarm.label, "evaluation periods", alarm.want.evaluation_periods, _alarm(alarm, aws)["evaluation_periods"])


@pytest.mark.aws("sns")
def test_cloudwatch_alarm_notifies_topic(alarm, aws):
    topic = require(
        f"sns topic {alarm.want.notifies}",
        aws.facts("sns")["topics"][alarm.want.notifies],
        "the topic the alarm should notify",
    )
    found = _alarm(alarm, aws)
    expect(alarm.label, "actions enabled", True, found["actions_enabled"])
    expect_includes(alarm.label, "alarm actions", topic["arn"], found["alarm_actions"])


def test_cloudwatch_alarm_recover_action(alarm, spec, aws):
    recover = RECOVER_ACTION.format(region=spec.aws.region)
    found = recover in _alarm(alarm, aws)["alarm_actions"]
    expect(alarm.label, f"has the EC2 recover action ({recover})", alarm.want.recovers_instance, found)
