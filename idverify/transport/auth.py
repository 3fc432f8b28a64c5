"""Caller authentication: API keys in metadata (development and simple deployments) and mTLS client certificates
(production). Several keys per caller may be valid at once, so keys rotate without downtime: add the new one,
move the client, remove the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

import grpc
import structlog

from idverify.domain.callers import Caller, Role
from idverify.domain.errors import PermissionDenied, Unauthenticated
from idverify.transport_config import ApiKeySpec

API_KEY_HEADER = "x-api-key"
AUTHORIZATION_HEADER = "authorization"
#: The roles a staff session can carry: a session never acts as an app backend or a loan service.
STAFF_ROLES = frozenset({Role.SUPPORT, Role.RISK_ANALYST, Role.ADMIN})


class StaffSessionHolder(Protocol):
    @property
    def staff_id(self) -> str: ...
    @property
    def api_key_sha256(self) -> str: ...


class StaffSessionResolver(Protocol):
    def resolve(self, credential: str) -> StaffSessionHolder:
        """The holder of a valid staff session credential; raises ``Unauthenticated``."""


_log = structlog.get_logger("idverify.auth")


@dataclass(frozen=True, slots=True)
class ApiKeyEntry:
    caller_id: str
    roles: frozenset[Role]
    key_sha256: bytes

    def __repr__(self) -> str:
        return f"ApiKeyEntry(caller_id={self.caller_id!r}, roles={sorted(self.roles)!r}, key_sha256=<redacted>)"


def key_entries(specs: Iterable[ApiKeySpec]) -> tuple[ApiKeyEntry, ...]:
    """The authenticator's entries for parsed key specs (from the environment or a keys file)."""
    return tuple(ApiKeyEntry(s.caller_id, s.roles, bytes.fromhex(s.key_sha256_hex)) for s in specs)


