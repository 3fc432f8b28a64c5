"""Ports that queue into the outbox instead of leaving the process: an ``SmsSender``, a risk ``AlertSink`` and the
case notifier.

Their callers do not hand them a unit of work (``OtpService`` calls ``sender.send(to, body)``; the risk engine
calls ``sink.send(alert)``), so each writes into the outbox of the unit of work open on this thread, which commits
or rolls back with it. Called with none open (a caller that already committed), each opens a short unit of work of
its own: the message is still durable and retried, but no longer atomic with the caller's change. (Never call
them with none open while holding a raw SQLite transaction: the second writer would wait for the first.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict

from sqlalchemy import Connection

from idverify.risk.alerts import Alert
from idverify.storage.sql_outbox import SqlOutbox, current_outbox
from idverify.storage.unit_of_work import SqlUnitOfWork

UowFactory = Callable[[], SqlUnitOfWork]

RISK_ALERT = "risk.alert"
OTP_CODE = "otp.code"
COMPLETION_NOTICE = "verification.completed"


@contextmanager
def open_outbox(uow: UowFactory) -> Iterator[SqlOutbox]:
    """The current unit of work's outbox, or a new unit of work's (committed on exit)."""
    outbox = current_outbox()
    if outbox is not None:
        yield outbox
        return
    with uow() as own:
        yield own.outbox


class QueuedSmsSender:
    """An ``SmsSender`` whose ``send`` queues the text and returns its outbox message id.

    The provider is called later by the dispatcher, so ``send`` never fails for a provider outage: a code is
    committed as sent and its expiry bounds its life (see docs/webhooks.md, "SMS").
    """

    def __init__(self, uow: UowFactory, *, event_type: str, expires_in_s: int | None = None) -> None:
        self._uow = uow
        self._event_type = event_type
        self._expires_in_s = expires_in_s

    def send(self, to_e164: str, body: str) -> str:
        with open_outbox(self._uow) as outbox:
            return outbox.sms(to_e164, body, event_type=self._event_type, expires_in_s=self._expires_in_s)


class QueuedAlertSink:
    """A risk ``AlertSink``: a signed webhook to the ``risk`` endpoint when one is configured, else a log line;
    either way after the commit, and only if the verification's transaction commits."""

    def __init__(self, uow: UowFactory, *, webhook: bool) -> None:
        self._uow = uow
        self._webhook = webhook

    def send(self, alert: Alert) -> None:
        data = asdict(alert)
        with open_outbox(self._uow) as outbox:
            if self._webhook:
                outbox.webhook("risk", RISK_ALERT, data)
            else:
                outbox.log(RISK_ALERT, data)


class QueuedCaseNotifier:
    """Case events (``{"event": "case.opened", ...}``) as signed webhooks to the ``case`` endpoint, or log lines
    naming the case only (no applicant id in logs).

    ``conn``: the caller's transaction when it is not a unit of work (the case desk's own connections); the event
    is then queued on it through ``outbox_on`` and picked up at the dispatcher's next poll.
    """

    def __init__(self, uow: UowFactory, *, webhook: bool,
                 outbox_on: Callable[[Connection], SqlOutbox] | None = None) -> None:
        self._uow = uow
        self._webhook = webhook
        self._outbox_on = outbox_on

    def __call__(self, event: Mapping[str, object], conn: Connection | None = None) -> None:
        if conn is not None and self._outbox_on is not None:
            self._queue(self._outbox_on(conn), event)
            return
        with open_outbox(self._uow) as outbox:
            self._queue(outbox, event)

    def _queue(self, outbox: SqlOutbox, event: Mapping[str, object]) -> None:
        event_type = str(event["event"])
        if self._webhook:
            outbox.webhook("case", event_type, {k: v for k, v in event.items() if k != "event"})
        else:
            outbox.log(event_type, {"case_id": event.get("case_id", "")})
