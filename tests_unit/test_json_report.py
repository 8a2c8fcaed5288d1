"""The machine-readable report: valid against its schema, counts that agree with JUnit and the terminal, and what
changed since the previous run (also as `python -m viewster_infra.report diff`)."""

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from tests_unit.harness import ROOT
from tests_unit.test_usage_errors import assert_usage_error
from viewster_infra.report import records

SCHEMA = json.loads(records.SCHEMA.read_text())
ENGINE = "test_ecr_scan_on_push[staging-backend]"
THRESHOLD = "test_cloudwatch_alarm_threshold[staging-rds-cpu-high]"


# The checks of those services (alter_alarm changes the alarm as the account's root, which change control would
# rightly report too)
ECR_OR_CLOUDWATCH = "(ecr or cloudwatch) and not changes_only and not terraform"


def newest(reports, suffix):
    return max(reports.glob(f"*.{suffix}"), key=lambda p: p.stat().st_mtime)


def scan_on_push(staging, enabled: bool) -> None:
    """Through Terraform: this file's runs are the whole suite, change control included."""
    staging.terraform_apply(
        lambda aws: aws("ecr").put_image_scanning_configuration(
            repositoryName="viewster-staging-backend", imageScanningConfiguration={"scanOnPush": enabled}
        )
    )


def run(staging, reports, *extra):
    return staging.cli(*extra, reports_dir=reports)


def test_a_drifted_runs_json_is_valid_and_its_counts_agree_everywhere(staging, tmp_path):
    scan_on_push(staging, False)
    result = run(staging, tmp_path)
    assert result.returncode == 1
    doc = json.loads(newest(tmp_path, "json").read_text())
    jsonschema.validate(doc, SCHEMA)

    counts = doc["counts"]["by_status"]
    assert counts == {"failed": 1, "error": 0, "waived": 0, "advisory": 7, "skipped": 6, "passed": counts["passed"]}
    terminal = result.stdout.strip().splitlines()[-1]
    assert re.search(rf"\b1 failed, {counts['passed']} passed, 6 skipped, 7 advisory\b", terminal), terminal
    suite = ET.parse(newest(tmp_path, "xml")).getroot().find("testsuite")
    assert int(suite.get("tests")) == sum(counts.values())
    assert int(suite.get("failures")) == 1 and int(suite.get("skipped")) == 6 + 7  # JUnit: advice is skipped

    failed = next(r for r in doc["results"] if r["status"] == "failed")
    assert failed | {"duration_seconds": 0, "first_seen": None, "details": []} == {
        "id": ENGINE,
        "nodeid": f"tests_infra/aws/test_ecr.py::{ENGINE}",
        "check": "test_ecr_scan_on_push",
        "area": "AWS ecr",
        "control": "VS-ECR-01",
        "title": "Each image repository scans images on push",
        "severity": "high",
        "status": "failed",
        "resource": "ecr repository viewster-staging-backend",
        "property": "scan on push",
        "expected": "True",
        "found": "False",
        "message": "ecr repository viewster-staging-backend: scan on push expected True, found False",
        "cause": None,
        "waiver": None,
        "settle": None,
        "duration_seconds": 0,
        "first_seen": None,
        "details": [],
        "incident": None,
        "chart": None,
    }
    assert failed["first_seen"] == doc["run"]["started"]  # new: failing since this run
    assert doc["run"]["verdict"] == "FAILED" and doc["run"]["aws_api_calls"] == sum(
        doc["run"]["aws_operations"].values()
    )
    assert doc["counts"]["by_severity"]["high"]["failed"] == 1 and doc["counts"]["by_area"]["AWS ecr"]["failed"] == 1


