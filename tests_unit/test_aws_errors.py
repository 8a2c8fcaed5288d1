"""AWS saying no: an AccessDenied on one service fails that service's checks, naming the denied action, and the rest
of the run goes on; throttling is retried by botocore's own retry mode."""

from tests_unit.injected import answering, error_response


def test_access_denied_on_one_service_fails_only_its_checks(staging):
    def deny(request):
        return error_response(request, 403, "AccessDenied", "User is not authorized to perform this action")

    with answering("before-send.rds.DescribeDBInstances", deny):
        result = staging.run()
    denied = "rds: access denied for rds:DescribeDBInstances (AccessDenied); this service's checks cannot run"
    assert result.exit_code == 1
    # The RDS checks, and the recommendation about RDS backups: unreadable is a failure, not advice.
    rds_checks = {name for name in result.outcomes if name.startswith(("test_rds_", "test_recommendation_rds_"))}
    assert {name: result.failures[name] for name in rds_checks} == dict.fromkeys(rds_checks, denied)
    # The backend's reach to RDS needs the endpoint from the RDS facts: it says so instead of guessing.
    assert set(result.failures) - rds_checks == {"test_host_reaches[staging-backend-database-5432]"}
    assert result.failures["test_host_reaches[staging-backend-database-5432]"] == (
        "backend reach database-5432: TCP connect to rds database:5432 not tried: the target's address is unknown "
        "(rds facts do not give it)"
    )


def test_throttling_is_retried_and_the_run_passes(staging):
    answered = []

    def throttle_once(request):
        if not answered:
            answered.append(request.url)
            return error_response(request, 503, "RequestLimitExceeded", "Request limit exceeded.")
        return None

    with answering("before-send.ec2.DescribeInstances", throttle_once):
        result = staging.run()
    assert answered, "the throttling answer was never given"
    assert result.exit_code == 0, result.failures
