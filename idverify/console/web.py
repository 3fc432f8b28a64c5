"""The console's pages. Each handler reads the signed-in staff member's session, makes the gRPC calls a page
needs with that staff member's credential, and renders a template; every POST checks the session's CSRF token
and answers with a redirect (post/redirect/get). Refusals from the service are shown by reason code."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from idverify.console.i18n import pick_locale, reason_text, text
from idverify.console.security import BodyLimit, SecurityHeaders
from idverify.console.service import ServiceClient, ServiceError, StaffCalls
from idverify.console.sessions import ConsoleSession, SessionStore
from idverify.console.views import case_row, timeline_of

_HERE = Path(__file__).parent
LANG_COOKIE = "idv_lang"
PRE_COOKIE = "idv_pre"


@dataclass(frozen=True)
class ConsoleConfig:
    secure_cookies: bool = False
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @property
    def session_cookie(self) -> str:
        # The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and Path=/.
        return "__Host-idv_session" if self.secure_cookies else "idv_session"


class Console:
    def __init__(self, client: ServiceClient, store: SessionStore, config: ConsoleConfig) -> None:
        self.client, self.store, self.config = client, store, config
        # Autoescaping everywhere: every value on a page came from a request or the service.
        self.templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(_HERE / "templates"),
                                                         autoescape=True))

    # -- plumbing -------------------------------------------------------------------------------------------------
    def locale(self, request: Request) -> str:
        return pick_locale(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language", ""))

    def session(self, request: Request) -> tuple[str | None, ConsoleSession | None]:
        sid = request.cookies.get(self.config.session_cookie)
        return sid, self.store.get(sid, self.config.clock())

    def render(self, request: Request, name: str, session: ConsoleSession | None, status: int = 200,
               **context: Any) -> Response:
        locale = self.locale(request)
        flashes = list(session.flashes) if session is not None else []
        if session is not None:
            session.flashes.clear()
        values = {"request": request, "locale": locale, "session": session, "flashes": flashes,
                  "t": lambda key, **kw: text(key, locale, **kw), "reason": lambda c: reason_text(c, locale),
                  "path": request.url.path, "now": self.config.clock(), **context}
        response: Response = self.templates.TemplateResponse(request, name, values, status_code=status)
        return response

    def sign_in_redirect(self, request: Request, expired: bool = False) -> Response:
        response = RedirectResponse("/sign-in" + ("?expired=1" if expired else ""), status_code=303)
        response.delete_cookie(self.config.session_cookie, path="/")
        return response

    def refused(self, request: Request, session: ConsoleSession, err: ServiceError, back: str) -> Response:
        """A refused POST: back to the page with the reason shown, or to sign-in when the session is gone."""
        if err.status == "UNAUTHENTICATED":
            self.store.drop(request.cookies.get(self.config.session_cookie))
            return self.sign_in_redirect(request, expired=True)
        locale = self.locale(request)
        session.flashes.append(("error", f"{reason_text(err.reason, locale)} ({err.reason or err.status})"))
        return RedirectResponse(back, status_code=303)

    def error_page(self, request: Request, session: ConsoleSession, err: ServiceError) -> Response:
        if err.status == "UNAUTHENTICATED":
            self.store.drop(request.cookies.get(self.config.session_cookie))
            return self.sign_in_redirect(request, expired=True)
        status = {"PERMISSION_DENIED": 403, "NOT_FOUND": 404, "INVALID_ARGUMENT": 400}.get(err.status, 409)
        return self.render(request, "error.html", session, status=status, error=err)

    def set_cookie(self, response: Response, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
                            secure=self.config.secure_cookies)


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/cases"


def _field(form: FormData, name: str, limit: int = 256) -> str:
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def build_app(client: ServiceClient, store: SessionStore | None = None,
              config: ConsoleConfig | None = None) -> Starlette:
    console = Console(client, store or SessionStore(), config or ConsoleConfig())

    def page(handler: Callable[[Request, ConsoleSession, StaffCalls], Response]
             ) -> Callable[[Request], Response]:
        """A page for signed-in staff; POSTs must carry the session's CSRF token."""

        async def endpoint(request: Request) -> Response:
            _sid, session = console.session(request)
            if session is None:
                return console.sign_in_redirect(request, expired=request.cookies.get(
                    console.config.session_cookie) is not None)
            if request.method == "POST":
                form = await request.form()
                request.state.form = form
                if not session.csrf_ok(_field(form, "csrf", 128)):
                    return console.render(request, "error.html", session, status=403, csrf_failed=True)
            response: Response = await _run_sync(handler, request, session, client.session(session.credential))
            return response

        return endpoint  # type: ignore[return-value]

    # -- sign-in, enrolment, sign-out, language -------------------------------------------------------------------
    async def sign_in_form(request: Request) -> Response:
        pre = secrets.token_urlsafe(24)
        response = console.render(request, "sign_in.html", None, pre=pre,
                                  expired=request.query_params.get("expired") == "1")
        console.set_cookie(response, PRE_COOKIE, pre, max_age=900)
        return response

    async def sign_in(request: Request) -> Response:
        form = await request.form()
        pre = request.cookies.get(PRE_COOKIE, "")
        if not pre or not secrets.compare_digest(pre, _field(form, "csrf", 128)):
            return console.render(request, "error.html", None, status=403, csrf_failed=True)
        api_key, code = _field(form, "api_key", 512), _field(form, "code", 16)
        try:
            started = await _run_sync(lambda: client.start_session(api_key, code))
        except ServiceError as err:
            return console.render(request, "sign_in.html", None, status=401, pre=pre, error=err)
        now = console.config.clock()
        session = ConsoleSession(staff_id=started.staff_id, roles=frozenset(started.roles),
                                 credential=started.session_credential,
                                 expires_at=started.expires_at.ToDatetime(tzinfo=UTC), last_seen=now)
        response = RedirectResponse("/cases", status_code=303)
        console.set_cookie(response, console.config.session_cookie, console.store.create(session))
        response.delete_cookie(PRE_COOKIE, path="/")
        return response

    async def enroll_form(request: Request) -> Response:
        pre = secrets.token_urlsafe(24)
        response = console.render(request, "enroll.html", None, pre=pre)
        console.set_cookie(response, PRE_COOKIE, pre, max_age=900)
        return response

    async def enroll(request: Request) -> Response:
        form = await request.form()
        pre = request.cookies.get(PRE_COOKIE, "")
        if not pre or not secrets.compare_digest(pre, _field(form, "csrf", 128)):
            return console.render(request, "error.html", None, status=403, csrf_failed=True)
        api_key = _field(form, "api_key", 512)
        try:
            uri = await _run_sync(lambda: client.enroll_totp(api_key))
        except ServiceError as err:
            return console.render(request, "enroll.html", None, status=400, pre=pre, error=err)
        return console.render(request, "enroll.html", None, pre=pre, uri=uri)

    def sign_out(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        with contextlib.suppress(ServiceError):  # the service's may have expired; the console's ends either way
            calls.end_session()
        console.store.drop(request.cookies.get(console.config.session_cookie))
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(console.config.session_cookie, path="/")
        return response

    async def switch_locale(request: Request) -> Response:
        wanted = request.query_params.get("to", "")
        response = RedirectResponse(_safe_next(request.query_params.get("next", "/cases")), status_code=303)
        if wanted in ("zh-CN", "en"):
            console.set_cookie(response, LANG_COOKIE, wanted, max_age=365 * 86400)
        return response

    # -- the case queue and the case page -------------------------------------------------------------------------
    def queue(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        q = request.query_params
        filters = {"state": q.get("state", "open")[:32], "overdue_only": q.get("overdue") == "1",
                   "applicant_id": q.get("applicant", "")[:128].strip()}
        try:
            listed = calls.list_cases(**filters, page_token=q.get("page", "")[:512], page_size=50)
        except ServiceError as err:
            return console.error_page(request, session, err)
        now = console.config.clock()
        return console.render(request, "queue.html", session, filters=filters,
                              cases=[case_row(c, now) for c in listed.cases], next_page=listed.next_page_token)

    def case_page(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        case_id = request.path_params["case_id"]
        purpose = request.query_params.get("purpose", "").strip()[:256]
        if not purpose:
            return console.render(request, "purpose.html", session, case_id=case_id)
        try:
            case = calls.get_case(case_id, purpose)
        except ServiceError as err:
            return console.error_page(request, session, err)
        evidence = None
        if session.roles & {"support", "admin"}:  # ExportEvidence's roles; analysts read the case alone
            try:
                exported = calls.export_evidence(case_id, purpose)
                evidence = timeline_of(exported.signed_bundle, calls.jwks())
            except ServiceError as err:
                session.flashes.append(("error", f"{reason_text(err.reason, console.locale(request))} "
                                                 f"({err.reason})"))
        return console.render(request, "case.html", session, case=case_row(case, console.config.clock()),
                              purpose=purpose, evidence=evidence)

    def evidence_download(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        case_id = request.path_params["case_id"]
        purpose = request.query_params.get("purpose", "").strip()[:256]
        try:
            exported = calls.export_evidence(case_id, purpose)
        except ServiceError as err:
            return console.error_page(request, session, err)
        safe = "".join(ch for ch in case_id if ch.isalnum() or ch in "-_")
        return Response(exported.signed_bundle, media_type="application/jose", headers={
            "content-disposition": f'attachment; filename="evidence-{safe}.jws"'})

    def resolve(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        form, case_id = request.state.form, request.path_params["case_id"]
        back = f"/cases/{case_id}?purpose={_field(form, 'purpose')}"
        try:
            calls.resolve_case(case_id=case_id, fraud_confirmed=True, outcome=_field(form, "outcome", 64))
        except ServiceError as err:
            return console.refused(request, session, err, back)
        session.flashes.append(("ok", text("flash.resolved", console.locale(request))))
        return RedirectResponse(back, status_code=303)

    def request_approval(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        form = request.state.form
        back = _safe_next(_field(form, "back", 512))
        try:
            applicant = _field(form, "applicant_id")
            made = calls.request_approval(action=_field(form, "action", 48),
                                          object_id=_field(form, "object_id") or applicant,  # unfreeze: the applicant
                                          applicant_id=applicant, reason=_field(form, "reason"))
        except ServiceError as err:
            return console.refused(request, session, err, back)
        session.flashes.append(("ok", text("flash.requested", console.locale(request), id=made.approval_id)))
        return RedirectResponse(back, status_code=303)

    # -- approvals ------------------------------------------------------------------------------------------------
    def approvals(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        scope = "mine" if request.query_params.get("scope") == "mine" else "to_decide"
        try:
            listed = calls.list_approvals(scope=scope, page_token=request.query_params.get("page", "")[:512])
        except ServiceError as err:
            return console.error_page(request, session, err)
        return console.render(request, "approvals.html", session, scope=scope, approvals=listed.approvals,
                              next_page=listed.next_page_token)

    def decide(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        form, approval_id = request.state.form, request.path_params["approval_id"]
        try:
            calls.decide_approval(approval_id, approve=_field(form, "decision") == "approve")
        except ServiceError as err:
            return console.refused(request, session, err, "/approvals")
        session.flashes.append(("ok", text("flash.decided", console.locale(request), id=approval_id)))
        return RedirectResponse("/approvals", status_code=303)

    def execute(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        """The requester carries out an approved action; the service checks the approval is for exactly it."""
        form, approval_id = request.state.form, request.path_params["approval_id"]
        action, object_id = _field(form, "action", 48), _field(form, "object_id")
        locale = console.locale(request)
        try:
            if action == "unfreeze_identity":
                calls.unfreeze(object_id, approval_id)
                session.flashes.append(("ok", text("flash.unfrozen", locale)))
            elif action == "resolve_case_not_fraud":
                calls.resolve_case(case_id=object_id, fraud_confirmed=False, outcome="no_action",
                                   approval_id=approval_id)
                session.flashes.append(("ok", text("flash.resolved", locale)))
        except ServiceError as err:
            return console.refused(request, session, err, "/approvals?scope=mine")
        return RedirectResponse("/approvals?scope=mine", status_code=303)

    # -- freeze, audit search, staff links ------------------------------------------------------------------------
    def freeze_page(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        return console.render(request, "freeze.html", session)

    def freeze(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        form = request.state.form
        try:
            calls.freeze(_field(form, "applicant_id", 128), _field(form, "reason", 64))
        except ServiceError as err:
            return console.refused(request, session, err, "/freeze")
        session.flashes.append(("ok", text("flash.frozen", console.locale(request))))
        return RedirectResponse("/freeze", status_code=303)

    def audit(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        q = request.query_params
        filters = {k: q.get(k, "").strip()[:256] for k in ("purpose", "object_id", "actor", "action")}
        events, older, error = None, 0, None
        if "purpose" in q:
            try:
                before = int(q.get("before", "0") or 0)
            except ValueError:
                before = 0
            try:
                found = calls.search_audit(**filters, before_seq=before, page_size=50)
                events, older = found.events, found.next_before_seq
            except ServiceError as err:
                if err.status == "UNAUTHENTICATED":
                    return console.error_page(request, session, err)
                error = err
        return console.render(request, "audit.html", session, filters=filters, events=events, older=older,
                              error=error, status=400 if error is not None else 200)

    def links_page(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        return console.render(request, "links.html", session)

    def links(request: Request, session: ConsoleSession, calls: StaffCalls) -> Response:
        form = request.state.form
        try:
            recorded = calls.declare_staff_links(
                staff_id=_field(form, "staff_id", 128), relation=_field(form, "relation", 32),
                related_applicant_ids=_csv(_field(form, "applicants", 4000)),
                phones_e164=_csv(_field(form, "phones", 4000)), device_ids=_csv(_field(form, "devices", 4000)))
        except ServiceError as err:
            return console.refused(request, session, err, "/links")
        session.flashes.append(("ok", text("flash.links", console.locale(request), n=recorded)))
        return RedirectResponse("/links", status_code=303)

    async def home(request: Request) -> Response:
        return RedirectResponse("/cases", status_code=303)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def not_found(request: Request, exc: Exception) -> Response:
        _sid, session = console.session(request)
        return console.render(request, "error.html", session, status=404, not_found=True)

    routes = [
        Route("/", home), Route("/healthz", healthz),
        Route("/sign-in", sign_in_form, methods=["GET"]), Route("/sign-in", sign_in, methods=["POST"]),
        Route("/enroll", enroll_form, methods=["GET"]), Route("/enroll", enroll, methods=["POST"]),
        Route("/sign-out", page(sign_out), methods=["POST"]),
        Route("/locale", switch_locale, methods=["GET"]),
        Route("/cases", page(queue), methods=["GET"]),
        Route("/cases/{case_id}", page(case_page), methods=["GET"]),
        Route("/cases/{case_id}/evidence.jws", page(evidence_download), methods=["GET"]),
        Route("/cases/{case_id}/resolve", page(resolve), methods=["POST"]),
        Route("/approvals", page(approvals), methods=["GET"]),
        Route("/approvals/request", page(request_approval), methods=["POST"]),
        Route("/approvals/{approval_id}/decide", page(decide), methods=["POST"]),
        Route("/approvals/{approval_id}/execute", page(execute), methods=["POST"]),
        Route("/freeze", page(freeze_page), methods=["GET"]), Route("/freeze", page(freeze), methods=["POST"]),
        Route("/audit", page(audit), methods=["GET"]),
        Route("/links", page(links_page), methods=["GET"]), Route("/links", page(links), methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found})
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders, hsts=console.config.secure_cookies)  # outermost: headers on 413s too
    return app


async def _run_sync(function: Callable[..., Any], *args: Any) -> Any:
    """gRPC calls block; run them on Starlette's thread pool so the event loop keeps serving."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, *args)
