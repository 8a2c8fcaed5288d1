"""`.sandbox/<env>.json`: where a running sandbox is, for the suite and for `down`."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_DIR = Path(".sandbox")


@dataclass
class SandboxState:
    env: str
    region: str
    aws_endpoint_url: str
    moto_pid: int
    account_id: str
    host_slot: int | None = None  # the slot of the replica hosts (bridge vsbr<slot>, 198.18.<slot>.0/24)
    hosts_unavailable: str | None = None  # why the replica hosts are missing, in one line
    hosts: dict | None = None  # ssh_config, known_hosts, identity_file, ca_bundle, names, and per role: address...

    @staticmethod
    def path(env: str, state_dir: Path = DEFAULT_DIR) -> Path:
        return state_dir / f"{env}.json"

    def save(self, state_dir: Path = DEFAULT_DIR) -> Path:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = self.path(self.env, state_dir)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, env: str, state_dir: Path = DEFAULT_DIR) -> SandboxState | None:
        """What the state file says, whether or not that sandbox still runs (for cleaning up after a crash)."""
        path = cls.path(env, state_dir)
        return cls(**json.loads(path.read_text())) if path.exists() else None

    @classmethod
    def load(cls, env: str, state_dir: Path = DEFAULT_DIR) -> SandboxState | None:
        """The running sandbox of this environment, or None (no state file, or its server is gone)."""
        state = cls.read(env, state_dir)
        return state if state is not None and _alive(state.moto_pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
