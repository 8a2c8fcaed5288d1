"""비용 조회: this month's cost so far of each service, for this environment's tag, stays within its monthly budget.
The figures go into the report either way."""

import pytest

from viewster_infra.findings import drift, note

pytestmark = pytest.mark.aws("ce")  # the AWS services these checks read (prefetch.py)


def test_cost_within_monthly_budget(budget, aws):
    cost = aws.facts("ce")
    spent, unit = cost["per_service"].get(budget.key, 0.0), cost["unit"] or "USD"
    note("month to date", f"{budget.key}: {spent:.2f} {unit} of {budget.want:g} ({cost['from']} to {cost['to']})")
    if spent > budget.want:
        drift(budget.label, prop="month-to-date cost (USD)", expected=f"at most {budget.want:g}", found=f"{spent:.2f}")


def test_cost_reported(cost_report, aws):
    """No figures at all would make every budget pass unseen: Cost Explorer must report this environment."""
    cost = aws.facts("ce")
    if cost["from"] == cost["to"]:
        pytest.skip("the month began today: Cost Explorer has no figures for it yet")
    if not cost["per_service"]:
        drift(
            cost_report.label,
            f"no cost reported from {cost['from']} to {cost['to']} (is the tag activated for cost allocation?)",
        )
