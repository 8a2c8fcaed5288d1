"""Keeps secrets out of evidence (log lines, configuration) before it reaches a report."""

from __future__ import annotations

import re

MASK = "***"
_PATTERNS = [
    # scheme://user:password@host
    (re.compile(r"(?P<keep>[a-z][a-z0-9+.-]*://[^:/\s@]+:)[^@\s]+(?=@)", re.IGNORECASE), r"\g<keep>" + MASK),
    # password=..., token: ..., SECRET_KEY=..., Authorization: Bearer ...
    (
        re.compile(
            r"(?P<keep>\b[\w-]*(?:password|passwd|secret|token|api[_-]?key|private[_-]?key)[\w-]*\s*[=:]\s*)\S+",
            re.IGNORECASE,
        ),
        r"\g<keep>" + MASK,
    ),
    (re.compile(r"(?P<keep>\bauthorization\s*:\s*\w+\s+)\S+", re.IGNORECASE), r"\g<keep>" + MASK),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL), MASK),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
