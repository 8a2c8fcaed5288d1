"""Every check is a control (specs/controls.yaml), severities follow the environment, and --fail-on decides which
failures fail the run."""

import yaml

import tests_infra
from tests_unit.cli import run_pytest
from tests_unit.harness import SPEC_DIR
from tests_unit.test_cloudwatch_drift import alter_alarm
from tests_unit.test_every_check_is_proven import functions_of
from tests_unit.test_usage_errors import assert_usage_error
from viewster_infra import controls

REGISTRY = controls.load(SPEC_DIR)


def is_incident(function) -> bool:
    return any(mark.name == "incident" for mark in getattr(function, "pytestmark", []))


def test_every_check_has_a_control_and_every_control_a_check():
    # an incident check is its own control (its marker: id, summary, severity), not in the registry
    checks = {name for name, function in functions_of(tests_infra) if not is_incident(function)}
    assert {name for name, function in functions_of(tests_infra) if is_incident(function)}
    registered = {control.check for control in REGISTRY.controls.values()}
    assert checks - registered == set(), "checks without a control"
    assert registered - checks == set(), "controls whose check does not exist"


def test_every_control_says_what_it_means():
    for control_id, control in REGISTRY.controls.items():
        assert control.title and control.guide, control_id
        assert all(ref.startswith(("FSBP ", "CIS ")) for ref in control.also), control_id


def test_results_carry_control_and_the_environments_severity(staging):
    result = staging.run("-k", "rds_backup or rds_engine_version")
    assert result.properties["test_rds_engine_version[staging-database]"]["control"] == "VS-RDS-02"
    assert result.properties["test_rds_engine_version[staging-database]"]["severity"] == "medium"
    # staging.yaml lowers the backups control (backups are on hold there by decision); the registry says high
    assert REGISTRY.controls["VS-RDS-09"].severity == "high"
    assert result.properties["test_rds_backup_retention[staging-database]"]["severity"] == "low"


def test_fail_on_high_passes_a_run_whose_only_failure_is_medium(staging):
    alter_alarm(staging, "viewster-staging-rds-cpu-high", Period=600)  # VS-CW-07, medium
    result = staging.run("--fail-on=high", "-k", "cloudwatch")
    assert set(result.failures) == {"test_cloudwatch_alarm_period[staging-rds-cpu-high]"}
    assert result.exit_code == 0
    assert staging.run("-k", "cloudwatch").exit_code == 1  # the default, low: any failure fails


def test_fail_on_high_fails_a_run_with_a_high_failure(staging):
    alter_alarm(staging, "viewster-staging-rds-cpu-high", Period=600, Threshold=80.0)  # + VS-CW-06, high
    result = staging.run("--fail-on=high", "-k", "cloudwatch")
    assert set(result.failures) == {
        "test_cloudwatch_alarm_period[staging-rds-cpu-high]",
        "test_cloudwatch_alarm_threshold[staging-rds-cpu-high]",
    }
    assert result.exit_code == 1
    assert staging.run("--fail-on=critical", "-k", "cloudwatch").exit_code == 0


def test_an_override_of_an_unknown_control_is_a_usage_error(spec_copy, tmp_path):
    staging = yaml.safe_load((spec_copy / "staging.yaml").read_text())
    staging["severity_overrides"]["VS-RDS-99"] = "low"
    (spec_copy / "staging.yaml").write_text(yaml.safe_dump(staging, allow_unicode=True))
    assert_usage_error(
        run_pytest("--env=staging", f"--spec-dir={spec_copy}", home=tmp_path),
        f"invalid spec: {spec_copy / 'staging.yaml'}: severity_overrides.VS-RDS-99: no such control in "
        f"{spec_copy / 'controls.yaml'}",
    )


def test_a_check_without_a_control_is_a_usage_error(staging, spec_copy, tmp_path):
    registry = yaml.safe_load((spec_copy / "controls.yaml").read_text())
    del registry["controls"]["VS-RDS-02"]
    (spec_copy / "controls.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True))
    requests_before = staging.aws_requests()
    result = run_pytest(
        "--env=staging",
        "--sandbox",
        f"--sandbox-dir={staging.state_dir}",
        f"--spec-dir={spec_copy}",
        f"--reports-dir={tmp_path / 'reports'}",
    )
    assert_usage_error(
        result,
        f"test_rds_engine_version has no control in {spec_copy / 'controls.yaml'}: add one (id, title, severity, guide)",
    )
    # refused before reading the estate (only the credentials were checked), and no report of a run that was not
    assert staging.aws_requests() - requests_before <= 1
    assert not list((tmp_path / "reports").glob("*"))
