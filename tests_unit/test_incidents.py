"""Incident regression tests: the marker is checked (one line naming the file), `-m incident` runs only them, the
reports carry the incident, and the scaffolder writes a check and a drift test that lint clean and refuses a used
id."""

import json
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import pytest

from tests_unit.cli import run_pytest
from tests_unit.harness import ROOT
from viewster_infra import incidents
from viewster_infra.sandbox import lifecycle

INCIDENT_IDS = {"INC-2026-011", "INC-2026-014"}


def checks_copy(tmp_path, marker: str, body: str = "def test_bad(redis, hosts):\n    pass\n"):
    """The suite's checks, spec and pytest settings copied, with one more incident file whose marker is `marker`."""
    for name in ("tests_infra", "specs"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("conftest.py", "pytest.ini"):
        shutil.copy(ROOT / name, tmp_path / name)
    bad = tmp_path / "tests_infra" / "incidents" / "test_inc_2026_099_bad.py"
    bad.write_text(f"import pytest\n\n\n@pytest.mark.incident({marker})\n{body}")
    return bad


@pytest.mark.parametrize(
    ("marker", "problem"),
    [
        ('id="INC-2026-099", date="2026-11-02", link="https://example.invalid/x"', "missing summary"),
        (
            'id="INC-26-1", date="2026-11-02", summary="s", link="https://example.invalid/x"',
            "id 'INC-26-1' is not INC-YYYY-NNN",
        ),
        (
            'id="INC-2026-099", date="02.11.2026", summary="s", link="https://example.invalid/x"',
            "date '02.11.2026' is not YYYY-MM-DD",
        ),
        ('id="INC-2026-099", date="2026-11-02", summary="s", link="OPS-12"', "link 'OPS-12' is not an http(s) URL"),
    ],
)
def test_a_malformed_marker_is_one_line_naming_the_file(staging, tmp_path, marker, problem):
    bad = checks_copy(tmp_path, marker)
    requests_before = staging.aws_requests()
    done = run_pytest(
        "--env=staging",
        "--sandbox",
        f"--sandbox-dir={staging.state_dir}",
        f"--reports-dir={tmp_path / 'r'}",
        "-m",
        "incident",
        cwd=tmp_path,
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [f"ERROR: {bad}: test_bad: incident marker: {problem}"]
    # refused before reading the estate (only the credentials were checked), and no report of a run that was not
    assert staging.aws_requests() - requests_before <= 1
    assert not list((tmp_path / "r").glob("*"))


def test_incident_checks_run_alone_and_the_reports_carry_them(staging_hosts, tmp_path):
    done = staging_hosts.cli("-m", "incident", reports_dir=tmp_path)
    assert done.returncode == 0, done.stdout
    assert "2 passed, " in done.stdout and " deselected" in done.stdout
    assert "INC-2026-011 (2026-10-14) guard passed: Redis at maxmemory with noeviction" in done.stdout
    (written,) = tmp_path.glob("*.json")
    results = json.loads(written.read_text())["results"]
    assert {r["incident"]["id"] for r in results} == INCIDENT_IDS
    assert all(r["control"] == r["incident"]["id"] and r["severity"] == "high" for r in results)
    (xml,) = tmp_path.glob("*.xml")
    properties = {
        p.get("value")
        for case in ET.parse(xml).iter("testcase")
        for p in case.iter("property")
        if p.get("name") == "incident"
    }
    assert properties == INCIDENT_IDS
    (html,) = tmp_path.glob("staging-*.html")
    page = html.read_text()
    assert 'id="incidents"' in page and "INC-2026-014" in page and "2026-11-02" in page


ROLE_HOST_CHECK = """def test_hostname_read_through_testinfra(role_host, hosts):
    frontend = role_host("frontend")
    assert frontend.file("/etc/hostname").content_string.strip() == "frontend"
    assert frontend.run("nginx -v").rc == 0
    assert hosts.facts("frontend")["nginx"]["config_valid"]
"""


def test_role_host_calls_share_one_connection_and_the_probe_has_its_own(staging_hosts, tmp_path):
    """An incident check that asks testinfra itself (`role_host`) gets one multiplexed connection per host for all
    its calls, opened on first use; the probe is sent over a connection of its own (ssh's ControlMaster would cost
    every host two more ssh processes a run). Both are gone after the run."""
    checks_copy(
        tmp_path, 'id="INC-2026-099", date="2026-11-20", summary="s", link="https://example.invalid/x"', ROLE_HOST_CHECK
    )
    sshd_log = lifecycle.host_dir("staging", staging_hosts.state_dir) / "hosts" / "frontend" / "init.log"
    accepted_before = sshd_log.read_text().count("Accepted publickey")
    # the run's own temp directory (its ssh control sockets live there), short as those sockets' paths must be
    with tempfile.TemporaryDirectory(prefix="vs-") as run_temp:
        done = staging_hosts.cli(
            "-k",
            "test_hostname_read_through_testinfra",
            reports_dir=tmp_path / "r",
            cwd=tmp_path,
            env_overrides={"TMPDIR": run_temp},
        )
        masters = subprocess.run(["pgrep", "-f", f"ControlPath={run_temp}/"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert sshd_log.read_text().count("Accepted publickey") - accepted_before == 2  # the probe's, role_host's
    assert masters.stdout == ""  # role_host's connection closed at the end of the run


def test_new_incident_scaffolds_a_check_and_its_drift_test(tmp_path):
    for name in ("tests_infra", "tests_unit", "specs"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    command = [
        sys.executable,
        "-m",
        "viewster_infra",
        "new-incident",
        "INC-2026-020",
        "--title",
        "Backend restart loop",
        "--role",
        "backend",
        "--root",
        str(tmp_path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    check = tmp_path / "tests_infra" / "incidents" / "test_inc_2026_020_backend_restart_loop.py"
    drift = tmp_path / "tests_unit" / "incidents" / "test_inc_2026_020_backend_restart_loop_drift.py"
    assert done.stdout.splitlines()[:2] == [
        f"wrote {check.relative_to(tmp_path)}",
        f"wrote {drift.relative_to(tmp_path)}",
    ]
    assert 'id="INC-2026-020"' in check.read_text() and 'summary="Backend restart loop"' in check.read_text()
    assert '@proves("test_backend_restart_loop")' in drift.read_text()
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", str(check), str(drift)], capture_output=True)
    assert lint.returncode == 0, lint.stdout
    again = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 2
    assert again.stderr.strip() == "new-incident: INC-2026-020 is already used in tests_infra/incidents"


def test_the_markers_fields_are_checked_one_by_one():
    good = {"id": "INC-2026-011", "date": "2026-10-14", "summary": "s", "link": "https://example.invalid/x"}
    assert incidents.from_marker(pytest.mark.incident(**good).mark).severity == "high"
    with pytest.raises(incidents.IncidentMarkerError, match="give the fields by name"):
        incidents.from_marker(pytest.mark.incident("INC-2026-011").mark)
    with pytest.raises(incidents.IncidentMarkerError, match="unknown field"):
        incidents.from_marker(pytest.mark.incident(**good, owner="x").mark)
    with pytest.raises(incidents.IncidentMarkerError, match="severity 'urgent'"):
        incidents.from_marker(pytest.mark.incident(**good, severity="urgent").mark)
