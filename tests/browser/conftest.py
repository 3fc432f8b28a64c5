"""Headless Chromium with a fake camera, driven by Selenium through Debian's chromedriver.

Chromium reads the fake camera's video file when a page opens the camera, so a test can write the video for the
challenge it was just given before it presses the page's camera button. Chromium and chromedriver come from
Debian (scripts/test-deps.sh installs them); outside CI their absence skips these tests, in CI it fails them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _need(condition: bool, reason: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(reason + "; CI installs it (scripts/test-deps.sh)")
    pytest.skip(reason)


@pytest.fixture
def camera_file(tmp_path: Path) -> Path:
    return tmp_path / "camera.y4m"


@pytest.fixture
def browser(camera_file: Path, tmp_path: Path) -> Iterator[Any]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    _need(chromium is not None and driver is not None, "chromium and chromedriver are not installed")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _need(False, "selenium is not installed (pip install -e '.[dev]')")
        raise
    from tests.browser.fake_camera import write_y4m

    write_y4m(camera_file, [])  # a valid empty video until the test writes the one for its challenge
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                 f"--use-file-for-fake-video-capture={camera_file}", "--window-size=900,1400",
                 f"--user-data-dir={tmp_path / 'profile'}", "--lang=en"):
        options.add_argument(flag)
    service = Service(executable_path=str(driver), log_output=str(tmp_path / "chromedriver.log"))
    drv = webdriver.Chrome(options=options, service=service)
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()
