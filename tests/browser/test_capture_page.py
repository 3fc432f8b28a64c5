"""The capture page in a real browser: headless Chromium, its fake camera fed real photographs, the whole flow.

What this proves: the page, the demo app backend and the loan service work together against a real idverify
(SMS code from the outbox, a synthetic ID card read by OCR, a liveness challenge answered through the browser's
camera API, the selfie matched against the card's portrait, a token verified offline and redeemed), and a
different person's face against the same card fails the face match with the applicant's text.

What it does not prove: that a real head turn, a real face under the screen's light or PAD on a real camera
pass. Chromium's fake camera plays a video composited from still portraits, so the demo runs with
``--fake-camera``: head-turn threshold 0.125 instead of 0.25 (the most turned faces in these photos reach an image
yaw of 0.13-0.18 in a 640x480 frame) and a larger challenge budget, because up and down cannot be composited
from these photos and the other person's only turn left: the test asks for challenges until one its photos can
answer. Frames are pre-screened with the
public PAD models, and the screen's colours are painted onto the face as a simulated reflection. Continuity,
timing, sequence, the light challenge, capture-key signatures, replay, identity and PAD run as configured.
See docs/demo.md.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import pytest

from idverify.demo.run import Demo, start_demo
from idverify.ml.pad.onnx_pad import OnnxPad
from idverify.ml.pipeline import FacePipeline
from tests.browser.fake_camera import DICAPRIO, OTHER_PERSON, Person, head_turn_video
from tests.docgen.identities import cn_identity
from tests.docgen.render import fonts_available, render_cn_back, render_cn_front
from tests.shared_data import shared_path

pytestmark = [pytest.mark.browser, pytest.mark.shared_data, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = os.environ.get("IDVERIFY_SCREENSHOTS_DIR", "")


@pytest.fixture(scope="module")
def faces() -> Path:
    return shared_path("faces", "deepface-unit")


@pytest.fixture(scope="module")
def pipeline() -> FacePipeline:
    return FacePipeline.from_models_dir(REPO / "models", threads=1)


@pytest.fixture(scope="module")
def pad() -> OnnxPad:
    return OnnxPad(REPO / "models" / "pad.toml", REPO / "models" / "pad")


@pytest.fixture(scope="module")
def id_card(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A synthetic resident ID card whose portrait is a real photo of the account holder (img36, DiCaprio)."""
    if not fonts_available():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("the CJK fonts are missing; CI installs them (scripts/install-fonts.sh)")
        pytest.skip("the CJK fonts are missing (scripts/install-fonts.sh)")
    folder = tmp_path_factory.mktemp("card")
    person = cn_identity(random.Random(13), date.today())
    portrait = cv2.imread(str(faces / "img36.jpg"))
    front, back = folder / "front.jpg", folder / "back.jpg"
    cv2.imwrite(str(front), render_cn_front(person, photo=portrait, seed=13))
    cv2.imwrite(str(back), render_cn_back(person, seed=13))
    return front, back


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    data = tmp_path_factory.mktemp("demo")
    running = start_demo({"IDVERIFY_DOCUMENTS": "on"}, data, fake_camera=True, pose_log=data / "poses.jsonl")
    try:
        yield running
    finally:
        running.stop()


class Page:
    """The capture page in the browser, with waits on the state it publishes in ``body`` data attributes."""

    def __init__(self, driver: Any, shots: Path) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.by, self.wait_cls, self.shots = driver, By, WebDriverWait, shots

    def el(self, element_id: str) -> Any:
        return self.driver.find_element(self.by.ID, element_id)

    def click(self, element_id: str) -> None:
        self.el(element_id).click()

    def until(self, script: str, timeout: float = 60) -> Any:
        def check(d: Any) -> Any:
            return d.execute_script("return " + script)

        return self.wait_cls(self.driver, timeout, poll_frequency=0.2).until(check, message=script)

    def step_is(self, step: str, timeout: float = 60) -> None:
        self.until(f"document.body.dataset.step === {json.dumps(step)}", timeout)

    def shot(self, name: str) -> None:
        # The camera preview would show the real photographs, which must not enter the repository: hidden first.
        self.driver.execute_script("document.getElementById('preview').style.visibility = 'hidden'")
        self.shots.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(self.shots / f"{name}.png"))
        self.driver.execute_script("document.getElementById('preview').style.visibility = ''")


def apply_and_pass_sms(page: Page, url: str) -> None:
    page.driver.get(url + "?lang=en")
    page.step_is("start")
    page.click("consent")
    page.click("calibration")
    page.shot("1-apply")
    page.click("start")
    page.step_is("otp")
    page.click("send-otp")
    code = page.until("document.getElementById('dev-code').textContent")
    page.el("otp").send_keys(code)
    page.shot("2-sms-code")
    page.click("check-otp")


def submit_card(page: Page, card: tuple[Path, Path]) -> None:
    page.step_is("document")
    page.el("front").send_keys(str(card[0]))
    page.el("back").send_keys(str(card[1]))
    page.shot("3-id-card")
    page.click("submit-doc")
    page.step_is("liveness", timeout=120)


