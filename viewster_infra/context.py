"""What one run is about: environment, spec, AWS target and account, and where shared facts are kept.

Built once in the controlling process (options checked, spec validated, credentials proven with a single
sts:GetCallerIdentity, account guarded) and handed to xdist workers as plain data, so that no worker repeats any
of it.
"""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from viewster_infra import controls, endpoints, waivers
from viewster_infra.aws.collectors._common import RunOptions
from viewster_infra.aws.reader import AwsReader, AwsSetupError, Target, choose_target
from viewster_infra.aws.snapshot import AwsSnapshot
from viewster_infra.factstore import Facts, FactStore
from viewster_infra.hosts.gather import HostAccess, HostSnapshot
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
    host_access: dict
    names: dict | None = None  # sandbox: name -> address, instead of DNS
    ca_bundle: str | None = None  # sandbox: the CA its certificates chain to
    dns_server: str | None = None  # sandbox: its own DNS server, the only one asked; None: the system's resolver
    deployed_sha: str | None = None  # --deployed-sha: the commit the deploy says it shipped
    settle_seconds: float | None = None  # --settle: how long failing checks are re-read before they count
    changes_since: float | None = None  # the previous report's start: CloudTrail is read from there

    def options(self) -> RunOptions:
        return RunOptions(deployed_sha=self.deployed_sha, changes_since=self.changes_since)

    def today(self) -> datetime.date:
        """The run's date (UTC): what waivers expire against."""
        return datetime.datetime.fromtimestamp(self.started_at, datetime.UTC).date()

    def target(self) -> Target:
        return Target(region=self.region, profile=self.profile, endpoint_url=self.endpoint_url)


@dataclass
class RunContext:
    inputs: RunInputs
    loaded: LoadedSpec
    snapshot: AwsSnapshot
    hosts: HostSnapshot
    registry: controls.Registry
    waivers: waivers.Waivers

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
        return cls.assemble(inputs, loaded, lambda: AwsReader(inputs.target()))

    @classmethod
    def assemble(cls, inputs: RunInputs, loaded: LoadedSpec, make_reader) -> RunContext:
        store = FactStore(Path(inputs.run_dir))
        snapshot = AwsSnapshot(store, loaded.spec, make_reader, inputs.options())
        hosts = HostSnapshot(store, loaded.spec, HostAccess(**inputs.host_access), snapshot)
        registry = controls.load(Path(inputs.spec_dir))
        accepted = waivers.load(Path(inputs.spec_dir), set(registry.controls), inputs.today(), registry.waiver_max_days)
        return cls(inputs=inputs, loaded=loaded, snapshot=snapshot, hosts=hosts, registry=registry, waivers=accepted)

    def control_of(self, check: str) -> tuple[str, controls.Control, str] | None:
        """(control id, control, severity in this environment) of a check function, or None."""
        found = self.registry.by_check().get(check)
        if found is None:
            return None
        control_id, control = found
        return control_id, control, self.spec.severity_overrides.get(control_id, control.severity)

    def endpoint_facts(self) -> Facts:
        """What the environment serves, probed from outside once per run (see endpoints.py)."""
        return self.snapshot.store.get(
            "endpoints",
            lambda: Facts(
                "endpoints",
                endpoints.probe_all(self.spec, self.inputs.names, self.inputs.ca_bundle, self.inputs.dns_server),
            ),
        )

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
    ssh_config: str | None = None,
    ssh_identity_file: str | None = None,
    ssh_user: str | None = None,
    ssh_key_from_ssm: bool = False,
    deployed_sha: str | None = None,
    settle_seconds: float | None = None,
    changes_since: float | None = None,
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
        registry = controls.load(spec_dir)
        waivers.load(
            spec_dir, set(registry.controls), datetime.datetime.now(datetime.UTC).date(), registry.waiver_max_days
        )
    except SpecError as exc:
        raise RunSetupError(f"invalid spec: {exc}") from None
    for control_id in loaded.spec.severity_overrides:
        if control_id not in registry.controls:
            raise RunSetupError(
                f"invalid spec: {spec_dir / (env + '.yaml')}: severity_overrides.{control_id}: "
                f"no such control in {spec_dir / controls.REGISTRY_FILE}"
            )
    spec = loaded.spec
    region = region_option or spec.aws.region

    sandbox_started, names, ca_bundle, dns_server = False, None, None, None
    access = HostAccess(
        env=env,
        user=ssh_user or spec.hosts.ssh_user,
        use_sudo=spec.hosts.use_sudo,
        ssh_config=ssh_config,
        identity_file=ssh_identity_file,
    )
    if sandbox:
        from viewster_infra.sandbox import lifecycle  # the sandbox is imported only when it is asked for
        from viewster_infra.sandbox.moto_server import SandboxError

        try:
            state, sandbox_started = lifecycle.ensure_up(env, spec_dir, sandbox_dir)
        except SandboxError as exc:
            raise RunSetupError(f"sandbox: {exc}") from None
        target = Target(region=state.region, endpoint_url=state.aws_endpoint_url, profile=profile_option)
        access, names, ca_bundle, dns_server = _sandbox_hosts(env, state, ssh_config, spec)
    else:
        target = choose_target(region, profile_option, spec.aws.profile)

    run_dir = Path(tempfile.mkdtemp(prefix=f"viewster-{env}-"))
    try:
        reader, account_id, access = _prove_access(env, spec, target, access, run_dir, ssh_key_from_ssm)
    except RunSetupError:
        shutil.rmtree(run_dir, ignore_errors=True)
        if sandbox_started:  # a sandbox this run started goes with the run, also when it cannot start
            from viewster_infra.sandbox import lifecycle

            lifecycle.down(env, sandbox_dir)
        raise

    inputs = RunInputs(
        env=env,
        spec_dir=str(spec_dir),
        region=target.region,
        profile=target.profile,
        endpoint_url=target.endpoint_url,
        account_id=account_id,
        run_dir=str(run_dir),
        started_at=time.time(),
        sandbox_started_by_run=sandbox_started,
        host_access=asdict(access),
        names=names,
        ca_bundle=ca_bundle,
        dns_server=dns_server,
        deployed_sha=deployed_sha,
        settle_seconds=settle_seconds,
        changes_since=changes_since,
    )
    context = RunContext.assemble(inputs, loaded, lambda: reader)
    context.snapshot.record("sts", {"account_id": account_id}, reader.calls)  # the call that proved the credentials
    return context


