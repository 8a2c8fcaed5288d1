"""What a deploy says it shipped: a commit SHA, and how image tags name commits.

The team tags each image with its commit's SHA, usually the short one (7 characters). A deploy may name the
commit in full or short, so a tag names the deployed commit when one is a prefix of the other.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

SHA = re.compile(r"^[0-9a-f]{7,40}$")


def parse_sha(value: str) -> str:
    """A commit SHA as given to --deployed-sha (7-40 hex digits), lower-cased; ValueError otherwise."""
    sha = value.strip().lower()
    if not SHA.match(sha):
        raise ValueError(f"--deployed-sha {value!r} is not a commit SHA (7 to 40 hexadecimal digits)")
    return sha


def names_commit(tag: str, sha: str) -> bool:
    """True when an image tag names this commit: both hex SHAs, one a prefix of the other."""
    tag = tag.lower()
    return bool(SHA.match(tag)) and (sha.startswith(tag) or tag.startswith(sha))


def short_digest(digest: str | None) -> str:
    """sha256:cd34ab12ef56… (12 hex digits, as Docker shortens ids); the full digest is in the report's evidence."""
    if not digest:
        return repr(digest)
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}:{hex_part[:12]}…" if len(hex_part) > 12 else digest


def parse_time(value: str) -> datetime:
    """An ISO time from AWS or Docker ("...T05:20:11.123456789Z": Docker gives nanoseconds) as an aware datetime."""
    text = value.strip().replace("Z", "+00:00")
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match:
        text = match.group(1) + (match.group(2) or "")[:7] + match.group(3)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def show_time(value: str) -> str:
    return parse_time(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def tagged(images: list[dict], sha: str) -> list[dict]:
    """The images (newest first) whose tags name this commit."""
    return [i for i in images if any(names_commit(tag, sha) for tag in i["tags"])]


def with_tag(images: list[dict], tag: str) -> dict | None:
    return next((i for i in images if tag in i["tags"]), None)


def with_digest(images: list[dict], digest: str | None) -> dict | None:
    return next((i for i in images if i["digest"] == digest), None)


def running_digest(container: dict, repository_uri: str) -> str | None:
    """The registry digest of the image a container runs, if it came from this repository (RepoDigests)."""
    prefix = repository_uri + "@"
    return next((d[len(prefix) :] for d in container.get("repo_digests", []) if d.startswith(prefix)), None)


def describe(image: dict, pushed: bool = False) -> str:
    """sha256:cd34ab12ef56… (tags latest, 9e8d7c6[, pushed 2026-11-20])"""
    details = [("tags " + ", ".join(image["tags"])) if image["tags"] else "untagged"]
    if pushed:
        details.append(f"pushed {show_time(image['pushed_at'])}")
    return f"{short_digest(image['digest'])} ({'; '.join(details)})"
