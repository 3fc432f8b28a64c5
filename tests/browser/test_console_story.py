"""The staff console in a real browser (Debian's Chromium through Selenium): a consumer reports a loan they never
applied for through the lender's app; a support agent signs in with their own key and authenticator, opens the
case with a stated purpose, sees the signed timeline and resolves it; a linked staff member is refused the
unfreeze approval; a second staff member approves it; the agent carries it out; an analyst searches the audit
trail with a purpose. Every page is checked for labels and keyboard reach, and photographed.

Screenshots go to a temporary folder, or to ``IDVERIFY_SCREENSHOTS_DIR`` (docs/screenshots when regenerating).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest

from idverify.api.v1 import case_pb2, case_pb2_grpc
from idverify.console.server import ConsoleServer, console_app
from idverify.console.settings import ConsoleSettings
from tests.console.conftest import auditor, code_at, enroll, staff_running
from tests.console.pages import reported_case
from tests.transport.conftest import Running

pytestmark = pytest.mark.browser
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _need(condition: bool, reason: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(reason + "; CI installs it (scripts/test-deps.sh)")
    pytest.skip(reason)


def _gone(node: Any) -> bool:
    """Whether ``node`` left the document (the page it belonged to was replaced). Chromium 156 answers a detached
    node with "does not belong to the document" rather than a stale-element error, so both count."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        node.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as err:
        if "does not belong to the document" in str(err):
            return True
        raise
    return False


