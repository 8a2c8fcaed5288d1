"""Host facts: each role's probe run once per run over SSH (testinfra's ssh backend), all hosts in parallel.

One SSH connection and one command per host gather everything; the checks then only read. Host keys are verified
strictly. A host that cannot be reached gets one reason (refused, timed out, key changed, auth failed) that every
check of that host reports at once. Incident tests that ask testinfra themselves (`role_host`) get a multiplexed
connection of their own (ControlMaster in the run directory), opened on first use and closed at the end of the run.
"""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import testinfra

from viewster_infra.factstore import Facts, FactStore
from viewster_infra.hosts import probe
from viewster_infra.spec.model import EnvironmentSpec

CONNECT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class HostAccess:
    """How to reach the hosts; plain data, handed to xdist workers as is."""

    env: str
    user: str
    use_sudo: bool
    ssh_config: str | None = None
    identity_file: str | None = None
    sandbox_hosts: dict | None = None  # role -> {"address", "ssh_alias"}, from the sandbox's state
    unavailable: str | None = None  # why there are no hosts to check (a sandbox without them)


@dataclass(frozen=True)
class Destination:
    ssh: str  # what ssh is given: an ssh_config alias, or user@address
    address: str | None  # shown in messages


class HostSnapshot:
    def __init__(self, store: FactStore, spec: EnvironmentSpec, access: HostAccess, aws) -> None:
        self.store = store
        self._spec = spec
        self._access = access
        self._aws = aws  # AwsSnapshot: addresses and endpoints come from the AWS facts outside the sandbox
        # All hosts at once on first use (in parallel: the cost of one); only the asked one when a run checks a
        # few hosts' facts, as --diagnose does.
        self.together = True

    @property
    def unavailable(self) -> str | None:
        return self._access.unavailable

    def aws_facts_needed(self) -> set[str]:
        """The AWS facts the probes wait for before they can start: the RDS endpoints a host's reach test connects
        to, and outside the sandbox and an ssh_config the instances' addresses (destination, _reach_targets)."""
        needed = set()
        reaches = [reach for role in self._spec.hosts.roles.values() for reach in role.reaches]
        if any(reach.database is not None for reach in reaches):
            needed.add("rds")
        if self._access.sandbox_hosts is None and (
            not self._access.ssh_config or any(reach.database is None for reach in reaches)
        ):
            needed.add("ec2")
        return needed

    def facts(self, role: str) -> Facts:
        roles = list(self._spec.hosts.roles) if self.together else [role]
        return self.store.get_many([f"host-{r}" for r in roles], self._gather)[f"host-{role}"]

    def destination(self, role: str) -> Destination:
        access = self._access
        if access.sandbox_hosts is not None:
            host = access.sandbox_hosts[role]
            return Destination(ssh=host["ssh_alias"], address=host["address"])
        if access.ssh_config:
            return Destination(ssh=f"{access.env}-{role}", address=None)
        instance = (self._aws.facts("ec2").data or {}).get("instances", {}).get(role) or {}
        address = instance.get("elastic_ip")
        return Destination(ssh=f"{access.user}@{address}" if address else "", address=address)

    def testinfra_host(self, role: str):
        """A testinfra host for `role` on a multiplexed connection, for incident tests (`role_host(role).file(...)`):
        opened on first use, then every call goes over it without a handshake; closed at the end of the run."""
        # a literal path: testinfra %-formats its command line
        return self._testinfra(role, controlpath=str(self._control_path(role)), controlpersist=60)

    def _testinfra(self, role: str, **connection):
        access = self._access
        extra = f"-o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout={CONNECT_TIMEOUT_SECONDS}"
        return testinfra.get_host(
            f"ssh://{self.destination(role).ssh}",
            ssh_config=access.ssh_config,
            ssh_identity_file=access.identity_file,
            ssh_extra_args=extra,
            **connection,
        )

    def close(self) -> None:
        """End the multiplexed connections the run opened."""
        for role in self._spec.hosts.roles:
            if not self._control_path(role).exists():
                continue  # never connected: nothing to close, and no AWS read just to find its address
            destination = self.destination(role).ssh
            if destination:
                command = ["ssh", "-O", "exit", "-o", f"ControlPath={self._control_path(role)}", destination]
                if self._access.ssh_config:
                    command[1:1] = ["-F", self._access.ssh_config]
                subprocess.run(command, capture_output=True, timeout=10)

    def _control_path(self, role: str) -> Path:
        return self.store.run_dir / f"ssh-{role}"

    def _gather(self, missing: list[str]) -> dict[str, Facts]:
        roles = [name.removeprefix("host-") for name in missing]
        with ThreadPoolExecutor(max_workers=len(roles)) as pool:
            return dict(zip(missing, pool.map(self._gather_one, roles), strict=True))

    def _gather_one(self, role: str) -> Facts:
        name = f"host-{role}"
        destination = self.destination(role)
        if not destination.ssh:
            return Facts(name=name, data=None, error="no address: the instance has no Elastic IP in the AWS facts")
        targets = self._reach_targets(role)
        role_spec, window = self._spec.hosts.roles[role], self._spec.live.log_window_minutes
        auth, auth_error = self._rabbitmq_auth(role)
        script = probe.script(role_spec, targets, self._access.use_sudo, window, auth)
        unresolved = [key for key, (address, _) in targets.items() if address is None]
        started = time.monotonic()
        try:
            # The probe is all a run sends a host (a --settle re-read sends it again): a connection of its own, no
            # ControlMaster, whose background fork and `ssh -O exit` would be two more ssh processes a host and run.
            result = self._testinfra(role, controlpersist=0).run(script)
        except RuntimeError as exc:  # testinfra raises on ssh's own exit code 255, with the result as argument
            failure = getattr(exc.args[0], "stderr", "") if exc.args else ""
            return Facts(name=name, data=None, error=_unreachable(destination, failure), calls={"ssh commands": 1})
        elapsed_ms = round((time.monotonic() - started) * 1000)
        data = probe.parse(result.stdout_bytes, self._spec, role, unresolved)
        if auth_error is not None:
            data["rabbitmq"]["credentials"] = auth_error
        return Facts(name=name, data=data, calls={"ssh connections": 1, "ssh commands": 1, "ssh wall ms": elapsed_ms})

    def _rabbitmq_auth(self, role: str) -> tuple[tuple[str, str] | None, str | None]:
        """The RabbitMQ management API's user and password for `role`'s probe, the password read from SSM now
        (in memory only; "guest" where the spec names no parameter); (None, why) when it cannot be read."""
        rabbitmq = self._spec.hosts.roles[role].rabbitmq
        if rabbitmq is None:
            return None, None
        if rabbitmq.management_password_parameter is None:
            return (rabbitmq.management_user, "guest"), None
        name = self._spec.ssm.parameters[rabbitmq.management_password_parameter].name
        password, error = self._aws.secure_string(name)
        return ((rabbitmq.management_user, password), None) if password is not None else (None, error)

    def _reach_targets(self, role: str) -> dict[str, tuple[str, int]]:
        targets = {}
        for reach in self._spec.hosts.roles[role].reaches:
            if reach.database is not None:
                database = (self._aws.facts("rds").data or {}).get("databases", {}).get(reach.database) or {}
                address = database.get("endpoint")
            elif self._access.sandbox_hosts is not None:
                address = self._access.sandbox_hosts[reach.role]["address"]
            else:
                instance = (self._aws.facts("ec2").data or {}).get("instances", {}).get(reach.role) or {}
                address = instance.get("private_ip")
            targets[reach.key] = (address, reach.port)  # address None: the AWS facts do not name it
        return targets


def _unreachable(destination: Destination, failure: str) -> str:
    where = destination.address or destination.ssh
    text = failure.lower()
    if "host key verification failed" in text or "remote host identification has changed" in text:
        return f"{where}: host key verification failed: its key is not the one in known_hosts (changed or unknown)"
    if "connection refused" in text:
        return f"{where}: ssh connection refused"
    if "timed out" in text or "no route to host" in text:
        return f"{where}: ssh connection timed out after {CONNECT_TIMEOUT_SECONDS}s"
    if "permission denied" in text:
        return f"{where}: ssh authentication failed"
    return f"{where}: ssh failed: {failure.strip().splitlines()[-1] if failure.strip() else 'no reason given'}"
