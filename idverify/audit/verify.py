"""Checking the audit trail with the audit key: every entry's MAC, every chain link, every checkpoint, and what
was exported outside the database. Says which row is the first that is wrong, and how.

Problems, in the order a walk meets them:

- ``edited``: an entry's fields (or its stored MAC) no longer match what was written or sealed;
- ``deleted``: a sealed entry or chain position is missing, or the chain ends before a checkpoint says it did;
- ``inserted``: an entry the service never wrote (its id carries no valid tag), or a chain position the sealer
  never sealed (its link does not verify);
- ``reordered``: genuine entries or links sit at positions other than their own;
- ``bad_checkpoint_signature``: a checkpoint with an unknown kid or a signature that does not verify.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, Row, exists, func, select

from idverify.audit.entry import GENESIS_HASH, AuditKey, Checkpoint, chain_link, entry_id_is_genuine, entry_mac
from idverify.audit.sealer import stored_entry
from idverify.storage.tables_audit import audit_chain, audit_chain_head, audit_checkpoints, audit_entries

#: How far from its own position a moved link is looked for before it is called inserted.
_SEARCH = 64

Problem = Literal["edited", "deleted", "inserted", "reordered", "bad_checkpoint_signature"]


@dataclass(frozen=True, slots=True)
class ChainReport:
    """``ok``; how many entries verified; where the first problem is: the entry ``first_bad_seq`` (when the row is
    known), the chain ``position`` (when it is in the chain), what is wrong, and a sentence saying it."""

    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    problem: Problem | None = None
    position: int | None = None
    detail: str = ""
    unsealed: int = 0
    checkpoints_checked: int = 0


@dataclass(frozen=True, slots=True)
class _Finding:
    problem: Problem
    seq: int | None
    position: int | None
    detail: str


def verify_chain(
    source: Connection | Engine,
    key: AuditKey,
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    exported: Iterable[Checkpoint] = (),
    batch_size: int = 1000,
) -> ChainReport:
    """Verify the whole trail in ``source``; ``public_keys`` maps kid to checkpoint key (old kids stay listed after
    a rotation); ``exported`` are checkpoints kept outside the database (see :func:`read_exported`)."""
    if isinstance(source, Engine):
        with source.connect() as conn:
            return _Verifier(conn, key, public_keys, batch_size).run(exported)
    return _Verifier(source, key, public_keys, batch_size).run(exported)


def read_exported(path: Path) -> list[Checkpoint]:
    """The checkpoints in a log file (JSON lines whose ``event`` is ``audit_checkpoint``; other lines skipped)."""
    found: list[Checkpoint] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            line = raw.strip()
            if not line.startswith("{") or "audit_checkpoint" not in line:
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict) and data.get("event") == "audit_checkpoint":
                found.append(Checkpoint.from_json(data))
    return found


class _Verifier:
    def __init__(self, conn: Connection, key: AuditKey, public_keys: Mapping[str, Ed25519PublicKey],
                 batch_size: int) -> None:
        self._conn, self._key, self._keys, self._batch = conn, key, public_keys, batch_size

    def run(self, exported: Iterable[Checkpoint]) -> ChainReport:
        head = self._conn.execute(select(audit_chain_head)).first()
        legacy_seq = int(head.legacy_seq) if head is not None else 0
        stored_cps = [_from_row(r) for r in self._conn.execute(select(audit_checkpoints)
                                                               .order_by(audit_checkpoints.c.position))]
        checkpoints = sorted([*stored_cps, *exported], key=lambda c: c.position)
        finding = self._signatures(checkpoints)
        walked, last_position, last_hash, walk_finding = self._walk(legacy_seq, checkpoints)
        finding = _first(finding, walk_finding)
        if finding is None and head is not None and (int(head.position), str(head.chain_hash)) != (
                last_position, last_hash):
            finding = _Finding("deleted" if int(head.position) > last_position else "edited", None,
                               min(int(head.position), last_position) + 1,
                               "the chain head row does not match the chain")
        unsealed, unsealed_finding = self._unsealed(legacy_seq)
        finding = finding or unsealed_finding or self._duplicates()
        checked = walked + unsealed
        if finding is None:
            return ChainReport(ok=True, entries_checked=checked, unsealed=unsealed,
                               checkpoints_checked=len(checkpoints))
        return ChainReport(ok=False, entries_checked=checked, first_bad_seq=finding.seq, problem=finding.problem,
                           position=finding.position, detail=finding.detail, unsealed=unsealed,
                           checkpoints_checked=len(checkpoints))

    def _signatures(self, checkpoints: list[Checkpoint]) -> _Finding | None:
        for cp in checkpoints:
            key = self._keys.get(cp.kid)
            try:
                if key is None:
                    raise InvalidSignature
                key.verify(cp.signature, cp.message())
            except InvalidSignature:
                return _Finding("bad_checkpoint_signature", None, cp.position,
                                f"the checkpoint at chain position {cp.position} is not signed by a known key")
        return None

    def _walk(self, legacy_seq: int, checkpoints: list[Checkpoint]) -> tuple[int, int, str, _Finding | None]:
        by_position: dict[int, list[Checkpoint]] = {}
        for cp in checkpoints:
            by_position.setdefault(cp.position, []).append(cp)
        expected, prev, checked = 1, GENESIS_HASH, 0
        for row in self._chain_rows():
            position = int(row.position)
            if position != expected:
                return checked, expected - 1, prev, _Finding(
                    "deleted", None, expected, f"chain position {expected} is missing")
            finding = self._check_row(row, prev, legacy_seq)
            if finding is None:
                for cp in by_position.get(position, ()):
                    if cp.chain_hash != row.chain_hash:
                        finding = _Finding("edited", _seq(row), position,
                                           f"chain position {position} differs from its signed checkpoint")
            if finding is not None:
                return checked, expected - 1, prev, finding
            checked, expected, prev = checked + 1, expected + 1, str(row.chain_hash)
        beyond = [cp for cp in checkpoints if cp.position >= expected]
        if beyond:
            return checked, expected - 1, prev, _Finding(
                "deleted", None, expected,
                f"the chain ends at position {expected - 1} but a checkpoint covers position {beyond[-1].position}")
        return checked, expected - 1, prev, None

    def _check_row(self, row: Row[Any], prev: str, legacy_seq: int) -> _Finding | None:
        position, seq = int(row.position), int(row.c_entry_seq)
        link_ok = chain_link(self._key, position=position, entry_seq=seq, entry_mac=row.entry_mac,
                             prev_hash=row.prev_hash) == row.chain_hash
        if row.seq is None:
            if link_ok:
                return _Finding("deleted", seq, position, f"entry {seq} (chain position {position}) was deleted")
            return _Finding("inserted", seq, position, f"chain position {position} was never sealed by the service")
        mac = entry_mac(self._key, stored_entry(row))
        genuine = int(row.seq) <= legacy_seq or mac == row.entry_hash  # an entry the service wrote
        sealed_here = mac == row.entry_mac  # and the one sealed at this position
        if not link_ok:
            if genuine and sealed_here and self._moved(row, position, seq):  # a genuine link, not in its place
                if self._hash_exists(row.prev_hash):
                    return _Finding("reordered", seq, position, f"entry {seq} was moved to chain position {position}")
                return _Finding("deleted", None, position,
                                f"an entry before entry {seq} (chain position {position}) was deleted")
            return _Finding("inserted", seq, position,
                            f"entry {seq} at chain position {position} was never sealed by the service")
        if row.prev_hash != prev:
            return _Finding("reordered", seq, position, f"chain position {position} does not follow its predecessor")
        if not (genuine and sealed_here):
            if genuine and self._mac_sealed_elsewhere(mac):
                return _Finding("reordered", seq, position,
                                f"entry {seq} holds another sealed entry (chain position {position})")
            return _Finding("edited", seq, position, f"entry {seq} (chain position {position}) was edited")
        return None

    def _moved(self, row: Row[Any], position: int, seq: int) -> bool:
        """Whether the link at ``position`` verifies at a nearby position (rows renumbered around it)."""
        for delta in range(1, _SEARCH + 1):
            for other in (position + delta, position - delta):
                if other > 0 and chain_link(self._key, position=other, entry_seq=seq, entry_mac=row.entry_mac,
                                            prev_hash=row.prev_hash) == row.chain_hash:
                    return True
        return False

    def _chain_rows(self) -> Iterator[Row[Any]]:
        c, e = audit_chain, audit_entries
        query = (
            select(c.c.position, c.c.entry_seq.label("c_entry_seq"), c.c.entry_mac, c.c.prev_hash, c.c.chain_hash,
                   *e.c)
            .select_from(c.outerjoin(e, e.c.seq == c.c.entry_seq))
            .order_by(c.c.position)
        )
        after = 0
        while True:
            rows = self._conn.execute(query.where(c.c.position > after).limit(self._batch)).all()
            yield from rows
            if len(rows) < self._batch:
                return
            after = int(rows[-1].position)

    def _hash_exists(self, chain_hash: str) -> bool:
        return self._conn.execute(select(audit_chain.c.position).where(audit_chain.c.chain_hash == chain_hash)
                                  .limit(1)).first() is not None

    def _mac_sealed_elsewhere(self, mac: str) -> bool:
        return self._conn.execute(select(audit_chain.c.position).where(audit_chain.c.entry_mac == mac)
                                  .limit(1)).first() is not None

    def _duplicates(self) -> _Finding | None:
        """A copy of a genuine entry (same id and MAC) verifies on its own: only its id gives it away."""
        e = audit_entries
        dup = select(e.c.entry_id).group_by(e.c.entry_id).having(func.count() > 1).limit(1).scalar_subquery()
        seq = self._conn.execute(select(func.max(e.c.seq)).where(e.c.entry_id == dup)).scalar()
        if seq is None:
            return None
        return _Finding("inserted", int(seq), None, f"entry {seq} is a copy of an earlier entry")

    def _unsealed(self, legacy_seq: int) -> tuple[int, _Finding | None]:
        e = audit_entries
        query = (select(e).where(~exists().where(audit_chain.c.entry_seq == e.c.seq)).order_by(e.c.seq))
        checked = 0
        for row in self._conn.execute(query):
            stored = stored_entry(row)
            if stored.seq > legacy_seq and entry_mac(self._key, stored) != stored.entry_hash:
                if entry_id_is_genuine(self._key, stored.entry_id):
                    return checked, _Finding("edited", stored.seq, None, f"entry {stored.seq} (not yet sealed) "
                                             "was edited: its fields no longer match its MAC")
                return checked, _Finding("inserted", stored.seq, None,
                                         f"entry {stored.seq} (not yet sealed) was not written by the service")
            checked += 1
        return checked, None


def _seq(row: Row[Any]) -> int:
    return int(row.c_entry_seq)


def _first(a: _Finding | None, b: _Finding | None) -> _Finding | None:
    if a is None or b is None:
        return a or b
    return a if (a.position or 0) <= (b.position or 0) else b


def _from_row(row: Row[Any]) -> Checkpoint:
    return Checkpoint(position=int(row.position), chain_hash=row.chain_hash, max_entry_seq=int(row.max_entry_seq),
                      at=row.at, kid=row.kid, signature=bytes(row.signature))