#: Failures a starved host causes (the fake camera or the page's timers stall: gaps over 200 ms, one camera frame
#: sent twice, a jump across a stalled stretch). The test tries again on these alone, at most three times.
LOAD_REASONS = {"liveness_timing", "liveness_static_or_replayed", "liveness_discontinuous"}


def answer_liveness(page: Page, person: Person, faces: Path, camera: Path, pipeline: FacePipeline,
                    pad: OnnxPad, retry_on: frozenset[str] = frozenset()) -> tuple[list[str], list[list[str]]]:
    """Ask for challenges until one these photos can answer, write its video, run the capture; (the asked poses,
    the results shown). Tries again when a failure is one a starved host causes, or one of ``retry_on``."""
    for _attempt in range(3):
        for _ in range(60):
            page.until("document.getElementById('get-challenge').disabled === false")
            page.driver.execute_script("document.getElementById('challenge').dataset.poses = ''")
            page.click("get-challenge")
            poses = str(page.until("document.getElementById('challenge').dataset.poses")).split(",")
            if person.can_show(poses):
                break
        else:
            raise AssertionError(f"no challenge these photos can answer in 60 draws (last: {poses})")
        plan = page.driver.execute_script("return window.capturePlan(window.captureState.challenge)")
        colours = page.driver.execute_script("return window.captureState.challenge.light_steps.map(s => s.rgb)")
        head_turn_video(camera, faces, person, poses, plan, colours, pipeline, pad)
        page.shot("4-liveness-challenge")
        page.click("start-capture")
        page.until("['passed', 'failed', 'error'].includes(document.body.dataset.capture)", timeout=120)
        results: list[list[str]] = page.driver.execute_script(
            "return [...document.querySelectorAll('#liveness-result .result')].map(e => [e.dataset.factor, "
            "e.dataset.outcome, e.textContent]).concat([[document.body.dataset.capture === 'error' ? "
            "'error:' + (document.body.dataset.lastReason || '') : (document.body.dataset.reasons || '')]])")
        reasons = set(filter(None, results[-1][0].split(",")))
        if not reasons or not reasons <= LOAD_REASONS | retry_on:
            break
    return poses, results


def test_the_account_holder_completes_the_flow_and_the_loan_service_redeems_the_token(
        demo: Demo, browser: Any, camera_file: Path, faces: Path, id_card: tuple[Path, Path],
        pipeline: FacePipeline, pad: OnnxPad, tmp_path: Path) -> None:
    page = Page(browser, Path(SCREENSHOTS) if SCREENSHOTS else tmp_path / "shots")
    apply_and_pass_sms(page, demo.url)
    submit_card(page, id_card)
    poses, results = answer_liveness(page, DICAPRIO, faces, camera_file, pipeline, pad)
    assert browser.execute_script("return document.body.dataset.capture") == "passed", (poses, results)
    assert results[0][:2] == ["liveness", "passed"]
    assert ["face_match_document", "passed"] in [r[:2] for r in results]
    page.step_is("done")
    page.shot("5-liveness-passed")
    # The consented attempt's pose figures were recorded for calibration, without images.
    record = json.loads((demo.app.settings.data_dir / "poses.jsonl").read_text().splitlines()[-1])
    assert record["asked"] == poses
    assert record["outcome"] == "passed"
    assert all("yaw" in f for f in record["frames"])
    assert "image" not in json.dumps(record)
    page.click("complete")
    page.until("document.getElementById('loan-result').textContent || !document.getElementById('error').hidden")
    paid = browser.execute_script("return document.getElementById('loan-result').textContent + "
                                  "document.getElementById('error').textContent")
    assert "verified offline and redeemed" in paid
    assert "urn:idverify:acr:" in paid
    assert browser.execute_script("return document.getElementById('token').textContent").startswith("eyJ")
    page.shot("6-loan-paid")


def test_another_persons_face_against_the_same_card_fails_the_face_match_with_the_applicant_text(
        demo: Demo, browser: Any, camera_file: Path, faces: Path, id_card: tuple[Path, Path],
        pipeline: FacePipeline, pad: OnnxPad, tmp_path: Path) -> None:
    page = Page(browser, tmp_path / "shots")
    apply_and_pass_sms(page, demo.url)
    submit_card(page, id_card)
    # This person's only turned photo is turned little (fake_camera.OTHER_PERSON), so a capture of it can read as
    # no turn at all: one CI run (17812ec) failed here on liveness_pose_sequence. This test is about the face match
    # that follows liveness, so it draws a fresh challenge then; the account holder's test does not.
    poses, results = answer_liveness(page, OTHER_PERSON, faces, camera_file, pipeline, pad,
                                     retry_on=frozenset({"liveness_pose_sequence"}))
    assert browser.execute_script("return document.body.dataset.capture") == "failed", (poses, results)
    assert results[0][:2] == ["liveness", "passed"], results
    mismatch = [r for r in results if r[0] == "face_match_document"]
    assert mismatch and mismatch[0][1] == "failed"
    assert mismatch[0][2] == "Match with the ID card photo: The face does not match our records."
    assert browser.execute_script("return document.body.dataset.step") == "liveness"
    if SCREENSHOTS:
        page.shots = Path(SCREENSHOTS)
        page.shot("7-other-person-refused")