def _prove_access(env, spec, target, access, run_dir: Path, ssh_key_from_ssm: bool):
    """Credentials proven with one sts:GetCallerIdentity, the account guarded, the SSM key fetched if asked."""
    try:
        reader = AwsReader(target)
        account_id = reader.account_id()
        if ssh_key_from_ssm:
            key = reader.private_key(spec.ssm.parameters[spec.hosts.ssh_key_parameter].name)
            access = replace(access, identity_file=str(_write_private(run_dir / "ssh-key-from-ssm", key)))
    except AwsSetupError as exc:
        raise RunSetupError(str(exc)) from None
    if spec.aws.account_id and account_id != spec.aws.account_id:
        raise RunSetupError(
            f"wrong account: the credentials ({target.describe()}) are for account {account_id}, but the spec "
            f"for {env} names {spec.aws.account_id}; refusing to check the wrong estate"
        )
    return reader, account_id, access


def _write_private(path: Path, text: str) -> Path:
    """A 0600 file from the start (never readable by others, not even for a moment); removed with the run dir."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text if text.endswith("\n") else text + "\n")
    return path


def _sandbox_hosts(
    env: str, state, ssh_config: str | None, spec
) -> tuple[HostAccess, dict | None, str | None, str | None]:
    """In the sandbox, hosts are reached only at the addresses its state names, never at an address from AWS, as
    the spec's SSH user with the spec's sudo, as on the estate. An --ssh-config replaces the sandbox's own (the
    benchmark reaches the hosts through a delaying proxy)."""
    user, use_sudo = spec.hosts.ssh_user, spec.hosts.use_sudo
    if state.hosts is None:
        unavailable = HostAccess(env=env, user=user, use_sudo=use_sudo, unavailable=state.hosts_unavailable)
        return unavailable, None, None, None
    hosts = state.hosts
    sandbox_hosts = {
        role: {"address": host["address"], "ssh_alias": host["ssh_alias"]}
        for role, host in hosts["hosts"].items()
        if host["ssh_alias"]
    }
    access = HostAccess(
        env=env, user=user, use_sudo=use_sudo, ssh_config=ssh_config or hosts["ssh_config"], sandbox_hosts=sandbox_hosts
    )
    return access, hosts["names"], hosts["ca_bundle"], hosts["dns_server"]
