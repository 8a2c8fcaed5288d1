"""알람 알림 경로 (SNS -> Lambda -> Telegram), each link failing on its own drift."""

from tests_unit.harness import proves

FUNCTION = "viewster-staging-telegram-notifier"


@proves("test_sns_topic_lambda_subscribers")
def test_lambda_unsubscribed(staging):
    sns = staging.client("sns")
    for subscription in sns.list_subscriptions()["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    assert staging.run().failures == {
        "test_sns_topic_lambda_subscribers[staging-alarms]": "sns topic viewster-staging-alarms: subscriptions expected "
        f"to include ('lambda', 'arn:aws:lambda:ap-northeast-2:123456789012:function:{FUNCTION}'), found []"
    }


@proves("test_lambda_function_exists")
def test_function_deleted(staging):
    staging.client("lambda").delete_function(FunctionName=FUNCTION)
    assert staging.run().failures == {
        "test_lambda_function_exists[staging-telegram-notifier]": f"lambda function {FUNCTION}: not found "
        "(no function of that name)",
        "test_sns_topic_lambda_subscribers[staging-alarms]": "lambda function telegram-notifier: not found (the topic's expected subscriber)",
    }