def test_changes_since_the_previous_run_and_the_diff_command(staging, tmp_path):
    from tests_unit.test_cloudwatch_drift import alter_alarm

    scan_on_push(staging, False)
    run(staging, tmp_path, "-k", ECR_OR_CLOUDWATCH)
    first = newest(tmp_path, "json")
    run(staging, tmp_path, "-k", ECR_OR_CLOUDWATCH)  # the same drift: still failing, since the first run
    second = newest(tmp_path, "json")
    scan_on_push(staging, True)  # fixed
    alter_alarm(staging, "viewster-staging-rds-cpu-high", Threshold=80.0)  # new
    result = run(staging, tmp_path, "-k", ECR_OR_CLOUDWATCH)
    third = newest(tmp_path, "json")

    started = json.loads(first.read_text())["run"]["started"]
    still = json.loads(second.read_text())["changes"]
    scan = "ecr repository viewster-staging-backend: scan on push expected True, found False"
    threshold = "cloudwatch alarm viewster-staging-rds-cpu-high: threshold expected 70, found 80"
    assert still == {
        "compared_to": str(first),
        "new_failures": [],
        "fixed": [],
        "still_failing": [{"id": ENGINE, "control": "VS-ECR-01", "line": scan, "first_seen": started}],
    }
    changes = json.loads(third.read_text())["changes"]
    assert changes["compared_to"] == str(second)
    assert changes["new_failures"] == [{"id": THRESHOLD, "control": "VS-CW-06", "line": threshold}]
    assert changes["fixed"] == [{"id": ENGINE, "control": "VS-ECR-01", "line": scan}]
    assert changes["still_failing"] == []
    assert f"Since {second}: 1 new failure(s), 1 fixed, 0 still failing" in result.stdout

    diff = subprocess.run(
        [sys.executable, "-m", "viewster_infra.report", "diff", str(first), str(third)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert diff.returncode == 0, diff.stderr
    lines = diff.stdout.splitlines()
    assert lines[1:] == [
        "new failures (1):",
        f"  VS-CW-06 {threshold} [{THRESHOLD}]",
        "fixed (1):",
        f"  VS-ECR-01 {scan} [{ENGINE}]",
        "still failing (0):",
    ]
    assert lines[0].startswith("staging: ") and "(FAILED) -> " in lines[0]


def test_compare_to_names_the_report_to_compare_with(staging, tmp_path):
    scan_on_push(staging, False)
    run(staging, tmp_path / "old", "-k", "ecr")
    baseline = newest(tmp_path / "old", "json")
    run(staging, tmp_path / "new", "-k", "ecr", f"--compare-to={baseline}")
    changes = json.loads(newest(tmp_path / "new", "json").read_text())["changes"]
    assert changes["compared_to"] == str(baseline) and changes["still_failing"][0]["id"] == ENGINE


@pytest.mark.parametrize("problem", ["missing", "not json"])
def test_compare_to_a_report_that_cannot_be_read_is_a_usage_error(staging, tmp_path, problem):
    """In CI --compare-to is a downloaded artifact: a failed download must not look like a first run."""
    path = tmp_path / "previous.json"
    if problem == "not json":
        path.write_text("<html>404</html>")
    result = run(staging, tmp_path / "reports", "-k", "ecr", f"--compare-to={path}")
    why = "no such file" if problem == "missing" else "cannot be read (Expecting value: line 1 column 1 (char 0))"
    assert_usage_error(result, f"--compare-to {path}: {why}")
    assert not (tmp_path / "reports").exists() or not list((tmp_path / "reports").glob("*.json"))


def test_an_earlier_schema_is_still_compared_with(staging, tmp_path):
    scan_on_push(staging, False)
    run(staging, tmp_path / "old", "-k", "ecr")
    old = json.loads(newest(tmp_path / "old", "json").read_text())
    old["schema_version"] = 1  # what the reports of the last release say; the fields compared are the same
    baseline = tmp_path / "v1.json"
    baseline.write_text(json.dumps(old))
    result = run(staging, tmp_path / "new", "-k", "ecr", f"--compare-to={baseline}")
    assert result.returncode == 1
    assert json.loads(newest(tmp_path / "new", "json").read_text())["changes"]["still_failing"][0]["id"] == ENGINE


def test_diff_refuses_reports_of_two_environments(tmp_path):
    for env in ("staging", "production"):
        (tmp_path / f"{env}.json").write_text(json.dumps({"schema_version": 1, "run": {"env": env}, "results": []}))
    diff = subprocess.run(
        [
            sys.executable,
            "-m",
            "viewster_infra.report",
            "diff",
            str(tmp_path / "staging.json"),
            str(tmp_path / "production.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert diff.returncode == 4 and diff.stderr.startswith("error: ") and "Traceback" not in diff.stderr
