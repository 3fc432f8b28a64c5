"""One server interceptor for every cross-cutting concern of an RPC, in this order: request id, caller
authentication, per-RPC role check, logging and metrics, and the mapping of errors to status codes.

Servicers therefore only convert messages and call use cases; they read the caller through ``current_caller()``.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from grpc_status import rpc_status
from prometheus_client import Counter, Histogram
from sqlalchemy.exc import DBAPIError, OperationalError

from idverify.domain.callers import Caller
from idverify.domain.errors import IdVerifyError, PermissionDenied, Unavailable
from idverify.logging_setup import REQUEST_FIELDS, rpc_line
from idverify.transport import malformed
from idverify.transport.auth import Authenticator, auth_context_of
from idverify.transport.errors import REASON_METADATA_KEY, internal_status, rich_status, status_code_for
from idverify.transport.metrics import record_error, record_factor_results
from idverify.transport.permissions import ALLOWED, PUBLIC_PREFIXES, STAFF_SIGN_IN
from idverify.transport.rpc_executor import awaited

log = structlog.get_logger("idverify.rpc")

RPCS = Counter("idverify_rpc_total", "RPCs handled", ["method", "code"])
LATENCY = Histogram(
    "idverify_rpc_seconds", "RPC handling time", ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("caller", default=None)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
REQUEST_ID_KEY = "x-request-id"

DeniedHook = Callable[[Caller | None, str, str], None]
#: Refusals that go to the audit trail (in a transaction of their own, since the refused action rolled back).
_AUDITED = frozenset({grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED})


def current_caller() -> Caller:
    caller = _caller.get()
    if caller is None:  # only public infrastructure RPCs run without one, and they never ask
        raise PermissionDenied("caller_missing", "no authenticated caller")
    return caller


def current_caller_or_none() -> Caller | None:
    return _caller.get()


def current_request_id() -> str:
    fields = REQUEST_FIELDS.get()
    return str(fields["request_id"]) if fields else ""


@dataclass(frozen=True)
class _Status(grpc.Status):  # type: ignore[misc]
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


class ServiceInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, authenticator: Authenticator, on_denied: DeniedHook | None = None, *,
                 client_certificates: bool = True) -> None:
        """``client_certificates``: whether callers may present a verified certificate (mutual TLS); without, the
        connection's auth context cannot name a caller and is not read (a third of an API key check's cost)."""
        self._auth = authenticator
        self._on_denied = on_denied or (lambda _caller, _method, _reason: None)
        self._peer = auth_context_of if client_certificates else _no_peer
        self._handlers: dict[str, tuple[grpc.RpcMethodHandler[Any, Any], grpc.RpcMethodHandler[Any, Any]]] = {}

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(details)
        if handler is None:
            return None
        method: str = details.method
        if method.startswith(PUBLIC_PREFIXES):
            return handler
        # The wrapped handler of a method is the same for every call: made once, not per request.
        cached = self._handlers.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap_handler(method, handler)
        self._handlers[method] = (handler, wrapped)
        return wrapped

    def _wrap_handler(self, method: str, handler: grpc.RpcMethodHandler[Any, Any]
                      ) -> grpc.RpcMethodHandler[Any, Any]:
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap(method, handler.unary_unary),
                request_deserializer=malformed.tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                self._wrap(method, handler.stream_unary, streaming=True),
                request_deserializer=malformed.tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return handler  # the contract has no server-streaming RPCs

    def _wrap(self, method: str, behaviour: Callable[[Any, grpc.ServicerContext], Any], *, streaming: bool = False
              ) -> Callable[[Any, grpc.ServicerContext], Any]:
        short = method.rsplit("/", 1)[-1]
        latency = LATENCY.labels(short)  # the method's metric children, looked up once
        counted: dict[grpc.StatusCode, Any] = {}
        allowed = ALLOWED.get(method)  # the method's rules, looked up once
        sign_in = method in STAFF_SIGN_IN
        peer = self._peer

        def wrapped(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            metadata = tuple(context.invocation_metadata() or ())
            supplied = next((v for k, v in metadata if k == "x-request-id"), "")
            request_id = supplied if isinstance(supplied, str) and _REQUEST_ID.fullmatch(supplied) else _new_id()
            # The request id travels back in the trailers, which go out with the status anyway: sending it as
            # initial metadata cost a batch of its own (about a tenth of a trivial RPC). Errors carry it too.
            echo = ((REQUEST_ID_KEY, request_id),)
            fields: dict[str, Any] = {"request_id": request_id, "rpc": short}  # on every log line of the request
            fields_token = REQUEST_FIELDS.set(fields)
            caller: Caller | None = None
            code = grpc.StatusCode.OK
            reason = ""
            try:
                try:
                    caller = self._auth.authenticate(metadata, peer(context))
                    if allowed is None or not caller.has_any(allowed):
                        raise PermissionDenied("role_not_allowed", "this caller's roles do not allow this call")
                    self._auth.require_staff_session(caller, allowed, sign_in=sign_in)
                    caller_token = _caller.set(caller)
                    fields["caller"] = caller.caller_id
                    try:
                        if streaming:
                            request = malformed.checked(awaited(request))
                        else:
                            malformed.refuse(request)
                        response = behaviour(request, context)
                        record_factor_results(response)
                        context.set_trailing_metadata(echo)
                        return response
                    finally:
                        _caller.reset(caller_token)
                except (OperationalError, DBAPIError) as exc:
                    # Adapters that manage their own transactions (OTP counters, the dispute desk) surface the
                    # driver's error; the database being away or locked is UNAVAILABLE, never INTERNAL.
                    if isinstance(exc, OperationalError) or exc.connection_invalidated:
                        raise Unavailable("storage_unavailable", "the database is not reachable") from exc
                    raise
            except IdVerifyError as err:
                code, reason = status_code_for(err), err.code
                if code in _AUDITED:
                    self._on_denied(caller, method, err.code)
                status = rich_status(err, _locale_of(request))
                base = rpc_status.to_status(status)
                context.abort_with_status(
                    _Status(base.code, base.details, (*base.trailing_metadata, (REASON_METADATA_KEY, err.code), *echo))
                )
                raise  # unreachable: abort_with_status raises
            except grpc.RpcError:
                raise
            except Exception:
                code_set = context.code()  # type: ignore[attr-defined]  # grpcio has it; the stubs lack it
                if code_set is not None and code_set != grpc.StatusCode.OK:
                    raise  # already aborted with a status of its own
                code, reason = grpc.StatusCode.INTERNAL, "internal_error"
                log.exception("rpc_failed", method=short, request_id=request_id)
                base = rpc_status.to_status(internal_status())
                context.abort_with_status(
                    _Status(base.code, base.details, (*base.trailing_metadata, (REASON_METADATA_KEY, reason), *echo))
                )
                raise
            finally:
                elapsed = time.perf_counter() - started
                counter = counted.get(code)
                if counter is None:
                    counter = counted[code] = RPCS.labels(short, code.name)
                counter.inc()
                latency.observe(elapsed)
                if reason:
                    record_error(short, reason)
                rpc_line(method=short, code=code.name, reason=reason, ms=round(elapsed * 1000, 2),
                         caller=caller.caller_id if caller else None, request_id=request_id, rpc=short)
                REQUEST_FIELDS.reset(fields_token)

        return wrapped


class _RequestIds:
    """Fresh request ids: 64 random bits drawn once per process, then a counter, 32 hex characters in all.

    Unique within a process by the counter and across processes and restarts by the random half. Not secrets: a
    request id only ties log lines to a call and is echoed to the caller. Drawing 128 random bits per RPC was a
    ``getrandom`` system call, which released and retook the interpreter lock mid-request (about five futex calls
    under load). A forked child draws its own prefix."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


_new_id = _RequestIds()


def _no_peer(_context: grpc.ServicerContext) -> dict[str, list[bytes]]:
    return {}


def _locale_of(request: Any) -> str:
    if isinstance(request, Iterator):
        return "zh-CN"
    ctx = getattr(request, "context", None)
    locale = getattr(ctx, "locale", "") if ctx is not None else ""
    return "en" if isinstance(locale, str) and locale.lower().startswith("en") else "zh-CN"
