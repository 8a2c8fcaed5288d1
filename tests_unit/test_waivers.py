"""Waivers: a waiver waives exactly what it names (its control and the resource as the finding names it, never a
word of it), until its date; past it, it fails the run itself; one that matched nothing is reported; its words
reach every output; a malformed one stops the run before any check."""

import datetime as dt
import json
import shutil

import pytest
import yaml

from tests_unit.cli import run_pytest
from tests_unit.harness import SPEC_DIR, proves
from tests_unit.test_usage_errors import assert_usage_error

TODAY = dt.datetime.now(dt.UTC).date()
NEXT_MONTH = TODAY + dt.timedelta(days=30)


def waiver(**fields) -> dict:
    return {
        "justification": "Scanning moves to Inspector next sprint.",
        "approver": "Gary Kim",
        "expires": NEXT_MONTH,
    } | fields


@pytest.fixture
def specs_with(tmp_path):
    """A copy of specs/ whose waivers.yaml holds the given waivers (or the given text)."""

    def write(*waivers: dict, text: str | None = None):
        copy = tmp_path / "specs"
        shutil.copytree(SPEC_DIR, copy, dirs_exist_ok=True)
        (copy / "waivers.yaml").write_text(text if text is not None else yaml.safe_dump({"waivers": list(waivers)}))
        return copy

    return write


def scan_on_push_off(staging, *repositories: str) -> None:
    """Through Terraform: some of this file's runs are the whole suite, change control included."""

    def change(aws):
        for repository in repositories:
            aws("ecr").put_image_scanning_configuration(
                repositoryName=repository, imageScanningConfiguration={"scanOnPush": False}
            )

    staging.terraform_apply(change)


def test_a_waiver_waives_exactly_its_resource(staging, specs_with):
    scan_on_push_off(staging, "viewster-staging-backend", "viewster-staging-frontend")
    specs = specs_with(
        waiver(
            control="VS-ECR-01",
            resource="ecr repository viewster-staging-backend",
            ticket="https://example.invalid/41",
        )
    )
    result = staging.run(f"--spec-dir={specs}", "-k", "ecr")
    assert result.failures == {
        "test_ecr_scan_on_push[staging-frontend]": "ecr repository viewster-staging-frontend: scan on push expected True, found False"
    }
    assert (
        result.outcomes["test_ecr_scan_on_push[staging-backend]"] == "skipped"
    )  # pytest's word; the report says waived
    junit = result.properties["test_ecr_scan_on_push[staging-backend]"]
    assert junit["status"] == "waived" and junit["waiver"] == "VS-ECR-01 ecr repository viewster-staging-backend"
    assert junit["waiver_justification"] == "Scanning moves to Inspector next sprint."
    assert junit["waiver_approver"] == "Gary Kim" and junit["waiver_expires"] == str(NEXT_MONTH)
    assert result.exit_code == 1


@pytest.mark.parametrize("resource", ["repository", "viewster-staging-backend", "ecr", "ecr repository"])
def test_a_word_of_a_resource_waives_nothing(staging, specs_with, tmp_path, resource):
    """Before, `resource: repository` matched any word of the finding's resource and silently waived every
    repository; now a waiver names the resource exactly, and a near miss is said."""
    scan_on_push_off(staging, "viewster-staging-backend", "viewster-staging-frontend")
    specs = specs_with(waiver(control="VS-ECR-01", resource=resource))
    result = staging.cli(f"--spec-dir={specs}", "-k", "ecr", reports_dir=tmp_path / "reports")
    assert result.returncode == 1
    assert "2 failed" in result.stdout.splitlines()[-1]
    assert (
        f"unused: the waiver for VS-ECR-01 {resource} matched no failure in this run (failures of VS-ECR-01 name: "
        "'ecr repository viewster-staging-backend', 'ecr repository viewster-staging-frontend')"
    ) in result.stdout


def test_every_output_shows_the_waivers_words(staging, specs_with, tmp_path):
    scan_on_push_off(staging, "viewster-staging-backend")
    specs = specs_with(waiver(control="VS-ECR-01", resource="ecr repository viewster-staging-backend", ticket="T-41"))
    summary = tmp_path / "summary.md"
    reports = tmp_path / "reports"
    result = staging.cli(f"--spec-dir={specs}", "-k", "ecr", f"--summary-md={summary}", reports_dir=reports)
    assert result.returncode == 0, result.stdout
    words = f"Scanning moves to Inspector next sprint. (approved by Gary Kim, until {NEXT_MONTH}, T-41)"
    finding = "ecr repository viewster-staging-backend: scan on push expected True, found False"
    assert f"    waiver VS-ECR-01 ecr repository viewster-staging-backend: {words}" in result.stdout
    assert f"- {finding} (waiver: {words})" in summary.read_text()
    record = next(r for r in json.loads(next(reports.glob("*.json")).read_text())["results"] if r["status"] == "waived")
    assert record["waiver"] == {
        "control": "VS-ECR-01",
        "resource": "ecr repository viewster-staging-backend",
        "justification": "Scanning moves to Inspector next sprint.",
        "approver": "Gary Kim",
        "expires": str(NEXT_MONTH),
        "ticket": "T-41",
    }
    assert record["expected"] == "True" and record["found"] == "False"
    page = next(reports.glob("staging-*.html")).read_text()
    assert "Scanning moves to Inspector next sprint." in page and "Gary Kim" in page and str(NEXT_MONTH) in page


