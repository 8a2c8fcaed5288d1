"""Facts gathered once per run and shared by every test and every xdist worker, as JSON files in the run directory.

The first process that needs a set of facts takes a file lock, produces them and writes them; every other process
(and every later test) reads the file. So the cost of gathering (API calls, SSH round trips) depends on the spec,
not on the number of checks or workers.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from filelock import FileLock


@dataclass
class Facts:
    name: str  # "aws-ec2", "host-backend"
    data: dict | None
    error: str | None = None  # why the facts could not be gathered, in one line
    calls: dict[str, int] = field(default_factory=dict)  # what gathering them cost, by kind of call


class FactStore:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._memo: dict[str, Facts] = {}

    def get(self, name: str, produce: Callable[[], Facts]) -> Facts:
        return self.get_many([name], lambda missing: {name: produce()})[name]

    def get_many(self, names: list[str], produce: Callable[[list[str]], dict[str, Facts]]) -> dict[str, Facts]:
        """Facts for every name; those not yet gathered by any process are produced together, in one call."""
        wanted = [n for n in names if n not in self._memo]
        if wanted:
            with FileLock(str(self.run_dir / f"{'+'.join(sorted(wanted))[:100]}.lock")):
                missing = [n for n in wanted if not self._path(n).exists()]
                if missing:
                    for facts in produce(missing).values():
                        self.put(facts)
                for name in wanted:
                    self._memo[name] = Facts(**json.loads(self._path(name).read_text()))
        return {name: self._memo[name] for name in names}

    def put(self, facts: Facts) -> None:
        partial = self._path(facts.name).with_suffix(f".{os.getpid()}.partial")
        partial.write_text(json.dumps(asdict(facts), default=str, sort_keys=True))
        partial.replace(self._path(facts.name))
        self._memo[facts.name] = facts

    def _path(self, name: str) -> Path:
        return self.run_dir / f"{name}.json"


def calls_recorded(run_dir: Path, prefix: str) -> Counter[str]:
    """Every call recorded by facts whose name starts with `prefix`, added up across processes."""
    total: Counter[str] = Counter()
    for path in run_dir.glob(f"{prefix}*.json"):
        total.update(json.loads(path.read_text())["calls"])
    return total
