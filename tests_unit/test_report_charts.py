"""Pictures in the reports: each live metric check carries the datapoints it judged, drawn beside it with its limit;
reports/index.html draws each environment's failures, waived and advisory findings over its runs, deploys marked.
Inline SVG only: no script, nothing fetched."""

import json
import re
from datetime import UTC, datetime, timedelta

from tests_unit.harness import set_live
from viewster_infra.report import html


def test_a_live_checks_datapoints_are_drawn_beside_it_with_its_limit(staging, spec_copy):
    set_live(spec_copy, rds_cpu_average_max_percent=5)  # the quiet replica's database runs at 8%
    result = staging.run(f"--spec-dir={spec_copy}", "-k", "test_rds_cpu_utilization_average or test_rds_free_storage")
    assert set(result.failures) == {"test_rds_cpu_utilization_average[staging-database]"}
    records = {r["id"]: r for r in result.report["results"]}
    cpu = records["test_rds_cpu_utilization_average[staging-database]"]["chart"]
    # the replica's datapoints every 5 minutes over the last hour: 11 or 12 of them, as the hour's edge falls
    points = len(cpu["values"])
    assert points in (11, 12)
    assert cpu == {"metric": "CPUUtilization", "values": [8.0] * points, "limit": 5.0, "unit": "%", "breaks": "above"}
    storage = records["test_rds_free_storage_minimum[staging-database]"]["chart"]  # a passing check has its own
    assert storage["breaks"] == "below" and storage["limit"] == 5 * 2**30 and len(storage["values"]) == points
    page = max(staging.reports_dir.glob("staging-*.html"), key=lambda p: p.stat().st_mtime).read_text()
    drawn = re.search(r'<svg class="chart metric" role="img" aria-label="CPUUtilization: ([^"]*)".*?</svg>', page, re.S)
    assert drawn.group(1) == f"{points} datapoints, from 8% to 8%; limit 5%"
    assert drawn.group(0).count('fill="#b3261e"') == points  # every datapoint past the limit is red


def _run(env: str, at: datetime, failed: int, deployed: str | None) -> dict:
    counts = {"failed": failed, "error": 0, "waived": 1, "advisory": 7, "skipped": 6, "passed": 300}
    verdict = "FAILED" if failed else "PASSED"
    return {
        "run": {
            "env": env,
            "started": at.isoformat(),
            "verdict": verdict,
            "deployed_sha": deployed,
            "suite_commit": "x",
        },
        "counts": {"by_status": counts},
    }


def test_the_index_draws_each_environments_trend_with_its_deploys(tmp_path):
    start = datetime(2026, 11, 30, tzinfo=UTC)
    for env in ("staging", "production"):
        for day in range(7):
            at = start + timedelta(days=day)
            deployed = "9e8d7c6" if day in (2, 5) else None
            doc = _run(env, at, failed=day % 3, deployed=deployed)
            (tmp_path / f"{env}-{at:%Y%m%dT%H%M%SZ}.json").write_text(json.dumps(doc))
    page = html.render_index(tmp_path)
    charts = re.findall(r'<svg class="chart trend".*?</svg>', page, re.S)
    assert len(charts) == 2
    for chart in charts:
        assert chart.count("<polyline") == 3  # failed, waived, advisory
        assert chart.count("stroke-dasharray") == 2  # the two deploys
        assert "over 7 runs" in chart
    assert "<script" not in "".join(charts)
    assert not re.search(r'(src|href)="https?://', page)  # nothing fetched
    single = tmp_path / "one"
    single.mkdir()
    (single / "staging-20261201T000000Z.json").write_text(json.dumps(_run("staging", start, 0, None)))
    assert 'class="chart trend"' not in html.render_index(single)  # one run is no trend
