"""python -m viewster_infra.report diff OLD.json NEW.json: what changed between two runs of one environment."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from viewster_infra.report import history, records

USAGE_ERROR = 4


def diff(old: dict, new: dict) -> list[str]:
    """Lines for a person: the two runs, then new failures, fixed ones (as they failed before), still failing."""
    current = [dict(r) for r in new["results"]]
    changes = history.compare(old, current, new["run"]["started"], None)
    lines = [
        f"{new['run']['env']}: {old['run']['started']} ({old['run']['verdict']}) -> "
        f"{new['run']['started']} ({new['run']['verdict']})",
        f"new failures ({len(changes['new_failures'])}):",
        *(_line(c) for c in changes["new_failures"]),
        f"fixed ({len(changes['fixed'])}):",
        *(_line(c) for c in changes["fixed"]),
        f"still failing ({len(changes['still_failing'])}):",
        *(f"{_line(c)} (failing since {c['first_seen']})" for c in changes["still_failing"]),
    ]
    return lines


def _line(change: dict) -> str:
    return f"  {change['control'] or '-'} {change['line']} [{change['id']}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m viewster_infra.report", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser("diff", help="what changed between two JSON reports of one environment")
    compare.add_argument("old", type=Path)
    compare.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    try:
        old, new = records.read(args.old, records.READABLE), records.read(args.new, records.READABLE)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    if old["run"]["env"] != new["run"]["env"]:
        print(f"error: {args.old} is {old['run']['env']}, {args.new} is {new['run']['env']}", file=sys.stderr)
        return USAGE_ERROR
    print("\n".join(diff(old, new)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
