"""Where a run's wall time goes, for the person who times the command: one line at the end of the run.

Phases: start 0.62 s (interpreter, imports), setup 0.35 s (spec, sandbox, credentials), collect 0.21 s,
gather 1.05 s (AWS 0.61 s, hosts 1.02 s, endpoints 0.18 s, in parallel), checks 0.29 s, report 0.17 s
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def process_start() -> float | None:
    """When this process started (time.time() scale), from /proc; None where there is no /proc."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(
            int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


_first_in_process = True  # only the process's first pytest session has its interpreter start to account for


class Phases:
    def __init__(self) -> None:
        global _first_in_process
        self.first_in_process, _first_in_process = _first_in_process, False
        self.marks: dict[str, float] = {"configure": time.time()}
        self.gathered: dict[str, float] = {}  # prefetch.gather's parts (this process only)

    def mark(self, name: str) -> None:
        self.marks[name] = time.time()

    def line(self) -> str:
        m, parts = self.marks, []
        started = process_start() if self.first_in_process else None
        if started is not None:
            parts.append(f"start {m['configure'] - started:.2f} s (interpreter, imports)")
        steps = [
            ("setup", "configure", "setup_done", " (spec, sandbox, credentials)"),
            ("collect", "setup_done", "collected", ""),
        ]
        for name, begin, end, note in steps:
            if begin in m and end in m:
                parts.append(f"{name} {m[end] - m[begin]:.2f} s{note}")
        if "gathered" in m:
            details = ", ".join(
                f"{label} {self.gathered[key]:.2f} s"
                for key, label in (("aws", "AWS"), ("hosts", "hosts"), ("endpoints", "endpoints"))
                if key in self.gathered
            )
            parts.append(
                f"gather {m['gathered'] - m['collected']:.2f} s" + (f" ({details}, in parallel)" if details else "")
            )
            checks_from = m["gathered"]
        else:
            parts.append("gather in the xdist workers")
            checks_from = m.get("collected", m["configure"])
        if "checked" in m:
            parts.append(f"checks {m['checked'] - checks_from:.2f} s")
        if "reported" in m:
            parts.append(f"report {m['reported'] - m['checked']:.2f} s")
        return "Phases: " + ", ".join(parts)
