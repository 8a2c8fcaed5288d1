"""알람 알림 경로: the alarm topic is subscribed by the Telegram-notifier Lambda."""

import pytest

from viewster_infra.findings import expect_includes, require

pytestmark = pytest.mark.aws("sns", "lambda")  # the AWS services these checks read (prefetch.py)


def test_sns_topic_lambda_subscribers(topic, aws):
    found = require(topic.label, aws.facts("sns")["topics"][topic.key], "no topic of that name")
    functions = aws.facts("lambda")["functions"]
    subscriptions = [tuple(s) for s in found["subscriptions"]]
    for key in topic.want.lambda_subscribers:
        function = require(f"lambda function {key}", functions[key], "the topic's expected subscriber")
        expect_includes(topic.label, "subscriptions", ("lambda", function["arn"]), subscriptions)
