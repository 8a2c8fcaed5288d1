"""알람 알림 경로: the Lambda functions the alarms' notifications go through exist."""

from viewster_infra.findings import require


def test_lambda_function_exists(function, aws):
    require(function.label, aws.facts("lambda")["functions"][function.key], "no function of that name")
