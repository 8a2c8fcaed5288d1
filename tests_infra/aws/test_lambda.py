"""알람 알림 경로: the Lambda functions the alarms' notifications go through exist."""

import pytest

from viewster_infra.findings import require

pytestmark = pytest.mark.aws("lambda")  # the AWS services these checks read (prefetch.py)


def test_lambda_function_exists(function, aws):
    require(function.label, aws.facts("lambda")["functions"][function.key], "no function of that name")
