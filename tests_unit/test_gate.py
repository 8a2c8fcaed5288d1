"""The post-deploy gate's outputs for CI: the Markdown step summary and GitHub's annotations, from a real drifted run
and at their limits; and every output says the verdict the exit code says, whatever fails and whatever --fail-on."""

import itertools
import json
import xml.etree.ElementTree as ET

import pytest

from tests_unit.cli import run_pytest
from viewster_infra.controls import SEVERITIES
from viewster_infra.report import annotations, html, markdown, records, terminal
from viewster_infra.results import CheckResult, Finding, RunResult, Waiver, area


def test_summary_and_annotations_of_a_drifted_run(staging, tmp_path):
    staging.terraform_apply(
        lambda aws: aws("ecr").put_image_scanning_configuration(
            repositoryName="viewster-staging-backend", imageScanningConfiguration={"scanOnPush": False}
        )
    )
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step's summary\n")
    result = run_pytest(
        "--env=staging",
        "--sandbox",
        f"--sandbox-dir={staging.state_dir}",
        f"--reports-dir={tmp_path / 'reports'}",
        "--deployed-sha=9e8d7c6",
        f"--summary-md={summary}",
        env_overrides={"GITHUB_ACTIONS": "true"},
    )
    assert result.returncode == 1
    finding = "ecr repository viewster-staging-backend: scan on push expected True, found False"
    assert f"::error title=VS-ECR-01 test_ecr_scan_on_push[staging-backend]::{finding}" in result.stdout.splitlines()
    text = summary.read_text()
    assert text.startswith("earlier step's summary\n## Viewster infrastructure checks: staging: FAILED\n")  # appended
    assert "| Deployed SHA | 9e8d7c6 |" in text and "| Account | 123456789012 |" in text
    assert "| Result | 1 failed, " in text
    assert f"### Failing the run\n\n**AWS ecr**\n- `VS-ECR-01` {finding}\n" in text
    assert len(text.splitlines()) <= 1 + markdown.MAX_SUMMARY_LINES


def test_no_annotations_outside_github_actions(staging, tmp_path):
    staging.terraform_apply(
        lambda aws: aws("ecr").put_image_scanning_configuration(
            repositoryName="viewster-staging-backend", imageScanningConfiguration={"scanOnPush": False}
        )
    )
    result = run_pytest(
        "--env=staging",
        "--sandbox",
        f"--sandbox-dir={staging.state_dir}",
        f"--reports-dir={tmp_path}",
        "-k",
        "ecr",
        env_overrides={"GITHUB_ACTIONS": ""},
    )
    assert result.returncode == 1 and "::error" not in result.stdout


def test_a_failure_below_fail_on_is_passed_by_every_output(staging, tmp_path):
    """The issue's case: --fail-on=high and one low-severity drift. Exit code, terminal, JSON, HTML, JUnit, the
    Markdown summary and the annotations all say PASSED, and each says the failure is reported, not failing."""
    staging.client("rds").modify_db_instance(
        DBInstanceIdentifier="viewster-staging-database", DBInstanceClass="db.t3.small", ApplyImmediately=True
    )
    summary = tmp_path / "summary.md"
    result = staging.cli(
        "-k",
        "rds_instance_class",
        "--fail-on=high",
        f"--summary-md={summary}",
        reports_dir=tmp_path / "reports",
        env_overrides={"GITHUB_ACTIONS": "true"},
    )
    finding = "rds viewster-staging-database: instance class expected 'db.t3.micro', found 'db.t3.small'"
    assert result.returncode == 0, result.stdout
    assert (
        "Verdict: PASSED (nothing fails the run; 1 failure(s) below --fail-on=high reported, not failing; exit code 0)"
        in result.stdout.splitlines()
    )
    assert f"::warning title=VS-RDS-03 test_rds_instance_class[staging-database]::{finding}" in result.stdout
    assert "::error" not in result.stdout
    assert summary.read_text().startswith("## Viewster infrastructure checks: staging: PASSED\n")
    assert f"### Reported, below --fail-on=high (not failing the run)\n\n**AWS rds**\n- `VS-RDS-03` {finding}\n" in (
        summary.read_text()
    )
    reports = tmp_path / "reports"
    doc = json.loads(next(reports.glob("*.json")).read_text())
    assert doc["run"]["verdict"] == "PASSED" and doc["summary"][0]["fails_run"] is False
    junit = ET.parse(next(reports.glob("*.xml"))).getroot()
    assert {p.get("name"): p.get("value") for p in junit.iter("property")}["Verdict"] == "PASSED"
    assert 'id="verdict">PASSED<' in next(reports.glob("staging-*.html")).read_text()


def one_failure(severity: str, status: str = "failed") -> RunResult:
    failing = CheckResult(
        "tests_infra/aws/test_rds.py::test_rds_thing[staging-database]",
        "AWS rds",
        status,
        control="VS-RDS-03",
        severity=severity,
        finding=Finding("rds viewster-staging-database", "instance class expected 'a', found 'b'", "instance class"),
        waiver=Waiver("VS-RDS-03", None, "Resized for a load test.", "Gary Kim", "2026-12-31")
        if status == "waived"
        else None,
    )
    passing = CheckResult("tests_infra/aws/test_s3.py::test_ok[staging-assets]", "AWS s3", "passed", "VS-S3-01", "high")
    return RunResult("staging", [failing, passing])


