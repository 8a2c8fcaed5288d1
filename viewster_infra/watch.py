"""The scheduled watch's voice: after a run, tell the team's Telegram chat what changed since the previous watch of
the environment, and nothing when nothing did.

    python -m viewster_infra.watch --report reports/staging-....json [--run-url URL] [--waiver-notice-days 7]

What changed is the run's own comparison with the previous watch's report (--compare-to, as the gate compares: the
report's `changes`): new failures and fixed ones, each with its one line, and waivers that came within the notice
of their expiry since that report. One message a run that has any, with a link to the run; none otherwise. The bot
token and chat id come from the environment (TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID: the workflow's secrets) and are
never printed; TELEGRAM_API_URL points elsewhere than api.telegram.org (the sandbox's stand-in). A notification that
cannot be sent is a warning that says why, never the job's verdict: the exit code is 0 whatever Telegram answered.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests

API_URL = "https://api.telegram.org"
MAX_MESSAGE = 4096  # Telegram's limit on a message's text
LISTED = 10  # changes listed by kind before "and N more"


def changes_of(report: dict, previous: dict | None, notice_days: int) -> dict[str, list[str]]:
    """new, fixed, expiring: each a list of lines; all empty when nothing changed (or there is nothing to compare
    with: the first watch of an environment says nothing, it has no "since")."""
    found = report.get("changes") or {}
    if not found.get("compared_to"):
        return {"new": [], "fixed": [], "expiring": []}
    return {
        "new": [f"{c['control']} {c['line']}" for c in found.get("new_failures", [])],
        "fixed": [f"{c['control']} {c['line']}" for c in found.get("fixed", [])],
        "expiring": _newly_expiring(report, previous, notice_days),
    }


def _newly_expiring(report: dict, previous: dict | None, notice_days: int) -> list[str]:
    """Waivers within the notice of their expiry now that were not at the previous report's start."""

    def within(doc: dict | None) -> set[tuple]:
        if doc is None:
            return set()
        started = datetime.fromisoformat(doc["run"]["started"]).astimezone(UTC).date()
        waivers = [r["waiver"] for r in doc.get("results", []) if r.get("waiver")] + doc.get("unused_waivers", [])
        return {
            (w["control"], w.get("resource"), w["expires"])
            for w in waivers
            if date.fromisoformat(w["expires"]) <= started + timedelta(days=notice_days)
        }

    return [
        f"waiver {control}{' ' + resource if resource else ''} expires {expires}"
        for control, resource, expires in sorted(within(report) - within(previous), key=str)
    ]


def message(report: dict, changed: dict[str, list[str]], run_url: str | None) -> str:
    run = report["run"]
    lines = [f"Viewster {run['env']}: {run['verdict']}"]
    for kind, title in (("new", "New failures"), ("fixed", "Fixed"), ("expiring", "Waivers about to expire")):
        if changed[kind]:
            lines.append(f"{title} ({len(changed[kind])}):")
            lines += [f"- {line}" for line in changed[kind][:LISTED]]
            if len(changed[kind]) > LISTED:
                lines.append(f"- and {len(changed[kind]) - LISTED} more (see the run)")
    if run_url:
        lines.append(run_url)
    text = "\n".join(lines)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def send(text: str, environ: dict[str, str]) -> str:
    """Send through the Bot API; the one line to print (never the token)."""
    token, chat = environ.get("TELEGRAM_BOT_TOKEN", ""), environ.get("TELEGRAM_CHAT_ID", "")
    if not token or not chat:
        return "::warning::not sent: TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID is not set"
    url = f"{environ.get('TELEGRAM_API_URL', API_URL).rstrip('/')}/bot{token}/sendMessage"
    try:
        answer = requests.post(url, json={"chat_id": chat, "text": text, "disable_web_page_preview": True}, timeout=15)
        body = answer.json()
    except (requests.RequestException, ValueError) as exc:
        return f"::warning::not sent: {type(exc).__name__}: {str(exc).replace(token, '***')}"
    if not body.get("ok"):
        code, why = body.get("error_code", answer.status_code), body.get("description", "")
        return f"::warning::not sent: Telegram answered {code} {why}".rstrip()
    return f"sent to the team's chat (message {body['result'].get('message_id')})"


def main(argv: list[str], environ: dict[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m viewster_infra.watch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", type=Path, required=True, help="the run's JSON report")
    parser.add_argument("--run-url", help="the link the message ends with (the workflow run)")
    parser.add_argument("--waiver-notice-days", type=int, default=7)
    args = parser.parse_args(argv)
    environ = dict(os.environ if environ is None else environ)
    try:
        report = json.loads(args.report.read_text())
        compared_to = (report.get("changes") or {}).get("compared_to")
        previous = json.loads(Path(compared_to).read_text()) if compared_to and Path(compared_to).exists() else None
    except (OSError, ValueError, KeyError) as exc:
        print(f"::warning::not sent: the report cannot be read: {exc}")
        return 0
    changed = changes_of(report, previous, args.waiver_notice_days)
    env = report["run"]["env"]
    if not any(changed.values()):
        since = (report.get("changes") or {}).get("compared_to")
        print(
            f"{env}: nothing changed since {since}: nothing sent"
            if since
            else f"{env}: a first watch, nothing to compare with: nothing sent"
        )
        return 0
    counts = ", ".join(f"{len(lines)} {kind}" for kind, lines in changed.items() if lines)
    print(f"{env}: {counts}; {send(message(report, changed, args.run_url), environ)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
