"""--settle: right after a deploy, give failing checks time to pass on freshly read data (like Goss's
--retry-timeout).

A check that fails is run again, up to the run's start plus the settle time, on facts read again: only the facts
that check itself read (one AWS service, one host's probe, the endpoints), and no more often than every
INTERVAL seconds whichever check or worker asks. A check whose facts are older than that is always given one fresh
read before it counts as failed, also once the time is up, so a late check is never judged on stale data. Every
retry is on newly read facts. Without --settle nothing here runs: one pass, as always.
"""

from __future__ import annotations

import time

import pytest

from viewster_infra import findings
from viewster_infra.factstore import FactStore, facts_used
from viewster_infra.outcomes import SETTLED

INTERVAL = 2.0  # seconds between two reads of the same facts
SECTION = "settle"  # the report section of a check that needed more than one attempt


class Settle:
    def __init__(self, store: FactStore, run_started: float, seconds: float) -> None:
        self._store = store
        self._run_started = run_started  # time.time() of the run's start: what a person times a deploy from
        self._deadline = run_started + seconds  # after it, a failure on fresh facts counts

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function):
        function = pyfuncitem.obj
        arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        attempts = 0
        while True:
            attempts += 1
            sections = len(pyfuncitem._report_sections)
            used: set[str] = set()
            outer = facts_used.get()  # the whole check's reads, kept by the fixtures
            token = facts_used.set(used)
            try:
                function(**arguments)
            except pytest.fail.Exception:
                if not used or not self._another_try(used):
                    if attempts > 1:
                        self._record(pyfuncitem, f"still failing {self._into_run()} ({attempts} reads)")
                    raise
                del pyfuncitem._report_sections[sections:]  # only the last attempt's evidence is kept
                findings.forget(pyfuncitem)
                continue
            finally:
                facts_used.reset(token)
                if outer is not None:
                    outer.update(used)
            if attempts > 1:
                self._record(pyfuncitem, f"passed {self._into_run()} ({attempts} reads)")
            return True

    def _another_try(self, used: set[str]) -> bool:
        """Wait until the facts are due, have them read again, and say so; False when the failure stands (the
        facts are fresh and the time is up). Facts older than INTERVAL are always read again once."""
        seen = {name: self._store.gathered_at(name) for name in used}
        age = time.time() - min(seen.values())
        if age < INTERVAL:
            remaining = self._deadline - time.time()
            if remaining <= 0:
                return False
            time.sleep(min(INTERVAL - age, remaining))
        for name in sorted(used):
            self._store.refresh(name, seen[name])
        return True

    def _into_run(self) -> str:
        return f"{time.time() - self._run_started:.1f} s into the run"

    @staticmethod
    def _record(item: pytest.Function, text: str) -> None:
        item.stash[SETTLED] = text
        item.add_report_section("call", SECTION, text)
