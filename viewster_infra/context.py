"""What one run is about: environment, spec, AWS target and account, and where shared facts are kept.

Built once in the controlling process (options checked, spec validated, credentials proven with a single
sts:GetCallerIdentity, account guarded) and handed to xdist workers as plain data, so that no worker repeats any
of it.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from viewster_infra.aws.reader import AwsReader, AwsSetupError, Target, choose_target
from viewster_infra.aws.snapshot import AwsSnapshot
from viewster_infra.sandbox import lifecycle
from viewster_infra.sandbox.moto_server import SandboxError
from viewster_infra.spec.loader import LoadedSpec, SpecError, environments, load


class RunSetupError(Exception):
    """The run cannot start; the message is one line and pytest exits with code 4 (usage error)."""


@dataclass(frozen=True)
class RunInputs:
    """Everything a worker needs to rebuild the context without another API call; JSON-safe."""

    env: str
    spec_dir: str
    region: str
    profile: str | None
    endpoint_url: str | None
    account_id: str
    run_dir: str
    started_at: float
    sandbox_started_by_run: bool

    def target(self) -> Target:
        return Target(region=self.region, profile=self.profile, endpoint_url=self.endpoint_url)


@dataclass
class RunContext:
    inputs: RunInputs
    loaded: LoadedSpec
    snapshot: AwsSnapshot

    @property
    def env(self) -> str:
        return self.inputs.env

    @property
    def spec(self):
        return self.loaded.spec

    @property
    def target(self) -> Target:
        return self.inputs.target()

    @property
    def run_dir(self) -> Path:
        return Path(self.inputs.run_dir)

    @classmethod
    def rebuild(cls, inputs: RunInputs) -> RunContext:
        loaded = load(Path(inputs.spec_dir), inputs.env)
        snapshot = AwsSnapshot(Path(inputs.run_dir), loaded.spec, lambda: AwsReader(inputs.target()))
        return cls(inputs=inputs, loaded=loaded, snapshot=snapshot)

    def as_worker_input(self) -> dict:
        return asdict(self.inputs)


def start_run(
    *,
    env: str | None,
    spec_dir: Path,
    profile_option: str | None,
    region_option: str | None,
    sandbox: bool,
    sandbox_dir: Path,
) -> RunContext:
    known = environments(spec_dir)
    if not known:
        raise RunSetupError(f"no environments defined: {spec_dir} has no <env>.yaml beside common.yaml")
    if env is None:
        raise RunSetupError(f"--env is required to run the infrastructure checks; choose one of: {', '.join(known)}")
    if env not in known:
        raise RunSetupError(f"unknown --env {env!r}; {spec_dir} defines: {', '.join(known)}")
    try:
        loaded = load(spec_dir, env)
    except SpecError as exc:
        raise RunSetupError(f"invalid spec: {exc}") from None
    spec = loaded.spec
    region = region_option or spec.aws.region

    sandbox_started = False
    if sandbox:
        try:
            state, sandbox_started = lifecycle.ensure_up(env, spec_dir, sandbox_dir)
        except SandboxError as exc:
            raise RunSetupError(f"sandbox: {exc}") from None
        target = Target(region=state.region, endpoint_url=state.aws_endpoint_url)
    else:
        target = choose_target(region, profile_option, spec.aws.profile)

    try:
        reader = AwsReader(target)
        account_id = reader.account_id()
    except AwsSetupError as exc:
        if sandbox_started:
            lifecycle.down(env, sandbox_dir)
        raise RunSetupError(str(exc)) from None
    if spec.aws.account_id and account_id != spec.aws.account_id:
        if sandbox_started:
            lifecycle.down(env, sandbox_dir)
        raise RunSetupError(
            f"wrong account: the credentials ({target.describe()}) are for account {account_id}, but the spec "
            f"for {env} names {spec.aws.account_id}; refusing to check the wrong estate"
        )

    inputs = RunInputs(
        env=env,
        spec_dir=str(spec_dir),
        region=target.region,
        profile=target.profile,
        endpoint_url=target.endpoint_url,
        account_id=account_id,
        run_dir=tempfile.mkdtemp(prefix=f"viewster-{env}-"),
        started_at=time.time(),
        sandbox_started_by_run=sandbox_started,
    )
    snapshot = AwsSnapshot(Path(inputs.run_dir), spec, lambda: reader)
    snapshot.record("sts", {"account_id": account_id}, reader.calls)  # the one call that proved the credentials
    return RunContext(inputs=inputs, loaded=loaded, snapshot=snapshot)