@dataclass
class Stage:
    running: Running
    base: str
    driver: Any
    shots: Path

    def go(self, path: str) -> None:
        self.driver.get(self.base + path)

    def by_id(self, element_id: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, element_id)

    def click(self, element: Any) -> None:
        """Click and wait for the next page (every action here navigates: forms post, then redirect)."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        page = self.driver.find_element("tag name", "html")
        for attempt in range(3):
            target = self.by_id(element) if isinstance(element, str) else element
            try:
                target.click()
                break
            except StaleElementReferenceException:
                # The page replaced the node between finding and clicking it (a timer redraw on a loaded host):
                # find it again by id, when the caller gave one.
                if not isinstance(element, str) or attempt == 2:
                    raise
                page = self.driver.find_element("tag name", "html")
            except WebDriverException as err:
                # Chromium reports the node gone when the click itself started the navigation (a form submitted
                # before the driver finished): the click happened; wait for the next page below.
                if "does not belong to the document" not in str(err):
                    raise
                break
        WebDriverWait(self.driver, 20).until(lambda _d: _gone(page))
        WebDriverWait(self.driver, 20).until(
            lambda d: d.execute_script("return document.readyState") == "complete")

    def type_into(self, element_id: str, value: str) -> None:
        field = self.by_id(element_id)
        field.clear()
        field.send_keys(value)

    def shoot(self, name: str) -> None:
        self.check_page()
        self.driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
        height = self.driver.execute_script("return document.documentElement.scrollHeight;")
        self.driver.set_window_size(1280, max(700, min(int(height) + 140, 2400)))
        self.driver.save_screenshot(str(self.shots / f"console-{name}.png"))
        self.driver.set_window_size(1280, 1000)

    def check_page(self) -> None:
        """Every visible control has a label, and Tab reaches every link, button and control in turn."""
        unlabelled = self.driver.execute_script(
            "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
            ".filter(e => e.labels.length === 0).map(e => e.name || e.id);")
        assert unlabelled == [], unlabelled
        from selenium.webdriver.common.keys import Keys

        focusable = self.driver.execute_script(
            "return [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')]"
            ".filter(e => !e.disabled && e.offsetParent !== null).length;")
        self.driver.execute_script("document.activeElement && document.activeElement.blur(); window.focus();")
        body = self.driver.find_element("tag name", "body")
        body.send_keys(Keys.TAB)  # the skip link first: it is shown on focus
        reached = set()
        for _ in range(focusable + 2):
            reached.add(self.driver.execute_script(
                "const e = document.activeElement; return e ? (e.id || e.name || e.getAttribute('href') || "
                "e.textContent.trim()) + '|' + [...document.querySelectorAll('*')].indexOf(e) : '';"))
            self.driver.switch_to.active_element.send_keys(Keys.TAB)
        assert len(reached) >= focusable, (len(reached), focusable)

    def sign_in(self, role: str, totp: pyotp.TOTP, step: int) -> None:
        self.go("/sign-in")
        self.type_into("api_key", self.running.keys[role])
        self.type_into("code", code_at(totp, step))
        self.click("sign-in")
        assert self.by_id("staff-id").text == f"dev-{role}"

    def sign_out(self) -> None:
        self.click("sign-out")
        assert self.driver.current_url.endswith("/sign-in")

    def flash(self) -> str:
        from selenium.webdriver.common.by import By

        return " ".join(e.text for e in self.driver.find_elements(By.CSS_SELECTOR, ".flash"))


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[Stage]:
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    _need(chromium is not None and driver_path is not None, "chromium and chromedriver are not installed")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _need(False, "selenium is not installed (pip install -e '.[dev]')")
        raise
    shots = Path(os.environ.get("IDVERIFY_SCREENSHOTS_DIR", "") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    with staff_running(tmp_path / "service") as running:  # staff keys alone only sign in, as in production
        settings = ConsoleSettings(address="127.0.0.1:0", service_target=f"127.0.0.1:{running.app.grpc.port}")
        server = ConsoleServer(console_app(settings, running.channel), settings)
        server.start()
        options = webdriver.ChromeOptions()
        options.binary_location = str(chromium)
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1000", f"--user-data-dir={tmp_path / 'profile'}", "--lang=en-US"):
            options.add_argument(flag)
        drv = webdriver.Chrome(options=options, service=Service(executable_path=str(driver_path),
                                                                log_output=str(tmp_path / "chromedriver.log")))
        drv.set_page_load_timeout(30)
        try:
            yield Stage(running, f"http://127.0.0.1:{server.port}", drv, shots)
        finally:
            drv.quit()
            server.stop()


def test_a_consumer_report_is_worked_to_a_resolved_case_and_lifted_freeze(stage: Stage) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    running = stage.running
    # The consumer reports through the lender's app (gRPC ReportUnauthorizedApplication, app_backend key).
    case = reported_case(running)
    analyst, admin = enroll(running, "risk_analyst"), enroll(running, "admin")

    # The support agent enrols their own authenticator with their own key, then signs in with it, in English.
    stage.go("/locale?to=en&next=/enroll")
    stage.type_into("api_key", running.keys["support"])
    stage.shoot("enroll")  # before submitting: the page then shows a secret
    stage.click("enroll")
    agent = pyotp.parse_uri(stage.by_id("provisioning-uri").text)
    stage.go("/sign-in")
    stage.shoot("sign-in")
    stage.sign_in("support", agent, 0)
    stage.go("/cases")
    assert case.case_id in stage.by_id("case-queue").text
    stage.shoot("queue")
    stage.click(stage.driver.find_element("link text", case.case_id))
    stage.shoot("purpose")
    stage.type_into("purpose", "customer call: loan never applied for")
    stage.click("open-case")
    assert stage.by_id("signature-status").get_attribute("data-valid") == "true"
    browser_check = stage.by_id("browser-signature-status")  # WebCrypto Ed25519, in the page itself
    WebDriverWait(stage.driver, 10).until(lambda d: browser_check.get_attribute("data-valid") != "pending")
    assert browser_check.get_attribute("data-valid") == "true", browser_check.text
    timeline = stage.by_id("timeline").text
    assert "sms_otp: passed" in timeline and "Token revoked" in timeline and "case.open" in timeline
    stage.shoot("case")
    # The in-browser check can fail: one changed character of the signed payload is caught.
    stage.driver.execute_script(
        "const el = document.getElementById('browser-signature-status'); const [h, p, s] = "
        "el.getAttribute('data-jws').split('.'); const c = p[5] === 'A' ? 'B' : 'A'; "
        "el.setAttribute('data-jws', [h, p.slice(0, 5) + c + p.slice(6), s].join('.')); "
        "el.setAttribute('data-valid', 'pending'); window.idverifyCheckEvidence();")
    WebDriverWait(stage.driver, 10).until(lambda d: browser_check.get_attribute("data-valid") != "pending")
    assert browser_check.get_attribute("data-valid") == "false"
    stage.click("resolve-fraud")
    assert "resolved" in stage.flash().lower()
    assert stage.by_id("case-state").text == "Resolved: fraud confirmed"

    # The agent asks for the freeze to be lifted; they cannot approve it themselves.
    stage.go("/freeze")
    stage.type_into("unfreeze-applicant", "acct-1")
    stage.type_into("unfreeze-reason", "fraud confirmed, loan cancelled")
    stage.click("request-unfreeze")
    assert "requested" in stage.flash()
    stage.shoot("freeze")
    stage.sign_out()

    # The administrator declares that the analyst is the applicant's relative.
    stage.sign_in("admin", admin, 0)
    stage.go("/links")
    stage.type_into("links-staff", "dev-risk_analyst")
    stage.type_into("links-applicants", "acct-1")
    stage.type_into("links-relation", "family")
    stage.shoot("links")
    stage.click("declare-links")
    assert "1 links recorded" in stage.flash()
    stage.sign_out()

    # The linked analyst is refused by the service when approving.
    stage.sign_in("risk_analyst", analyst, 0)
    stage.go("/approvals")
    stage.click(stage.driver.find_element("css selector", "button.approve"))
    assert "staff_linked_to_applicant" in stage.flash()
    stage.shoot("approvals-refused")
    stage.sign_out()

    # A second, unlinked staff member approves; the agent carries it out.
    stage.sign_in("admin", admin, 1)
    stage.go("/approvals")
    stage.shoot("approvals")
    stage.click(stage.driver.find_element("css selector", "button.approve"))
    assert "decided" in stage.flash()
    stage.sign_out()
    stage.sign_in("support", agent, 1)
    stage.go("/approvals?scope=mine")
    stage.click(stage.driver.find_element("css selector", "button.execute"))
    assert "unfrozen" in stage.flash()
    stage.shoot("approvals-mine")
    stage.sign_out()

    # The analyst searches the audit trail, stating why; the search is audited too.
    stage.sign_in("risk_analyst", analyst, 1)
    stage.go("/audit")
    stage.type_into("audit-purpose", "insider review of acct-1's unfreeze")
    stage.type_into("audit-action", "approval.approve")
    stage.click("audit-search")
    results = stage.by_id("audit-results").text
    assert "dev-admin" in results and "approval.approve" in results
    stage.shoot("audit")
    stage.go("/locale?to=zh-CN&next=/cases?state=all")
    assert "案件队列" in stage.driver.page_source
    stage.shoot("queue-zh")

    freeze = case_pb2_grpc.CaseServiceStub(running.channel).ListCases(
        case_pb2.ListCasesRequest(state="all"), metadata=auditor(running)).cases
    assert [(c.case_id, c.state) for c in freeze] == [(case.case_id, "resolved_fraud_confirmed")]
