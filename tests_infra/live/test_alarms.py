"""CloudWatch 모니터링 (현재 알람 상태 조회): none of the environment's alarms is firing. INSUFFICIENT_DATA is reported
beside the check, and fails it only where the spec says so."""

import pytest

from viewster_infra import deploy
from viewster_infra.findings import drift, note, require

pytestmark = pytest.mark.aws("cloudwatch")  # the AWS services these checks read (prefetch.py)


def test_cloudwatch_alarm_not_firing(alarm, aws, spec):
    found = require(alarm.label, aws.facts("cloudwatch")["alarms"][alarm.key], "no metric alarm of that name")
    state, since = found["state"], found["state_since"]
    when = f" since {deploy.show_time(since)}" if since else ""
    note("alarm state", f"{state}{when}: {found['state_reason'] or 'no reason given'}")
    if state == "ALARM" or (state == "INSUFFICIENT_DATA" and spec.live.insufficient_data_fails):
        drift(alarm.label, prop="state", expected="'OK'", found=f"{state!r}{when} ({found['state_reason']})")
