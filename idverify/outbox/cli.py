"""``idverify outbox status | dead | retry``: what the outbox holds, and a second chance for dead letters.

Registered on the main command (``idverify.cli``); reads the database URL from the ``IDVERIFY_*`` settings.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from typing import Any, TextIO

from idverify.outbox.queue import SqlOutboxQueue


def register(subparsers: Any) -> None:
    outbox = subparsers.add_parser("outbox", help="side effects waiting, delivered and dead-lettered")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True)
    outbox_sub.add_parser("status", help="messages per status and channel, and the oldest waiting one") \
        .set_defaults(handler=_handler(status))
    outbox_sub.add_parser("dead", help="list dead letters (id, channel, event type, tries, last reason)") \
        .set_defaults(handler=_handler(dead))
    retry = outbox_sub.add_parser("retry", help="send dead letters again with a fresh set of tries")
    retry.add_argument("message_ids", nargs="*", metavar="MESSAGE_ID", help="the dead letters to retry")
    retry.add_argument("--all", action="store_true", help="every dead letter that can still be sent")
    retry.set_defaults(handler=_handler(retry_dead))


def _handler(command: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        import sys

        from idverify.config import Settings
        from idverify.storage.engine import make_engine

        engine = make_engine(Settings.from_env(os.environ).database_url)
        try:
            return int(command(SqlOutboxQueue(engine), args, sys.stdout))
        finally:
            engine.dispose()

    return run


def status(queue: SqlOutboxQueue, _args: argparse.Namespace, out: TextIO) -> int:
    counts = queue.counts()
    for (state, channel), n in sorted(counts.items()):
        print(f"{state:10} {channel:8} {n}", file=out)
    depth = queue.depth(datetime.now(UTC))
    print(f"waiting {depth.pending}, oldest {depth.oldest_age_s:.0f} s", file=out)
    return 0


def dead(queue: SqlOutboxQueue, _args: argparse.Namespace, out: TextIO) -> int:
    for record in queue.records():
        if record.status == "dead":
            gone = "" if record.has_payload else "  (payload cleared: cannot be retried)"
            print(f"{record.message_id} {record.channel} {record.event_type} tries={record.attempts} "
                  f"{record.last_error}{gone}", file=out)
    return 0


def retry_dead(queue: SqlOutboxQueue, args: argparse.Namespace, out: TextIO) -> int:
    if not args.all and not args.message_ids:
        print("name the dead letters to retry, or --all", file=out)
        return 2
    requeued = queue.requeue_dead(None if args.all else list(args.message_ids), now=datetime.now(UTC))
    print(f"{requeued} requeued", file=out)
    return 0
