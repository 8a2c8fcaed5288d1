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

    @staticmethod
    def path(env: str, state_dir: Path = DEFAULT_DIR) -> Path:
        return state_dir / f"{env}.json"

    def save(self, state_dir: Path = DEFAULT_DIR) -> Path:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = self.path(self.env, state_dir)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, env: str, state_dir: Path = DEFAULT_DIR) -> SandboxState | None:
        """The running sandbox of this environment, or None (no state file, or its server is gone)."""
        path = cls.path(env, state_dir)
        if not path.exists():
            return None
        state = cls(**json.loads(path.read_text()))
        return state if _alive(state.moto_pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
