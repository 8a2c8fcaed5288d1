"""The scheduled watch proven as written: its `run:` steps against the sandbox, the previous watch's artifact
fetched by a stand-in `gh`, and the team's chat a stand-in of Telegram's Bot API on loopback. It speaks only when
something changed: a new failure, a fix, a waiver coming up to its expiry; nothing when nothing changed; a failed
notification is a warning and never the job's verdict; the token is never printed."""

import json
import os
import shutil
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests_unit.harness import ROOT
from tests_unit.test_workflow import run_job
from viewster_infra import watch
from viewster_infra.sandbox.telegram import TelegramStandIn

WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "watch.yml").read_text())
TOKEN = "7000001:sandbox-bot-token-never-printed"
CHAT = "-1001234567890"
SCAN = "VS-ECR-01 ecr repository viewster-staging-backend: scan on push expected True, found False"


@pytest.fixture
def telegram():
    bot = TelegramStandIn(TOKEN).start()
    yield bot
    bot.stop()


@pytest.fixture
def watch_job(staging, tmp_path, telegram):
    """Runs the watch's job for staging in a checkout of its own (a runner's: reports/ empty, the project's .venv),
    with the artifact of the previous watch (if any), and the reports it writes taken away afterwards into that
    artifact (the upload step's), as the next hour's watch finds them."""
    artifacts, made = tmp_path / "artifacts", []
    checkout = tmp_path / "checkout"
    shutil.copytree(
        ROOT, checkout, ignore=shutil.ignore_patterns(".venv", ".sandbox", "reports", "__pycache__", ".git")
    )
    (checkout / ".venv").symlink_to(ROOT / ".venv")
    (checkout / "reports").mkdir()

    def run(secrets: dict | None = None, **environ):
        gh = _stand_in_gh(tmp_path / "bin", artifacts)
        context = {
            "matrix": {"environment": "staging"},
            "secrets": {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": CHAT} if secrets is None else secrets,
        }
        environ = {
            "PATH": f"{gh}:{os.environ['PATH']}",
            "TELEGRAM_API_URL": telegram.url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "viewster/infra-checks",
            "GITHUB_RUN_ID": "4242",
        } | environ
        step_dir = tmp_path / f"job{len(made)}"
        step_dir.mkdir()
        steps, _ = run_job(
            context, step_dir, staging.state_dir, workflow=WORKFLOW, job="watch", environ=environ, checkout=checkout
        )
        checks, tell = steps[-2], steps[-1]
        written = sorted((checkout / "reports").glob("staging-*"))
        shutil.rmtree(artifacts, ignore_errors=True)
        artifacts.mkdir()
        for path in written:  # upload-artifact: reports/ of this run is the next watch's previous
            shutil.move(path, artifacts / path.name)
        made.append(written)
        return checks, tell

    yield run


def _stand_in_gh(directory: Path, artifacts: Path) -> Path:
    """`gh api` names a run when an artifact exists; `gh run download` copies it where the step asks."""
    directory.mkdir(exist_ok=True)
    script = directory / "gh"
    script.write_text(
        "#!/bin/bash\n"
        f'artifacts="{artifacts}"\n'
        'case "$1" in\n'
        '  api) [ -n "$(ls "$artifacts" 2>/dev/null)" ] && echo 99 ;;\n'
        '  run) dir=""; while [ $# -gt 0 ]; do [ "$1" = --dir ] && dir="$2"; shift; done;'
        ' [ -n "$(ls "$artifacts" 2>/dev/null)" ] || exit 1; mkdir -p "$dir"; cp "$artifacts"/* "$dir"/ ;;\n'
        "esac\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return directory


def _scan_on_push(staging, enabled: bool) -> None:
    staging.terraform_apply(
        lambda aws: aws("ecr").put_image_scanning_configuration(
            repositoryName="viewster-staging-backend", imageScanningConfiguration={"scanOnPush": enabled}
        )
    )


def test_a_new_failure_then_its_fix_each_one_message_and_quiet_between(staging, watch_job, telegram):
    first_checks, first = watch_job()
    assert first_checks.returncode == 0, first_checks.stdout[-2000:]
    assert first.stdout.strip() == "staging: a first watch, nothing to compare with: nothing sent"

    _scan_on_push(staging, False)
    checks, tell = watch_job()
    assert checks.returncode == 1  # the job's verdict is the suite's
    assert tell.returncode == 0 and tell.stdout.strip() == "staging: 1 new; sent to the team's chat (message 1)"
    assert telegram.messages == [
        {
            "chat_id": CHAT,
            "text": f"Viewster staging: FAILED\nNew failures (1):\n- {SCAN}\n"
            "https://github.com/viewster/infra-checks/actions/runs/4242",
        }
    ]

    _, quiet = watch_job()  # the same failure an hour later: nothing new to say
    assert quiet.stdout.strip().startswith("staging: nothing changed since ") and len(telegram.messages) == 1

    _scan_on_push(staging, True)
    _, fixed = watch_job()
    assert fixed.stdout.strip() == "staging: 1 fixed; sent to the team's chat (message 2)"
    assert telegram.messages[1]["text"].startswith(f"Viewster staging: PASSED\nFixed (1):\n- {SCAN}\n")
    assert all(TOKEN not in step for step in (tell.stdout + tell.stderr, fixed.stdout + fixed.stderr))


def test_a_failed_notification_is_a_warning_not_the_verdict(staging, watch_job, telegram):
    watch_job()
    _scan_on_push(staging, False)
    telegram.failing = True
    _, down = watch_job()
    assert down.returncode == 0
    assert down.stdout.strip() == "staging: 1 new; ::warning::not sent: Telegram answered 500 Internal Server Error"
    # each watch after it has a change of its own to tell (a change is told once, by the watch that saw it)
    _scan_on_push(staging, True)
    _, unset = watch_job(secrets={})
    assert unset.returncode == 0
    assert (
        unset.stdout.strip()
        == "staging: 1 fixed; ::warning::not sent: TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID is not set"
    )
    _scan_on_push(staging, False)
    _, unreachable = watch_job(TELEGRAM_API_URL="http://127.0.0.1:9")  # nothing listens on the discard port
    assert unreachable.returncode == 0 and "::warning::not sent: ConnectionError" in unreachable.stdout
    assert TOKEN not in unreachable.stdout + unreachable.stderr and telegram.messages == []


def _report(started: datetime, waivers: list[dict], changes: dict | None) -> dict:
    return {
        "run": {"env": "staging", "verdict": "PASSED", "started": started.isoformat()},
        "changes": changes or {"compared_to": None, "new_failures": [], "fixed": [], "still_failing": []},
        "results": [{"waiver": w} for w in waivers],
        "unused_waivers": [],
    }


def test_a_waiver_is_announced_once_when_it_comes_within_the_notice():
    now = datetime(2026, 12, 7, 3, tzinfo=UTC)
    waiver = {"control": "VS-RDS-09", "resource": "rds viewster-staging-database", "expires": "2026-12-12"}
    previous = _report(now - timedelta(days=1), [waiver], None)  # 6 days ahead then: outside a 5-day notice
    current = _report(now, [waiver], {"compared_to": "previous.json", "new_failures": [], "fixed": []})
    changed = watch.changes_of(current, previous, notice_days=5)
    assert changed["expiring"] == ["waiver VS-RDS-09 rds viewster-staging-database expires 2026-12-12"]
    next_hour = _report(
        now + timedelta(hours=1), [waiver], {"compared_to": "current.json", "new_failures": [], "fixed": []}
    )
    assert watch.changes_of(next_hour, current, notice_days=5)["expiring"] == []
    text = watch.message(current, changed, "https://github.com/viewster/infra-checks/actions/runs/1")
    assert text == (
        "Viewster staging: PASSED\nWaivers about to expire (1):\n"
        "- waiver VS-RDS-09 rds viewster-staging-database expires 2026-12-12\n"
        "https://github.com/viewster/infra-checks/actions/runs/1"
    )


def test_the_watch_is_hourly_on_both_environments_and_never_hides_one():
    job = WORKFLOW["jobs"]["watch"]
    assert WORKFLOW[True]["schedule"] == [{"cron": "17 * * * *"}]  # YAML reads the key `on` as True
    assert job["strategy"]["matrix"]["environment"] == ["staging", "production"]
    assert job["strategy"]["fail-fast"] is False
    tell = next(s for s in job["steps"] if s.get("name") == "Tell the team what changed")
    upload = job["steps"][-1]
    assert (
        tell["if"] == "always()"
        and upload["if"] == "always()"
        and upload["with"]["name"] == "watch-${{ matrix.environment }}"
    )
    run = next(s for s in job["steps"] if s.get("id") == "checks")["run"]
    assert "--deployed-sha" not in run and "--settle" not in run  # not the gate
    assert json.dumps(job).count("secrets.") == 2  # the token and the chat id, as env of the one step that sends
