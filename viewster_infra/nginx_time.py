"""nginx's time syntax ("86400", "86400s", "1d", "24h", "1h 30m") as seconds, so values compare by meaning.

nginx reads a bare number as seconds and accepts the units ms, s, m, h, d, w, M (30 days) and y (365 days),
several of them in one value, largest first.
"""

from __future__ import annotations

import re

UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "M": 30 * 86400, "y": 365 * 86400}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|M|y)?")


def seconds(value: str | int | float) -> float:
    """>>> seconds("1d") == seconds("24h") == seconds("86400") == 86400"""
    if isinstance(value, (int, float)):
        return float(value)
    text = value.replace(" ", "")
    parts = _PART.findall(text)
    if not text or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"not an nginx time: {value!r}")
    return float(sum(int(number) * UNIT_SECONDS[unit or "s"] for number, unit in parts))
