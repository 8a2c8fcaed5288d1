"""The HTML report as a person sees it: in a real browser, the verdict, the counts and the failing row with
expected and found are on the first screen; the filters work offline; the counts agree with the JSON; the index
lists every run. The screenshot is kept beside the run's report."""

import json
import re

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests_unit.browser import browser, in_first_screen
from tests_unit.cli import run_pytest
from tests_unit.test_cloudwatch_drift import alter_alarm

CHECK = "test_cloudwatch_alarm_threshold[staging-rds-cpu-high]"


def drifted_run(staging, reports, *extra):
    alter_alarm(staging, "viewster-staging-rds-cpu-high", Threshold=80.0, Period=600)  # high + medium
    result = run_pytest(
        "--env=staging", "--sandbox", f"--sandbox-dir={staging.state_dir}", f"--reports-dir={reports}", *extra
    )
    assert result.returncode == 1
    html = max(reports.glob("staging-*.html"), key=lambda p: p.stat().st_mtime)
    return html, json.loads(html.with_suffix(".json").read_text())


def test_a_drifted_run_seen_in_a_real_browser(staging, tmp_path):
    html, doc = drifted_run(staging, tmp_path)
    with browser() as driver:
        driver.get(html.as_uri())
        verdict = driver.find_element(By.ID, "verdict")
        assert verdict.text == "FAILED" and in_first_screen(driver, verdict)
        for status, count in doc["counts"]["by_status"].items():
            card = driver.find_element(By.CSS_SELECTOR, f'[data-count="{status}"] .n')
            assert card.text == str(count) and in_first_screen(driver, card)
        row = driver.find_element(By.XPATH, f"//tr[contains(., '{CHECK}')]")
        assert in_first_screen(driver, row)
        cells = [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        assert cells[1:6] == ["HIGH", "cloudwatch alarm viewster-staging-rds-cpu-high", "threshold", "70", "80"]
        assert cells[0].startswith("VS-CW-06\nEach alarm's threshold is the guide's")
        driver.save_screenshot(str(html.with_suffix(".png")))  # kept with the run
    assert html.with_suffix(".png").stat().st_size > 10_000


def test_the_filters_work_without_network(staging, tmp_path):
    html, _ = drifted_run(staging, tmp_path)
    with browser() as driver:
        driver.get(html.as_uri())
        Select(driver.find_element(By.ID, "filter-severity")).select_by_visible_text("medium")
        Select(driver.find_element(By.ID, "filter-status")).select_by_visible_text("failed")
        shown = [row for row in driver.find_elements(By.CSS_SELECTOR, "tr.result") if row.is_displayed()]
        assert [row.find_element(By.CSS_SELECTOR, "td").text.split("\n")[0] for row in shown] == ["VS-CW-07"]


def test_html_json_and_terminal_counts_agree_and_the_index_lists_every_run(staging, tmp_path):
    first, _ = drifted_run(staging, tmp_path, "-k", "cloudwatch")
    html, doc = drifted_run(staging, tmp_path)
    page = html.read_text()
    for status, count in doc["counts"]["by_status"].items():
        assert re.search(rf'data-count="{status}"><div class="n">{count}</div>', page), status
    assert "<script" in page and "src=" not in page and "http://" not in page.replace(doc["run"]["target"], "")
    index = (tmp_path / "index.html").read_text()
    assert index.index(html.name) < index.index(first.name)  # newest first
    assert index.count('class="verdict FAILED"') == 2
