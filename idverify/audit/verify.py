"""Recomputing the audit chain and its checkpoint signatures, and saying where it breaks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, Row, select

from idverify.audit.entry import GENESIS_HASH, SealedEntry, checkpoint_message, rehash
from idverify.storage.tables_audit import (
    audit_chain_head,
    audit_checkpoints,
    audit_entries,
)

Problem = Literal["edited", "deleted", "reordered", "bad_checkpoint_signature"]


@dataclass(frozen=True, slots=True)
class ChainReport:
    """``ok``; how many entries verified before the walk stopped; the first bad seq and what is wrong there."""

    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    problem: Problem | None = None


@dataclass(frozen=True, slots=True)
class _Finding:
    seq: int
    problem: Problem


def verify_chain(
    source: Connection | Engine, public_keys: Mapping[str, Ed25519PublicKey], *, batch_size: int = 1000
) -> ChainReport:
    """Recompute every entry hash and link up to the chain head, and check every checkpoint signature.

    ``public_keys`` maps kid to the checkpoint verification key (old kids stay listed after a rotation).
    Reports the lowest seq at which something is wrong: ``edited`` (an entry's fields no longer match its hash,
    or a rewritten entry no longer matches a signed checkpoint), ``deleted`` (a seq is missing, or the chain
    ends before the head or a checkpoint), ``reordered`` (an entry links to a predecessor that sits elsewhere),
    ``bad_checkpoint_signature`` (unknown kid or a signature that does not verify).
    """
    if isinstance(source, Engine):
        with source.connect() as conn:
            return _verify(conn, public_keys, batch_size)
    return _verify(source, public_keys, batch_size)


def _verify(conn: Connection, public_keys: Mapping[str, Ed25519PublicKey], batch_size: int) -> ChainReport:
    head = conn.execute(select(audit_chain_head.c.last_seq, audit_chain_head.c.last_hash)).first()
    head_seq, head_hash = (int(head.last_seq), str(head.last_hash)) if head else (0, GENESIS_HASH)
    checkpoints = {
        int(r.seq): r
        for r in conn.execute(select(audit_checkpoints).where(audit_checkpoints.c.seq <= head_seq))
    }
    checked, walk_finding = _walk(conn, head_seq, head_hash, checkpoints, batch_size)
    findings = [f for f in (_check_signatures(checkpoints.values(), public_keys), walk_finding) if f is not None]
    if not findings:
        return ChainReport(ok=True, entries_checked=checked)
    first = min(findings, key=lambda f: f.seq)
    return ChainReport(ok=False, entries_checked=checked, first_bad_seq=first.seq, problem=first.problem)


def _check_signatures(checkpoints: Iterable[Row[Any]], keys: Mapping[str, Ed25519PublicKey]) -> _Finding | None:
    for cp in sorted(checkpoints, key=lambda r: int(r.seq)):
        key = keys.get(cp.kid)
        message = checkpoint_message(seq=int(cp.seq), entry_hash=cp.entry_hash, at=cp.at, kid=cp.kid)
        try:
            if key is None:
                raise InvalidSignature
            key.verify(bytes(cp.signature), message)
        except InvalidSignature:
            return _Finding(int(cp.seq), "bad_checkpoint_signature")
    return None


def _walk(
    conn: Connection, head_seq: int, head_hash: str, checkpoints: Mapping[int, Row[Any]], batch_size: int
) -> tuple[int, _Finding | None]:
    expected_seq, expected_prev, checked = 1, GENESIS_HASH, 0
    for entry in _entries(conn, head_seq, batch_size):
        if entry.seq != expected_seq:
            return checked, _Finding(expected_seq, "deleted")
        finding = _check_link(conn, entry, expected_prev)
        if finding is None and entry.seq in checkpoints and checkpoints[entry.seq].entry_hash != entry.entry_hash:
            finding = _Finding(entry.seq, "edited")
        if finding:
            return checked, finding
        checked += 1
        expected_seq, expected_prev = expected_seq + 1, entry.entry_hash
    last_seq = expected_seq - 1
    if last_seq < head_seq:
        return checked, _Finding(last_seq + 1, "deleted")
    if head_seq and expected_prev != head_hash:
        return checked, _Finding(head_seq, "edited")
    return checked, None


def _check_link(conn: Connection, entry: SealedEntry, expected_prev: str) -> _Finding | None:
    intact = rehash(entry) == entry.entry_hash
    if entry.prev_hash == expected_prev:
        return None if intact else _Finding(entry.seq, "edited")
    # The entry does not follow its predecessor. If the true successor sits elsewhere, rows were moved;
    # if this entry is itself intact, its predecessor was rewritten with a recomputed hash.
    successor = conn.execute(
        select(audit_entries.c.seq)
        .where(audit_entries.c.prev_hash == expected_prev, audit_entries.c.seq != entry.seq)
        .limit(1)
    ).first()
    if successor is not None:
        return _Finding(entry.seq, "reordered")
    if intact and entry.seq > 1:
        return _Finding(entry.seq - 1, "edited")
    return _Finding(entry.seq, "edited")


def _entries(conn: Connection, head_seq: int, batch_size: int) -> Iterator[SealedEntry]:
    after = 0
    while True:
        rows = conn.execute(
            select(audit_entries)
            .where(audit_entries.c.seq > after, audit_entries.c.seq <= head_seq)
            .order_by(audit_entries.c.seq)
            .limit(batch_size)
        ).all()
        for r in rows:
            yield SealedEntry(
                seq=int(r.seq),
                at=r.at,
                actor_id=r.actor_id,
                actor_role=r.actor_role,
                action=r.action,
                object_type=r.object_type,
                object_id=r.object_id,
                outcome=r.outcome,
                reason_code=r.reason_code,
                purpose=r.purpose,
                details_json=r.details,
                prev_hash=r.prev_hash,
                entry_hash=r.entry_hash,
            )
        if len(rows) < batch_size:
            return
        after = int(rows[-1].seq)
