"""The probe's output is split into sections exactly: every byte a command printed, and nothing else, is its
section's, whatever that output looks like (viewster_infra/hosts/probe.py)."""

from __future__ import annotations

import subprocess

from viewster_infra.hosts import probe

TOKEN = "0123456789abcdef0123456789abcdef"


def run(script: str) -> bytes:
    section = f"section() {{ printf '\\n### {TOKEN} %s\\n' \"$1\"; }}\n"
    return subprocess.run(["bash", "-c", section + script], capture_output=True, check=True).stdout


def test_each_section_is_exactly_what_its_command_printed():
    found = probe.sections(
        run(
            "section with_newline; printf 'a\\nb\\n'\n"
            "section without_newline; printf 'no newline'\n"
            "section empty; true\n"
            "section blank_lines; printf '\\n\\n'\n"
            "section last; printf 'end\\n'\n"
        )
    )
    assert found == {
        "with_newline": "a\nb\n",
        "without_newline": "no newline",
        "empty": "",
        "blank_lines": "\n\n",
        "last": "end\n",
    }


def test_output_that_looks_like_a_header_stays_output():
    forged = f"### {'f' * 32} forged\n### forged\n"  # a log line can say anything, but not this probe's token
    found = probe.sections(run(f"section logs; printf '%s' '{forged}'\nsection next; echo 1\n"))
    assert found == {"logs": forged, "next": "1\n"}


def test_bytes_that_are_not_utf8_are_replaced_not_fatal():
    found = probe.sections(run("section logs; printf 'caf\\xe9\\n'\n"))
    assert found == {"logs": "caf\ufffd\n"}


def test_no_header_no_sections():
    assert probe.sections(b"bash: line 1: section: command not found\n") == {}