def hash_api_key(key: str) -> str:
    """The hex SHA-256 of an API key, as configured (keys are random 256-bit strings, so no salt is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeysFile:
    """API keys from a file (``caller_id:role+role:sha256hex`` per line, ``#`` comments), re-read when it changes,
    so keys are added and withdrawn without a restart. A file that no longer parses keeps the last good keys.

    The file's modification time is looked at no more than once every ``recheck_s`` seconds (by ``clock``), so a
    written or withdrawn key takes effect within that time (a mounted Kubernetes Secret itself takes far longer to
    change). Looked at on every RPC, it cost 3.2 us in process and a ``stat`` system call that releases and retakes
    the interpreter lock mid-request; the server's CPU per trivial RPC with a keys file, against keys in the
    environment, was +27, -5 and +22 us in three interleaved runs before, -10 and +2 us after
    (docs/reports/single-node-perf.md, section 5)."""

    def __init__(self, path: Path, parse: Callable[[str], tuple[ApiKeyEntry, ...]], *, recheck_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._path = path
        self._parse = parse
        self._stamp: int | None = None
        self._keys: tuple[ApiKeyEntry, ...] = ()
        self._lock = threading.Lock()
        self._recheck_s = recheck_s
        self._clock = clock
        self._next_check = float("-inf")
        self.keys()

    def keys(self) -> tuple[ApiKeyEntry, ...]:
        now = self._clock()
        if now < self._next_check:
            return self._keys
        self._next_check = now + self._recheck_s
        try:
            stamp = self._path.stat().st_mtime_ns
        except OSError:
            return self._keys
        if stamp != self._stamp:
            with self._lock:
                text = ",".join(line.split("#", 1)[0].strip() for line in self._path.read_text().splitlines())
                try:
                    self._keys = self._parse(text)
                except ValueError:
                    _log.error("api_keys_file_invalid", path=str(self._path))
                self._stamp = stamp
        return self._keys


class Authenticator:
    """Resolves the caller of an RPC from its metadata and TLS peer."""

    def __init__(self, api_keys: Iterable[ApiKeyEntry], mtls_callers: Mapping[str, frozenset[Role]],
                 keys_file: ApiKeysFile | None = None, staff_sessions: StaffSessionResolver | None = None, *,
                 staff_sessions_required: bool = False) -> None:
        self._static_keys = tuple(api_keys)
        self._keys_file = keys_file
        self._mtls = dict(mtls_callers)
        self._staff_sessions = staff_sessions
        self._sessions_required = staff_sessions_required
        self._index: tuple[tuple[ApiKeyEntry, ...], dict[bytes, Caller]] | None = None
        if staff_sessions_required:
            mixed = mixed_role_callers(self._keys, self._mtls)
            if mixed:
                # Such a key would hold staff powers next to a service's, and a service cannot type a TOTP code.
                raise ValueError(f"caller {mixed[0]!r} holds both a staff role and a service role; staff sessions "
                                 "are required (IDVERIFY_STAFF_SESSIONS_REQUIRED), so give it separate keys")

    @property
    def _keys(self) -> tuple[ApiKeyEntry, ...]:
        if self._keys_file is None:
            return self._static_keys
        return self._static_keys + self._keys_file.keys()

    def _api_key_callers(self) -> Mapping[bytes, Caller]:
        """The caller of each valid API key, by the key's SHA-256, rebuilt when the keys file's keys change.

        A request's key is found by its digest in a dict, not compared with every entry and wrapped in a new
        Caller each time: switched off, the key check gave a trivial RPC 15% more throughput before this and 7%
        after (bench/bench_rpc.py's servers, 16 paired rounds). The lookup's timing can only tell an attacker
        something about the digest of a valid key, from which the key cannot be recovered (keys are random
        256-bit strings): the usual reasoning for storing and finding keys by hash."""
        from_file = self._keys_file.keys() if self._keys_file is not None else ()
        index = self._index
        if index is None or index[0] is not from_file:
            callers: dict[bytes, Caller] = {}
            for entry in self._static_keys + from_file:  # a key listed twice: the last entry wins, as before
                callers[entry.key_sha256] = Caller(caller_id=entry.caller_id, roles=entry.roles, method="api_key")
            index = self._index = (from_file, callers)
        return index[1]

    def authenticate(self, metadata: Sequence[tuple[str, str | bytes]], auth_context: Mapping[str, Sequence[bytes]]
                     ) -> Caller:
        """Raise ``Unauthenticated`` unless a valid client certificate or API key identifies the caller.

        A verified client certificate wins over any API key; an unknown certificate subject is refused even when
        an API key is also present (a forged key header cannot upgrade a certificate's identity).
        """
        if auth_context.get("transport_security_type") == [b"ssl"] and auth_context.get("x509_common_name"):
            cn = auth_context["x509_common_name"][0].decode(errors="replace")
            roles = self._mtls.get(cn)
            if roles is None:
                raise Unauthenticated("caller_unknown", "the client certificate is not registered")
            return Caller(caller_id=cn, roles=roles, method="mtls")
        presented = [v for k, v in metadata if k == API_KEY_HEADER]
        bearer = [v for k, v in metadata if k == AUTHORIZATION_HEADER]
        if bearer and self._staff_sessions is not None:
            if presented or len(bearer) != 1:
                raise Unauthenticated("credentials_ambiguous", "present one API key or one staff session, not both")
            return self._staff_caller(bearer[0], self._staff_sessions)
        if len(presented) != 1:
            raise Unauthenticated("credentials_missing", "present exactly one API key or a client certificate")
        value = presented[0]
        key = value.decode(errors="replace") if isinstance(value, bytes) else value
        caller = self._api_key_callers().get(hashlib.sha256(key.encode()).digest())
        if caller is None:
            raise Unauthenticated("credentials_invalid", "the API key is not valid")
        return caller

    def require_staff_session(self, caller: Caller, allowed: frozenset[Role], *, sign_in: bool) -> None:
        """Raise ``PermissionDenied("staff_session_required")`` when staff sessions are required and ``caller``
        reaches this RPC only through a staff role without a staff session. ``sign_in`` marks the RPCs a staff
        member needs to open or close a session (and GetJwks); a service role that allows the RPC suffices."""
        if not self._sessions_required or sign_in or caller.method == "staff_session":
            return
        if caller.has_any(allowed - STAFF_ROLES) or not caller.has_any(allowed & STAFF_ROLES):
            return
        raise PermissionDenied("staff_session_required",
                               "staff act through a staff session: sign in with your API key and authenticator "
                               "(StartStaffSession), then call with the session")

    def _staff_caller(self, value: str | bytes, sessions: StaffSessionResolver) -> Caller:
        """A staff session acts with the roles its API key has now (staff roles only): a withdrawn key, or one that
        now names someone else, ends the session."""
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        scheme, _, credential = text.partition(" ")
        if scheme.lower() != "bearer" or not credential:
            raise Unauthenticated("credentials_invalid", "the authorization metadata is not a bearer credential")
        holder = sessions.resolve(credential.strip())
        digest = bytes.fromhex(holder.api_key_sha256)
        found: ApiKeyEntry | None = None
        for entry in self._keys:
            if hmac.compare_digest(digest, entry.key_sha256) and entry.caller_id == holder.staff_id:
                found = entry
        roles = found.roles & STAFF_ROLES if found is not None else frozenset()
        if not roles:
            raise Unauthenticated("staff_session_invalid", "the staff session's key is no longer valid")
        return Caller(caller_id=holder.staff_id, roles=roles, method="staff_session")


def mixed_role_callers(keys: Iterable[ApiKeyEntry], mtls_callers: Mapping[str, frozenset[Role]]) -> list[str]:
    """The caller ids whose one key or certificate holds both a staff role and a service role, sorted."""
    found = {k.caller_id for k in keys if k.roles & STAFF_ROLES and k.roles - STAFF_ROLES}
    found |= {cn for cn, roles in mtls_callers.items() if roles & STAFF_ROLES and roles - STAFF_ROLES}
    return sorted(found)


def auth_context_of(context: grpc.ServicerContext) -> Mapping[str, Sequence[bytes]]:
    try:
        # grpcio returns each property's values as a list; the stubs say one bytes value.
        return cast(Mapping[str, Sequence[bytes]], context.auth_context())
    except Exception:  # noqa: BLE001 - an insecure channel may have no auth context at all
        return {}