def rendered_verdicts(run: RunResult) -> dict[str, str]:
    """The verdict as each output says it, rendered from the same RunResult."""
    doc = records.document(_facts(), run, records.records(run, {}), _no_changes(), None)
    page = html.render_run(doc)
    said = annotations.annotations(run)
    return {
        "exit code": "FAILED" if run.exit_code else "PASSED",
        "terminal": terminal.verdict_line(run).split()[1],
        "json": doc["run"]["verdict"],
        "html": page.split('id="verdict">', 1)[1].split("<", 1)[0],
        "junit": run.verdict(),  # plugin.py: the "Verdict" property of the JUnit test suite
        "markdown": markdown.summary(run, {}).splitlines()[0].rsplit(": ", 1)[1],
        "annotations": "FAILED" if any(a.startswith("::error") for a in said) else "PASSED",
    }


@pytest.mark.parametrize(("severity", "fail_on"), list(itertools.product(SEVERITIES, SEVERITIES)))
def test_every_output_says_the_same_verdict(severity, fail_on):
    run = one_failure(severity)
    run.fail_on = fail_on
    expected = "FAILED" if SEVERITIES.index(severity) >= SEVERITIES.index(fail_on) else "PASSED"
    assert set(rendered_verdicts(run).values()) == {expected}, rendered_verdicts(run)


@pytest.mark.parametrize("status", ["waived", "advisory", "error"])
def test_every_output_says_the_same_verdict_for_the_other_statuses(status):
    run = one_failure("critical", status)
    expected = "FAILED" if status == "error" else "PASSED"
    assert set(rendered_verdicts(run).values()) == {expected}, rendered_verdicts(run)


def _facts() -> dict:
    return {"env": "staging", "account": "123456789012", "region": "ap-northeast-2", "target": "sandbox",
            "spec_files": [], "spec_sha256": "0" * 64, "suite_commit": "x", "started": "2026-12-06T00:00:00+00:00",
            "duration_seconds": 1, "aws_api_calls": 1, "aws_operations": {}, "ssh": {}, "deployed_sha": None,
            "settle_seconds": None}  # fmt: skip


def _no_changes() -> dict:
    return {"compared_to": None, "new_failures": [], "fixed": [], "still_failing": []}


def many_failures(count: int) -> RunResult:
    failures = [
        CheckResult(
            f"tests_infra/aws/test_rds.py::test_rds_thing[staging-db{i}]",
            "AWS rds",
            "failed",
            control="VS-RDS-03",
            severity="high",
            finding=Finding(f"rds db{i}", "x expected 1, found 2"),
        )
        for i in range(count)
    ]
    return RunResult("production", failures + [CheckResult("tests_infra/aws/test_s3.py::test_ok", "AWS s3", "passed")])


def test_summary_is_at_most_60_lines_whatever_happens():
    text = markdown.summary(many_failures(100), {"Account": "123456789012"})
    lines = text.splitlines()
    assert len(lines) == markdown.MAX_SUMMARY_LINES
    shown = sum(1 for line in lines if line.startswith("- "))
    assert lines[-1] == f"and {100 - shown} more (the report lists them all)"
    assert "| Result | 100 failed, 1 passed |" in lines


def test_annotations_are_capped_at_githubs_limit_with_a_note():
    lines = annotations.annotations(many_failures(12))
    assert len(lines) == annotations.MAX_ANNOTATIONS + 1
    assert lines[0] == "::error title=VS-RDS-03 test_rds_thing[staging-db0]::rds db0: x expected 1, found 2"
    assert lines[-1].startswith("::notice::2 more errors are not annotated")


def test_annotation_text_is_escaped_as_github_requires():
    broken = CheckResult("tests_infra/x/test_a.py::test_a[p:q,r]", "x", "failed", finding=Finding("50% done", "a\nb"))
    assert annotations.annotations(RunResult("staging", [broken])) == [
        "::error title=test_a[p%3Aq%2Cr]::50%25 done: a%0Ab"
    ]


def test_area_names_service_host_and_endpoints():
    assert area("tests_infra/aws/test_rds.py::test_x[staging-database]", "staging") == "AWS rds"
    assert area("tests_infra/hosts/test_nginx.py::test_x[staging-backend-api]", "staging") == "host backend"
    assert area("tests_infra/endpoints/test_endpoints.py::test_x[staging-api]", "staging") == "endpoints"
    assert area("tests_infra/deploy/test_deploy.py::test_x[staging-backend-backend-blue]", "staging") == "deploy"


def test_an_interrupted_run_claims_no_verdict():
    run = one_failure("low")
    assert terminal.verdict_line(run, exit_code=2).startswith(
        "Verdict: not reached (the run was interrupted; exit code 2)"
    )
    assert terminal.verdict_line(run, exit_code=1).startswith("Verdict: FAILED (")
