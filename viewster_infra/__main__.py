"""python -m viewster_infra new-incident INC-2026-014 --title "..." --role backend

Scaffolds an incident regression test: the check in tests_infra/incidents/ with its marker filled in, and its drift
test in tests_unit/incidents/ with the sandbox fixture ready. Refuses an id already used.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from viewster_infra import incidents
from viewster_infra.spec.loader import SpecError, environments, load

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m viewster_infra", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new-incident", help="scaffold an incident regression test and its drift test")
    new.add_argument("id", help="INC-YYYY-NNN")
    new.add_argument("--title", required=True, help="what happened, in a few words (the marker's summary)")
    new.add_argument("--role", required=True, help="the host role whose facts the guard reads (spec hosts.roles)")
    new.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        spec = load(args.root / "specs", environments(args.root / "specs")[0]).spec
        written = incidents.scaffold(
            args.root, args.id, args.title, args.role, list(spec.hosts.roles), datetime.date.today()
        )
    except (incidents.IncidentMarkerError, SpecError) as exc:
        print(f"new-incident: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path.relative_to(args.root)}")
    print("Next: write the fact in the check, recreate the incident in the drift test, then `make test`.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
