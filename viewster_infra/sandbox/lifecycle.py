"""up / down / status of one environment's sandbox: moto for AWS, namespaces for the hosts."""

from __future__ import annotations

from pathlib import Path

from viewster_infra.sandbox import moto_server
from viewster_infra.sandbox.hosts import lifecycle as hosts
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
    state = SandboxState(
        env=env, region=spec.aws.region, aws_endpoint_url=endpoint, moto_pid=pid, account_id=account_id
    )
    try:
        seed(endpoint, spec, env)
        moto_server.snapshot(endpoint)  # the compliant replica, to come back to after a drift
        state.hosts_unavailable = hosts.unavailable_reason()
        if state.hosts_unavailable is None:
            state.host_slot = hosts.allocate_slot()
        state.save(state_dir)  # from here on, `down` can clean up whatever follows, even after a crash
        if state.host_slot is not None:
            try:
                state.hosts = hosts.up(env, state.host_slot, host_dir(env, state_dir), spec, endpoint)
            except BaseException:
                state.host_slot = None  # hosts.up removed what it made and released the slot: nothing more to sweep
                state.save(state_dir)
                raise
    except BaseException:
        down(env, state_dir)
        raise
    state.save(state_dir)
    return state


def ensure_up(env: str, spec_dir: Path, state_dir: Path) -> tuple[SandboxState, bool]:
    """The running sandbox of `env`, or a new one; True when this call started it."""
    running = SandboxState.load(env, state_dir)
    if running is not None:
        return running, False
    return up(env, spec_dir, state_dir), True


def host_dir(env: str, state_dir: Path) -> Path:
    return (state_dir / env).resolve()


def down(env: str, state_dir: Path) -> bool:
    """Stop `env`'s sandbox and its hosts, also what a crashed run left behind; True if one was running."""
    state = SandboxState.read(env, state_dir)
    if state is None:
        return False
    running = SandboxState.load(env, state_dir) is not None
    moto_server.stop(state.moto_pid)
    if state.host_slot is not None:
        hosts.down(env, state.host_slot, host_dir(env, state_dir))
    SandboxState.path(env, state_dir).unlink(missing_ok=True)
    return running
