"""`make test` runs its tests on three xdist workers with `--dist loadgroup`, so that the tests marked
`xdist_group("production")` (harness.PRODUCTION) share one worker and its one production sandbox. pytest-xdist 3.8
marks a group by appending "@group" to the node id; pytest 9.2 no longer takes that up (pytest-xdist#1386), the
tests are then spread like any others, every worker starts its own production sandbox, and nothing fails. This
proves, with the pinned pytest and pytest-xdist, that the grouping is in effect."""

from __future__ import annotations

import re
import subprocess
import sys

GROUPED = """
import pytest

@pytest.mark.xdist_group("together")
@pytest.mark.parametrize("n", range(4))
def test_grouped(n):
    pass

@pytest.mark.parametrize("n", range(4))
def test_free(n):
    pass
"""


def test_tests_of_one_xdist_group_run_on_one_worker(tmp_path):
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    ran = {test: worker for worker, test in re.findall(r"^\[(gw\d)\] .*PASSED (\S+)", result.stdout, re.MULTILINE)}
    grouped = {test: worker for test, worker in ran.items() if "::test_grouped[" in test}
    assert len(grouped) == 4, sorted(ran)
    assert len(set(grouped.values())) == 1, f"one xdist_group spread over workers (pytest-xdist#1386): {grouped}"
