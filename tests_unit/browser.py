"""Headless Chromium for looking at reports as a person would: Debian's chromium and chromedriver (make browser),
driven by Selenium with explicit paths, so nothing is downloaded and nothing but the file is opened."""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WINDOW = (1400, 1000)


@contextlib.contextmanager
def browser():
    """A headless Chromium window of WINDOW; skips the test, saying why, where there is none."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.skip(f"no browser here ({', '.join(missing)} missing): `make browser` installs Debian's chromium")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def in_first_screen(driver, element) -> bool:
    """Displayed, and inside the window without scrolling: what a person sees first."""
    rect = element.rect
    height = driver.execute_script("return window.innerHeight")
    return element.is_displayed() and rect["y"] + rect["height"] <= height
