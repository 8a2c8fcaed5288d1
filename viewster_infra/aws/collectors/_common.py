"""What every collector shares: the run's options, pagination, tags."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunOptions:
    """What a run asks of AWS beyond the spec, and the facts other collectors gathered (NEEDS says which)."""

    deployed_sha: str | None = None  # --deployed-sha: the commit the deploy says it shipped
    changes_since: float | None = None  # when the previous report of the environment was started (epoch seconds)
    facts: Callable[[str], dict | None] = field(default=lambda service: None, compare=False)


class FactsUnreadable(Exception):
    """What a collector read cannot be used (a Terraform state of another format): one line, the service's checks
    say it."""


def paginate(client, operation: str, result_key: str, **params: Any) -> Iterator[dict]:
    """Every item of a paginated read: one call per page, nothing more."""
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(result_key, [])


def tags_of(resource: dict, key: str = "Tags") -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get(key) or []}


def with_tags(resources: Iterable[dict], wanted: dict[str, str]) -> list[dict]:
    """The resources that carry every wanted tag with its value."""
    return [r for r in resources if wanted.items() <= tags_of(r).items()]
