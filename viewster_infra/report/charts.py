"""Pictures in the reports, as inline SVG drawn here (no script, no library fetched, nothing from the network), in
colours that print: the failures, waived and advisory findings of an environment's runs over time with its deploys
marked (reports/index.html), and a live metric's datapoints over the hour its check judged with its limit drawn
(beside the check in the run's report)."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 640, 160, 28
SMALL_WIDTH, SMALL_HEIGHT = 220, 56
SERIES = (("failed", "#b3261e"), ("waived", "#8a6d00"), ("advisory", "#3b5bb5"))
DEPLOY = "#5f6b7a"


def trend(runs: list[dict]) -> Markup:
    """runs: the index's rows of one environment, newest first. One line per series over the runs in time order;
    a dashed mark at each run with a deployed commit (a deploy)."""
    ordered = list(reversed(runs))
    if len(ordered) < 2:
        return Markup("")
    values = {name: [_count(row["counts"], name) for row in ordered] for name, _ in SERIES}
    top = max(1, *(v for series in values.values() for v in series))
    step = (WIDTH - 2 * PAD) / (len(ordered) - 1)

    def x(index: int) -> float:
        return PAD + index * step

    def y(value: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top

    parts = [_axes(WIDTH, HEIGHT, top)]
    for index, row in enumerate(ordered):
        if row["run"].get("deployed_sha"):
            title = escape(f"deploy {row['run']['deployed_sha'][:7]} at {row['run']['started']}")
            parts.append(
                f'<line x1="{x(index):.1f}" y1="{PAD - 6}" x2="{x(index):.1f}" y2="{HEIGHT - PAD}" stroke="{DEPLOY}" '
                f'stroke-dasharray="3 3"><title>{title}</title></line>'
                f'<text x="{x(index):.1f}" y="{PAD - 9}" font-size="9" text-anchor="middle" fill="{DEPLOY}">'
                "deploy</text>"
            )
    for name, colour in SERIES:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values[name]))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for index, value in enumerate(values[name]):
            title = escape(f"{ordered[index]['run']['started']}: {value} {name}")
            parts.append(
                f'<circle cx="{x(index):.1f}" cy="{y(value):.1f}" r="2.5" fill="{colour}">'
                f"<title>{title}</title></circle>"
            )
    parts.append(
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="10" fill="#333">{escape(ordered[0]["run"]["started"])}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="10" text-anchor="end" fill="#333">'
        f"{escape(ordered[-1]['run']['started'])}</text>"
    )
    legend = "".join(
        f'<rect x="{WIDTH / 2 - 120 + i * 80}" y="{HEIGHT - 17}" width="10" height="10" fill="{colour}"/>'
        f'<text x="{WIDTH / 2 - 106 + i * 80}" y="{HEIGHT - 8}" font-size="10" fill="#333">{name}</text>'
        for i, (name, colour) in enumerate(SERIES)
    )
    label = escape(f"failures, waived and advisory findings over {len(ordered)} runs; dashed: deploys")
    return Markup(
        f'<svg class="chart trend" role="img" aria-label="{label}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}">{"".join(parts)}{legend}</svg>'
    )


def metric(chart: dict) -> Markup:
    """chart: {"metric", "values" (oldest first), "limit", "unit", "breaks": "above"|"below"}: the datapoints as a
    line, the limit as a red dashed line, the points past the limit in red."""
    values = chart["values"]
    if not values:
        return Markup("")
    limit = chart["limit"]
    low, high = min(0.0, *values), max(limit, *values) * 1.1 or 1.0
    step = (SMALL_WIDTH - 8) / max(1, len(values) - 1)

    def x(index: int) -> float:
        return 4 + index * step

    def y(value: float) -> float:
        return SMALL_HEIGHT - 4 - (SMALL_HEIGHT - 8) * (value - low) / (high - low)

    past = (lambda v: v > limit) if chart.get("breaks", "above") == "above" else (lambda v: v < limit)
    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    dots = "".join(
        f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2" fill="{"#b3261e" if past(v) else "#1f6f3f"}">'
        f"<title>{escape(_value(v, chart['unit']))}</title></circle>"
        for i, v in enumerate(values)
    )
    label = escape(
        f"{chart['metric']}: {len(values)} datapoints, from {_value(values[0], chart['unit'])} to "
        f"{_value(values[-1], chart['unit'])}; limit {_value(limit, chart['unit'])}"
    )
    return Markup(
        f'<svg class="chart metric" role="img" aria-label="{label}" viewBox="0 0 {SMALL_WIDTH} {SMALL_HEIGHT}" '
        f'width="{SMALL_WIDTH}" height="{SMALL_HEIGHT}">'
        f'<rect x="0" y="0" width="{SMALL_WIDTH}" height="{SMALL_HEIGHT}" fill="#fafafa" stroke="#ddd"/>'
        f'<line x1="0" y1="{y(limit):.1f}" x2="{SMALL_WIDTH}" y2="{y(limit):.1f}" stroke="#b3261e" '
        f'stroke-dasharray="4 3"><title>limit {escape(_value(limit, chart["unit"]))}</title></line>'
        f'<polyline points="{points}" fill="none" stroke="#1f6f3f" stroke-width="1.5"/>{dots}</svg>'
    )


def _count(counts: dict, name: str) -> int:
    return counts.get(name, 0) + (counts.get("error", 0) if name == "failed" else 0)


def _value(value: float, unit: str) -> str:
    if unit == "GiB":
        return f"{value / 2**30:.2f} GiB"
    return f"{value:g}{unit}" if unit == "%" else f"{value:g} {unit}".rstrip()


def _axes(width: int, height: int, top: int) -> str:
    return (
        f'<line x1="{PAD}" y1="{height - PAD}" x2="{width - PAD}" y2="{height - PAD}" stroke="#999"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{height - PAD}" stroke="#999"/>'
        f'<text x="{PAD - 4}" y="{PAD + 4}" font-size="10" text-anchor="end" fill="#333">{top}</text>'
        f'<text x="{PAD - 4}" y="{height - PAD + 4}" font-size="10" text-anchor="end" fill="#333">0</text>'
    )
