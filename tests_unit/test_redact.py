"""Evidence goes through redact() before it reaches a report: secrets in log lines and configuration are masked."""

from viewster_infra.redact import redact
from viewster_infra.sandbox.hosts.render import nginx_time


def test_credentials_in_urls_are_masked():
    assert redact("connecting to postgresql://viewster:s3cr3t@db:5432/app") == (
        "connecting to postgresql://viewster:***@db:5432/app"
    )


def test_secret_looking_settings_are_masked():
    text = "DB_PASSWORD=hunter2 api_key: abc123 TELEGRAM_BOT_TOKEN=123:xyz Authorization: Bearer eyJ0 ok=1"
    assert redact(text) == "DB_PASSWORD=*** api_key: *** TELEGRAM_BOT_TOKEN=*** Authorization: Bearer *** ok=1"


def test_private_keys_are_masked():
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA\n-----END OPENSSH PRIVATE KEY-----"
    assert redact(f"key:\n{key}\nafter") == "key:\n***\nafter"


def test_ordinary_log_lines_are_kept():
    line = '198.18.1.1 - - "GET /health HTTP/1.1" 200 15'
    assert redact(line) == line


def test_the_sandbox_writes_nginx_times_in_nginx_units():
    assert [nginx_time(s) for s in (86400, 3600, 90, 60)] == ["1d", "1h", "90s", "1m"]
