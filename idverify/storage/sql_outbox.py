"""Writing side effects into the outbox, on the connection of the unit of work that caused them.

A message written here commits or rolls back with everything else the unit of work wrote: a rolled-back request
sends nothing, and a committed one is delivered after the commit by ``idverify.outbox.OutboxDispatcher`` (at least
once, under the same ``message_id`` every time).

SMS payloads (a phone number and a text that may hold a one-time code) are sealed with the field protector, bound
to the row's id; webhook payloads carry no personal data and are stored as the exact bytes that will be signed.

Ports whose callers hold no unit of work (``SmsSender``, the risk ``AlertSink``) reach the outbox of the unit of
work open on the current thread through :func:`current_outbox`; ``SqlUnitOfWork`` sets it while it is open.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import datetime, timedelta

from sqlalchemy import Connection

from idverify.domain.ports import Clock, FieldProtector, Random, SystemClock, SystemRandom
from idverify.storage.tables_outbox import outbox_messages

SMS = "sms"
WEBHOOK = "webhook"
LOG = "log"
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
MESSAGE_ID_PREFIX = "msg_"

_current: ContextVar[SqlOutbox | None] = ContextVar("idverify_outbox", default=None)


def current_outbox() -> SqlOutbox | None:
    """The outbox of the unit of work open on this thread (or task), if any."""
    return _current.get()


def sealing_aad(message_id: str) -> str:
    """Where a sealed payload belongs: copied to another row, it does not open."""
    return f"outbox_messages.payload.{message_id}"


def webhook_body(event_type: str, at: datetime, data: Mapping[str, object]) -> bytes:
    """The JSON body of a webhook: ``{"type", "timestamp", "data"}`` (the Standard Webhooks payload shape)."""
    envelope = {"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": dict(data)}
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class SqlOutbox:
    """The unit of work's ``outbox``. Each ``sms``/``webhook``/``log`` call inserts one row and returns its id."""

    def __init__(self, connection: Connection, protector: FieldProtector, *, clock: Clock | None = None,
                 random: Random | None = None, on_commit: Callable[[], None] | None = None) -> None:
        self._conn = connection
        self._protector = protector
        self._clock = clock or SystemClock()
        self._random = random or SystemRandom()
        self._on_commit = on_commit
        self.written = 0

    def sms(self, to_e164: str, body: str, *, event_type: str, expires_in_s: int | None = None) -> str:
        """Queue one text. ``expires_in_s``: past it the text is not sent at all (a code that expired)."""
        message_id = self._new_id()
        plain = json.dumps({"to": to_e164, "body": body}, ensure_ascii=False, separators=(",", ":"))
        sealed = self._protector.seal(plain, sealing_aad(message_id))
        self._insert(message_id, SMS, event_type, "", sealed, sealed=True, expires_in_s=expires_in_s)
        return message_id

    def webhook(self, endpoint: str, event_type: str, data: Mapping[str, object]) -> str:
        """Queue one signed POST to the receiver configured as ``endpoint`` ("risk", "case")."""
        message_id = self._new_id()
        body = webhook_body(event_type, self._clock.now(), data)
        self._insert(message_id, WEBHOOK, event_type, endpoint, body, sealed=False)
        return message_id

    def log(self, event_type: str, data: Mapping[str, object]) -> str:
        """Queue a structured log line, written after the commit (where no receiver is configured)."""
        message_id = self._new_id()
        self._insert(message_id, LOG, event_type, "", webhook_body(event_type, self._clock.now(), data), sealed=False)
        return message_id

    def sms_sender(self, event_type: str, *, expires_in_s: int | None = None) -> OutboxSmsWriter:
        """This outbox as an ``SmsSender`` (for ``OtpService.using``): ``send`` queues and returns the message id."""
        return OutboxSmsWriter(self, event_type, expires_in_s)

    def committed(self) -> None:
        """Called by the unit of work after its commit: wake the dispatcher when something was queued."""
        if self.written and self._on_commit is not None:
            self._on_commit()

    def activate(self) -> Callable[[], None]:
        """Make this the thread's current outbox; returns the function that restores the previous one."""
        token = _current.set(self)

        def restore() -> None:
            # Closed from another thread or task, the reset fails: that context never saw this outbox anyway.
            with contextlib.suppress(ValueError):
                _current.reset(token)

        return restore

    def _new_id(self) -> str:
        return MESSAGE_ID_PREFIX + self._random.token_bytes(16).hex()

    def _insert(self, message_id: str, channel: str, event_type: str, endpoint: str, payload: bytes, *,
                sealed: bool, expires_in_s: int | None = None) -> None:
        now = self._clock.now()
        self._conn.execute(outbox_messages.insert().values(
            message_id=message_id, channel=channel, event_type=event_type, endpoint=endpoint, payload=payload,
            sealed=sealed, status=PENDING, attempts=0, created_at=now, next_attempt_at=now,
            expires_at=None if expires_in_s is None else now + timedelta(seconds=expires_in_s),
            claim_token=None, last_error="", finished_at=None, provider_id=""))
        self.written += 1


class OutboxSmsWriter:
    """An ``SmsSender`` that queues into one outbox: what ``OtpService.using(..., sender=...)`` takes."""

    def __init__(self, outbox: SqlOutbox, event_type: str, expires_in_s: int | None) -> None:
        self._outbox = outbox
        self._event_type = event_type
        self._expires_in_s = expires_in_s

    def send(self, to_e164: str, body: str) -> str:
        return self._outbox.sms(to_e164, body, event_type=self._event_type, expires_in_s=self._expires_in_s)
