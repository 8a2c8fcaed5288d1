"""점검 절차 2 and CloudWatch 메트릭 조회: each host passes its instance and system status checks, and over the spec's
window its CPU stays under the limit and its CPU credits above the floor (t2 instances burst on credits)."""

from statistics import mean

import pytest

from viewster_infra.findings import chart, drift, expect, require
from viewster_infra.live import datapoints

pytestmark = pytest.mark.aws("ec2")  # the AWS services these checks read (prefetch.py)


def _instance(instance, aws) -> dict:
    return require(instance.label, aws.facts("ec2")["instances"][instance.key], "no instance with its tags")


def test_ec2_instance_status_ok(instance, aws):
    expect(instance.label, "instance status check", "ok", _instance(instance, aws)["instance_status"])


def test_ec2_system_status_ok(instance, aws):
    expect(instance.label, "system status check", "ok", _instance(instance, aws)["system_status"])


@pytest.mark.aws("cloudwatch")
def test_ec2_cpu_utilization_average(instance, aws, spec):
    _instance(instance, aws)
    values = datapoints(instance.label, "CPUUtilization", aws, "instances", instance.key, spec)
    average, limit = mean(values), spec.live.ec2_cpu_average_max_percent
    chart("CPUUtilization", values, limit, "%")
    if average >= limit:
        drift(instance.label, prop="CPUUtilization average (%)", expected=f"under {limit:g}", found=f"{average:.1f}")


@pytest.mark.aws("cloudwatch")
def test_ec2_cpu_credit_balance(instance, aws, spec):
    _instance(instance, aws)
    values = datapoints(instance.label, "CPUCreditBalance", aws, "instances", instance.key, spec)
    lowest = min(values)
    chart("CPUCreditBalance", values, spec.live.ec2_cpu_credit_balance_min, "credits", breaks="below")
    floor = spec.live.ec2_cpu_credit_balance_min
    if lowest <= floor:
        drift(instance.label, prop="CPUCreditBalance minimum", expected=f"above {floor:g}", found=f"{lowest:g}")
