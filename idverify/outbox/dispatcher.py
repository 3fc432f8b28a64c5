"""Delivers committed outbox rows: worker threads in the server process, started and stopped by the App.

Each worker claims one due row at a time (with a lease, see :mod:`idverify.outbox.queue`), delivers it outside any
transaction, then records the outcome. A failure is retried with exponential backoff (``base * 2**(n-1)``, capped,
plus up to 10% jitter so a receiver that comes back is not hit by every replica at once); after ``max_attempts``
tries, or at once for a failure that retrying cannot fix, the row becomes a dead letter. A message past its
``expires_at`` (an SMS code that expired) is dead-lettered unsent. Delivery is at least once: a crash between the
send and the record sends again under the same message id when the lease ends.

Units of work wake the workers after a commit that queued something, so a code usually leaves within
milliseconds; workers also poll every ``poll_s`` for retries that fell due and rows other replicas queued.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from prometheus_client import Counter, Gauge

from idverify.domain.ports import Clock, Random
from idverify.outbox.deliveries import Delivery, DeliveryFailed
from idverify.outbox.queue import ClaimedMessage, SqlOutboxQueue

log = structlog.get_logger("idverify.outbox")

DELIVERED = Counter("idverify_outbox_delivered_total", "Outbox messages delivered", ["channel", "event_type"])
RETRIED = Counter("idverify_outbox_retried_total", "Outbox delivery attempts that failed and will be retried",
                  ["channel", "event_type", "reason"])
DEAD_LETTERED = Counter("idverify_outbox_dead_lettered_total", "Outbox messages given up on",
                        ["channel", "event_type", "reason"])
# Every process reads the same table, so `serve --workers N` reports the largest live value, not a sum.
DEPTH = Gauge("idverify_outbox_queue_depth", "Outbox messages waiting for delivery (all replicas)",
              multiprocess_mode="livemax")
OLDEST_AGE = Gauge("idverify_outbox_oldest_age_seconds", "Age of the oldest undelivered outbox message",
                   multiprocess_mode="livemax")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` tries in all; the wait after the n-th failure is ``min(max_s, base_s * 2**(n-1))``."""

    max_attempts: int = 15
    base_s: float = 5.0
    max_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_s <= 0 or self.max_s < self.base_s:
            raise ValueError("max_attempts >= 1 and 0 < base_s <= max_s")

    def delay_s(self, failures: int) -> float:
        return float(min(self.max_s, self.base_s * 2 ** min(failures - 1, 62)))

    def schedule(self) -> list[float]:
        """The waits between the tries, without jitter (for the documentation and start-up log)."""
        return [self.delay_s(n) for n in range(1, self.max_attempts)]