def test_a_waiver_without_a_resource_covers_its_control_everywhere(staging, specs_with, tmp_path):
    scan_on_push_off(staging, "viewster-staging-backend", "viewster-staging-frontend")
    specs = specs_with(waiver(control="VS-ECR-01"))
    result = staging.cli(f"--spec-dir={specs}", "-k", "ecr", reports_dir=tmp_path / "reports")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "2 waived" in result.stdout.splitlines()[-1]
    assert (
        "WAIVED test_ecr_scan_on_push[staging-backend]: ecr repository viewster-staging-backend: scan on push expected "
        "True, found False"
    ) in result.stdout


@proves("test_waiver_in_force")
def test_an_expired_waiver_waives_nothing_and_fails_itself(staging, specs_with):
    scan_on_push_off(staging, "viewster-staging-backend")
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(
        days=1
    )  # now, not at import: a session may cross midnight
    specs = specs_with(
        waiver(control="VS-ECR-01", resource="ecr repository viewster-staging-backend", expires=yesterday)
    )
    result = staging.run(f"--spec-dir={specs}", "-k", "ecr or waiver")
    check = "test_waiver_in_force[staging-VS-ECR-01-ecr-repository-viewster-staging-backend]"
    assert result.failures == {
        "test_ecr_scan_on_push[staging-backend]": "ecr repository viewster-staging-backend: scan on push expected True, found False",
        check: f"waiver for VS-ECR-01 ecr repository viewster-staging-backend: expired {yesterday}",
    }
    assert result.properties[check]["control"] == "VS-WAIVER-01"
    assert result.properties[check]["expected"] == f"on or after {result.report['run']['started'][:10]}"
    assert result.properties[check]["found"] == str(yesterday)
    assert result.report["unused_waivers"] == []  # expired: one finding, not also "unused"


def test_a_waiver_that_matched_nothing_is_reported_unused(staging, specs_with, tmp_path):
    specs = specs_with(waiver(control="VS-RDS-02", resource="rds viewster-staging-database"))
    result = staging.cli(f"--spec-dir={specs}", "-k", "rds or waiver", reports_dir=tmp_path / "reports")
    assert result.returncode == 0
    assert "unused: the waiver for VS-RDS-02 rds viewster-staging-database matched no failure in this run" in (
        result.stdout
    )


@pytest.mark.parametrize(
    "waivers, problem",
    [
        (
            [{"control": "VS-ECR-01", "approver": "Gary Kim", "expires": NEXT_MONTH}],
            "waivers.0.justification: field required",
        ),
        ([waiver(control="VS-ECR-01", justification="  ")], "waivers.0.justification: must say something (found '  ')"),
        ([{"control": "VS-ECR-01", "justification": "x", "approver": "y"}], "waivers.0.expires: field required"),
        ([waiver(control="VS-ECR-99")], "waivers.0.control: no such control: VS-ECR-99"),
        pytest.param(  # dates from the day the test runs (a session may cross midnight UTC)
            lambda today: [waiver(control="VS-ECR-01", expires=today + dt.timedelta(days=91))],
            lambda today: (
                f"waivers.0.expires: {today + dt.timedelta(days=91)} is more than 90 days ahead (at most "
                f"{today + dt.timedelta(days=90)}; waiver_max_days in {{specs}}/controls.yaml)"
            ),
            id="expires-beyond-waiver-max-days",
        ),
        ([], None),  # (the same file, with max_days: its author cannot set it there)
    ],
)
def test_a_malformed_waiver_stops_the_run_before_any_check(specs_with, tmp_path, waivers, problem):
    today = dt.datetime.now(dt.UTC).date()
    waivers = waivers(today) if callable(waivers) else waivers
    problem = problem(today) if callable(problem) else problem
    if problem is None:
        specs = specs_with(text=yaml.safe_dump({"max_days": 365, "waivers": []}))
        problem = (
            "max_days: is set in controls.yaml (waiver_max_days), where the author of a waiver cannot lengthen it "
            "(found 365)"
        )
    else:
        specs = specs_with(*waivers)
    assert_usage_error(
        run_pytest("--env=staging", f"--spec-dir={specs}", home=tmp_path),
        f"invalid spec: {specs / 'waivers.yaml'}: {problem.replace('{specs}', str(specs))}",
    )


def test_waivers_that_are_not_yaml(specs_with, tmp_path):
    specs = specs_with(text="waivers: [control: VS-ECR-01\n")
    result = run_pytest("--env=staging", f"--spec-dir={specs}", home=tmp_path)
    assert result.returncode == 4 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"ERROR: invalid spec: {specs / 'waivers.yaml'}: line ")
