"""Facts gathered once per run and shared by every test and every xdist worker, as JSON files in the run directory.

The first process that needs a set of facts takes a file lock, produces them and writes them; every other process
(and every later test) reads the file. So the cost of gathering (API calls, SSH round trips) depends on the spec,
not on the number of checks or workers.

With --settle, a failing check asks for its own facts to be read again (`refresh`): only those, once however many
checks and processes ask for the same; the calls a re-read makes are added to what the facts cost.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from pathlib import Path

from filelock import FileLock

# The names of the facts the running check has read (set by the settle plugin around each attempt).
facts_used: ContextVar[set[str] | None] = ContextVar("facts_used", default=None)


@dataclass
class Facts:
    name: str  # "aws-ec2", "host-backend"
    data: dict | None
    error: str | None = None  # why the facts could not be gathered, in one line
    calls: dict[str, int] = field(default_factory=dict)  # what gathering them cost, by kind of call
    gathered_at: float = field(default_factory=time.time)


Produce = Callable[[list[str]], dict[str, Facts]]


class FactStore:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._memo: dict[str, Facts] = {}
        self._producers: dict[str, Produce] = {}

    def get(self, name: str, produce: Callable[[], Facts]) -> Facts:
        return self.get_many([name], lambda missing: {name: produce()})[name]

    def get_many(self, names: list[str], produce: Produce) -> dict[str, Facts]:
        """Facts for every name; those not yet gathered by any process are produced together, in one call."""
        for name in names:
            self._producers.setdefault(name, produce)
        wanted = [n for n in names if n not in self._memo]
        if wanted:
            with FileLock(str(self.run_dir / f"{'+'.join(sorted(wanted))[:100]}.lock")):
                missing = [n for n in wanted if not self._path(n).exists()]
                if missing:
                    for facts in produce(missing).values():
                        self.put(facts)
                for name in wanted:
                    self._memo[name] = self._read(name)
        return {name: self._memo[name] for name in names}

    def used(self, name: str) -> None:
        """Note that the running check read these facts (what --settle reads again if it fails)."""
        used = facts_used.get()
        if used is not None:
            used.add(name)

    def gathered_at(self, name: str) -> float:
        """When these facts, as this process knows them, were gathered (time.time())."""
        return self._memo[name].gathered_at

    def refresh(self, name: str, seen: float) -> None:
        """Newer facts than those gathered at `seen`: read again, unless another check or process already did."""
        with FileLock(str(self.run_dir / f"{name}.lock")):
            current = self._read(name)
            if current.gathered_at > seen:
                self._memo[name] = current
                return
            fresh = self._producers[name]([name])[name]
            fresh.calls = dict(Counter(current.calls) + Counter(fresh.calls))
            self.put(fresh)

    def put(self, facts: Facts) -> None:
        partial = self._path(facts.name).with_suffix(f".{os.getpid()}.partial")
        partial.write_text(json.dumps(asdict(facts), default=str, sort_keys=True))
        partial.replace(self._path(facts.name))
        self._memo[facts.name] = facts

    def _read(self, name: str) -> Facts:
        return Facts(**json.loads(self._path(name).read_text()))

    def _path(self, name: str) -> Path:
        return self.run_dir / f"{name}.json"


def recorded(run_dir: Path, name: str) -> Facts | None:
    """Facts some process of the run gathered, or None when none did (the report reads them at the end)."""
    path = run_dir / f"{name}.json"
    return Facts(**json.loads(path.read_text())) if path.exists() else None


def calls_recorded(run_dir: Path, prefix: str) -> Counter[str]:
    """Every call recorded by facts whose name starts with `prefix`, added up across processes."""
    total: Counter[str] = Counter()
    for path in run_dir.glob(f"{prefix}*.json"):
        total.update(json.loads(path.read_text())["calls"])
    return total