class OutboxDispatcher:
    def __init__(
        self,
        queue: SqlOutboxQueue,
        deliveries: Mapping[str, Delivery],
        *,
        clock: Clock,
        random: Random,
        retry: RetryPolicy | None = None,
        workers: int = 2,
        poll_s: float = 1.0,
        lease_s: float = 60.0,
        keep_delivered_s: float = 7 * 86400.0,
    ) -> None:
        self._queue = queue
        self._deliveries = dict(deliveries)
        self._clock = clock
        self._random = random
        self.retry = retry or RetryPolicy()
        self._workers = workers
        self._poll_s = poll_s
        self._lease_s = lease_s
        self._keep_delivered_s = keep_delivered_s
        self._wake = threading.Condition()
        self._wakeups = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_housekeeping: datetime | None = None

    def wake(self) -> None:
        """Something was committed to the outbox: let a waiting worker look now."""
        with self._wake:
            self._wakeups += 1
            self._wake.notify_all()

    def run_once(self) -> bool:
        """Claim and handle one due message; False when none was due."""
        token = self._random.token_bytes(16).hex()
        claimed = self._queue.claim(now=self._clock.now(), lease_s=self._lease_s, token=token)
        for message in claimed:
            self._handle(message)
        return bool(claimed)

    def drain(self, limit: int = 10_000) -> int:
        """Handle due messages until none is left (or ``limit``); returns how many were handled."""
        handled = 0
        while handled < limit and self.run_once():
            handled += 1
        return handled

    def _handle(self, message: ClaimedMessage) -> None:
        labels = (message.channel, message.event_type)
        now = self._clock.now()
        if message.expires_at is not None and now >= message.expires_at:
            self._dead(message, "expired", now)
            return
        delivery = self._deliveries.get(message.channel)
        try:
            if delivery is None:
                raise DeliveryFailed("channel_not_configured", retryable=False)
            provider_id = delivery.deliver(message)
        except DeliveryFailed as failed:
            self._failed(message, failed)
            return
        except Exception:  # a bug in a delivery must not stop the dispatcher; the row is retried
            log.exception("outbox_delivery_error", message_id=message.message_id, channel=message.channel)
            self._failed(message, DeliveryFailed("delivery_error"))
            return
        if self._queue.delivered(message, now=self._clock.now(), provider_id=provider_id):
            DELIVERED.labels(*labels).inc()
            log.info("outbox_delivered", message_id=message.message_id, channel=message.channel,
                     event_type=message.event_type, attempt=message.attempts)
        else:
            log.warning("outbox_claim_lost", message_id=message.message_id, channel=message.channel)

    def _failed(self, message: ClaimedMessage, failed: DeliveryFailed) -> None:
        now = self._clock.now()
        if not failed.retryable or message.attempts >= self.retry.max_attempts:
            self._dead(message, failed.reason, now)
            return
        delay = self.retry.delay_s(message.attempts)
        delay += delay * self._random.randbelow(101) / 1000  # up to 10% jitter
        at = now + timedelta(seconds=delay)
        if self._queue.retry(message, at=at, error=failed.reason):
            RETRIED.labels(message.channel, message.event_type, failed.reason).inc()
            log.warning("outbox_retry_scheduled", message_id=message.message_id, channel=message.channel,
                        event_type=message.event_type, attempt=message.attempts, reason=failed.reason,
                        retry_in_s=round(delay, 1))

    def _dead(self, message: ClaimedMessage, reason: str, now: datetime) -> None:
        if self._queue.dead(message, now=now, error=reason):
            DEAD_LETTERED.labels(message.channel, message.event_type, reason).inc()
            log.error("outbox_dead_letter", message_id=message.message_id, channel=message.channel,
                      event_type=message.event_type, attempts=message.attempts, reason=reason)

    def refresh_metrics(self) -> None:
        depth = self._queue.depth(self._clock.now())
        DEPTH.set(depth.pending)
        OLDEST_AGE.set(depth.oldest_age_s)

    def _housekeeping(self) -> None:
        """Gauges every poll; delivered rows older than ``keep_delivered_s`` purged hourly."""
        now = self._clock.now()
        self.refresh_metrics()
        if self._last_housekeeping is None or now - self._last_housekeeping >= timedelta(hours=1):
            self._last_housekeeping = now
            purged = self._queue.purge_finished(now - timedelta(seconds=self._keep_delivered_s))
            if purged:
                log.info("outbox_purged", rows=purged)

    def start(self) -> None:
        self._stopping.clear()
        for n in range(self._workers):
            thread = threading.Thread(target=self._work, args=(n == 0,), name=f"outbox-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("outbox_dispatcher_started", workers=self._workers, max_attempts=self.retry.max_attempts,
                 backoff_s=self.retry.schedule())

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop taking new messages; wait up to ``timeout_s`` for deliveries in flight (their leases cover the
        rest: another replica, or this one after a restart, delivers them again)."""
        self._stopping.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout_s)
            if thread.is_alive():
                log.warning("outbox_worker_still_delivering", worker=thread.name)
        self._threads.clear()

    def _work(self, keeps_house: bool) -> None:
        seen = -1
        failures = 0
        while not self._stopping.is_set():
            try:
                if keeps_house:
                    self._housekeeping()
                while not self._stopping.is_set() and self.run_once():
                    pass
                failures = 0
            except Exception:  # the database may be down: log once per outage, wait longer each time
                if failures == 0:
                    log.exception("outbox_dispatch_failed")
                failures += 1
                self._stopping.wait(min(30.0, self._poll_s * 2 ** min(failures, 10)))
                continue
            with self._wake:
                if self._wakeups == seen and not self._stopping.is_set():
                    self._wake.wait(self._poll_s)
                seen = self._wakeups
