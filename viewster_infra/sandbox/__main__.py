"""python -m viewster_infra.sandbox up|down|status --env=ENV"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from viewster_infra.sandbox import lifecycle
from viewster_infra.sandbox.moto_server import SandboxError
from viewster_infra.sandbox.state import DEFAULT_DIR, SandboxState
from viewster_infra.spec.loader import SpecError, environments

USAGE_ERROR = 4  # as pytest's: the same exit code for the same kind of mistake


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m viewster_infra.sandbox", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--env", action="append", help="environment (repeatable); default: every one the spec defines")
    parser.add_argument("--spec-dir", type=Path, default=Path("specs"))
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)

    known = environments(args.spec_dir)
    for env in args.env or []:
        if env not in known:
            print(f"error: unknown --env {env!r}; {args.spec_dir} defines: {', '.join(known)}", file=sys.stderr)
            return USAGE_ERROR
    envs = args.env or known

    for env in envs:
        if args.command == "up":
            try:
                state = lifecycle.up(env, args.spec_dir, args.state_dir)
            except (SandboxError, SpecError) as exc:
                print(f"error: {env}: {exc}", file=sys.stderr)
                return 1
            print(f"{env}: up, AWS at {state.aws_endpoint_url} ({SandboxState.path(env, args.state_dir)})")
            if state.hosts is None:
                print(f"{env}: no replica hosts: {state.hosts_unavailable}")
            else:
                roles = ", ".join(f"{role} {h['address']}" for role, h in state.hosts["hosts"].items())
                print(f"{env}: hosts {roles}; ssh -F {state.hosts['ssh_config']} {env}-backend")
        elif args.command == "down":
            stopped = lifecycle.down(env, args.state_dir)
            print(f"{env}: {'stopped' if stopped else 'was not running'}")
        else:
            state = SandboxState.load(env, args.state_dir)
            print(f"{env}: " + (f"up, AWS at {state.aws_endpoint_url}" if state else "down"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
