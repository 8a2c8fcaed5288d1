"""The post-deploy gate's outputs for CI: the Markdown step summary and GitHub's error annotations, from a real
drifted run and at their limits."""

from tests_unit.cli import run_pytest
from viewster_infra import gate


def test_summary_and_annotations_of_a_drifted_run(staging, tmp_path):
    staging.client("ecr").put_image_scanning_configuration(
        repositoryName="viewster-staging-backend", imageScanningConfiguration={"scanOnPush": False}
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
    assert f"::error title=test_ecr_scan_on_push[staging-backend]::{finding}" in result.stdout.splitlines()
    text = summary.read_text()
    assert text.startswith("earlier step's summary\n## Viewster infrastructure checks: staging: FAILED\n")  # appended
    assert "| Deployed SHA | 9e8d7c6 |" in text and "| Account | 123456789012 |" in text
    assert "| Result | 1 failed, " in text
    assert f"**AWS ecr**\n- `test_ecr_scan_on_push[staging-backend]`: {finding}\n" in text
    assert len(text.splitlines()) <= 1 + gate.MAX_SUMMARY_LINES


def test_no_annotations_outside_github_actions(staging, tmp_path):
    staging.client("ecr").put_image_scanning_configuration(
        repositoryName="viewster-staging-backend", imageScanningConfiguration={"scanOnPush": False}
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


def failures(count: int) -> list[gate.Outcome]:
    return [
        gate.Outcome(
            f"tests_infra/aws/test_rds.py::test_rds_thing[staging-db{i}]", "failed", f"rds db{i}: x expected 1, found 2"
        )
        for i in range(count)
    ] + [gate.Outcome("tests_infra/aws/test_s3.py::test_ok[staging-assets]", "passed", "")]


def test_summary_is_at_most_60_lines_whatever_happens():
    text = gate.summary_markdown(failures(100), {"Account": "123456789012"}, "production")
    lines = text.splitlines()
    assert len(lines) == gate.MAX_SUMMARY_LINES
    shown = sum(1 for line in lines if line.startswith("- "))
    assert lines[-1] == f"and {100 - shown} more"
    assert "| Result | 100 failed, 1 passed |" in lines


def test_annotations_are_capped_at_githubs_limit_with_a_note():
    lines = gate.annotations(failures(12))
    assert len(lines) == gate.MAX_ANNOTATIONS + 1
    assert lines[0] == "::error title=test_rds_thing[staging-db0]::rds db0: x expected 1, found 2"
    assert lines[-1].startswith("::notice::2 more failing checks are not annotated")


def test_annotation_text_is_escaped_as_github_requires():
    outcome = gate.Outcome("tests_infra/x/test_a.py::test_a[p:q,r]", "failed", "50% done\nsecond line")
    assert gate.annotations([outcome]) == ["::error title=test_a[p%3Aq%2Cr]::50%25 done%0Asecond line"]


def test_area_names_service_host_and_endpoints():
    assert gate.area("tests_infra/aws/test_rds.py::test_x[staging-database]", "staging") == "AWS rds"
    assert gate.area("tests_infra/hosts/test_nginx.py::test_x[staging-backend-api]", "staging") == "host backend"
    assert gate.area("tests_infra/endpoints/test_endpoints.py::test_x[staging-api]", "staging") == "endpoints"
    assert gate.area("tests_infra/deploy/test_deploy.py::test_x[staging-backend-backend-blue]", "staging") == "deploy"


def test_the_finding_line_without_xdists_worker_line():
    text = (
        "[gw1] linux -- Python 3.11.7 /work/.venv/bin/python\necr repository x: scan on push expected True, found False"
    )
    assert gate.finding_line(text) == "ecr repository x: scan on push expected True, found False"
    assert gate.finding_line("rds x: engine version expected '15.14', found '15.13'") == (
        "rds x: engine version expected '15.14', found '15.13'"
    )
    traceback = "def test_x():\n>       1 / 0\nE       ZeroDivisionError: division by zero\n\ntests_infra/x.py:3: ZeroDivisionError"
    assert gate.finding_line(traceback) == "ZeroDivisionError: division by zero"
