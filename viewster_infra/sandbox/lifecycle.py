"""up / down / status of one environment's sandbox."""

from __future__ import annotations

from pathlib import Path

from viewster_infra.sandbox import moto_server
from viewster_infra.sandbox.seed import seed
from viewster_infra.sandbox.state import SandboxState
from viewster_infra.spec.loader import load

MOTO_DEFAULT_ACCOUNT = "123456789012"


def up(env: str, spec_dir: Path, state_dir: Path) -> SandboxState:
    """Start a compliant replica of `env`; an already running one is replaced by a fresh one."""
    down(env, state_dir)
    spec = load(spec_dir, env).spec
    account_id = spec.aws.account_id or MOTO_DEFAULT_ACCOUNT
    pid, endpoint = moto_server.start(state_dir / f"{env}-moto.log", account_id)
    try:
        seed(endpoint, spec, env)
    except Exception:
        moto_server.stop(pid)
        raise
    state = SandboxState(
        env=env, region=spec.aws.region, aws_endpoint_url=endpoint, moto_pid=pid, account_id=account_id
    )
    state.save(state_dir)
    return state


def ensure_up(env: str, spec_dir: Path, state_dir: Path) -> tuple[SandboxState, bool]:
    """The running sandbox of `env`, or a new one; True when this call started it."""
    running = SandboxState.load(env, state_dir)
    if running is not None:
        return running, False
    return up(env, spec_dir, state_dir), True


def down(env: str, state_dir: Path) -> bool:
    """Stop `env`'s sandbox if one runs; True if there was one."""
    path = SandboxState.path(env, state_dir)
    running = SandboxState.load(env, state_dir)
    if running is not None:
        moto_server.stop(running.moto_pid)
    path.unlink(missing_ok=True)
    return running is not None
