"""Cost (비용 조회): a service over its monthly budget fails, naming budget and figure; the figures are in the report
when under budget too; no figures at all is a finding, not a silent pass."""

import datetime as dt

from tests_unit.harness import proves
from viewster_infra.sandbox.seed import QUIET_COSTS

EC2 = "Amazon Elastic Compute Cloud - Compute"
TODAY = dt.datetime.now(dt.UTC).date()


@proves("test_cost_within_monthly_budget")
def test_a_service_over_its_budget(staging):
    staging.reset(costs=QUIET_COSTS | {EC2: 95.5})
    result = staging.run("-k", "cost")
    assert result.failures == {
        "test_cost_within_monthly_budget[staging-amazon-elastic-compute-cloud-compute]": f"cost {EC2}: month-to-date "
        "cost (USD) expected at most 80, found 95.50"
    }
    rds = "test_cost_within_monthly_budget[staging-amazon-relational-database-service]"
    assert result.outcomes[rds] == "passed"
    assert (
        f"Amazon Relational Database Service: 14.70 USD of 30 ({TODAY.replace(day=1)} to {TODAY})"
        in result.sections[rds]
    )


@proves("test_cost_reported")
def test_no_figures_at_all(staging):
    staging.reset(costs={})
    result = staging.run("-k", "cost")
    if TODAY.day == 1:
        assert result.outcomes["test_cost_reported[staging-cost]"] == "skipped"
        return
    assert result.failures == {
        "test_cost_reported[staging-cost]": f"cost Environment=staging: no cost reported from {TODAY.replace(day=1)} to {TODAY} "
        "(is the tag activated for cost allocation?)"
    }
