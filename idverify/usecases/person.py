"""The person's own side: every verification in their name, and the device keys that tie verifications to the
phone they hold.

- :class:`History` reads a person's verifications (newest first, keyset-paged) with what the person may see: the
  loan, amount, factors, a device hint, the outcome and whether the token was redeemed. Personal data stays sealed.
- :class:`DeviceKeysService` registers a device public key after a fresh high-assurance verification of the same
  person (and tells the person's phone), revokes one, and runs the device-key factor: the app signs the
  verification's server-chosen nonce with a registered key. Each verification takes one proof; a signature over
  another verification's nonce, by another key or replayed, is refused.
- :class:`DeviceAndPhoneCheck` is what :class:`~idverify.usecases.verification.Verifications` asks at start: is the
  device one the person registered (if they registered any), must the device key sign, and did a carrier report a
  recent SIM swap of the phone.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from idverify.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from idverify.domain.ports import Clock, DeviceKeys, Random, SimSwapLookup
from idverify.domain.repositories import DeviceKeyRecord, TokenRecord, UnitOfWork
from idverify.domain.session import Status, VerificationSession
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Money, Outcome
from idverify.usecases.ids import new_id, normalise_reference
from idverify.usecases.units import unit
from idverify.usecases.verification import DeviceVerdict, Verifications

SIGNING_PREFIX = "idverify-device-proof-v1"
MAX_PAGE = 100
DEFAULT_PAGE = 20
#: A SIM swap or port reported within this many days counts as recent.
SIM_SWAP_RECENT_DAYS = 7


def signing_input(session_id: str, nonce: str) -> str:
    """The exact text a device key signs for one verification."""
    return f"{SIGNING_PREFIX}\n{session_id}\n{nonce}"


def device_hint(device_id: str) -> str:
    """The last four characters of a device id, for recognition only."""
    return f"…{device_id[-4:]}" if device_id else ""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    session: VerificationSession
    token: TokenRecord | None
    disputed: bool
    registered_device: bool
    device_proved: bool
    device_hint: str


@dataclass(frozen=True, slots=True)
class HistoryPage:
    entries: tuple[HistoryEntry, ...]
    next_page_token: str


def _encode_cursor(at: datetime, session_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{session_id}".encode()).decode().rstrip("=")


def _decode_cursor(token: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        at_text, session_id = text.split("|", 1)
        at = datetime.fromisoformat(at_text)
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("page_token_invalid", "the page token is not one this service gave out") from None
    if at.tzinfo is None or not session_id:
        raise InvalidArgument("page_token_invalid", "the page token is not one this service gave out")
    return at, session_id


class History:
    """A person's verifications as the person may see them."""

    def __init__(self, *, uow: Callable[[], UnitOfWork], device_index: Callable[[str], str]) -> None:
        self._uow = uow
        self._device_index = device_index

    def page(self, applicant_id: str, *, page_size: int = 0, page_token: str = "") -> HistoryPage:
        """Newest first. Raises ``InvalidArgument`` (page_size_invalid, page_token_invalid)."""
        if page_size < 0 or page_size > MAX_PAGE:
            raise InvalidArgument("page_size_invalid", f"page_size must be 0..{MAX_PAGE}")
        size = page_size or DEFAULT_PAGE
        before = _decode_cursor(page_token) if page_token else None
        with self._uow() as uow:
            ids = uow.history.session_ids(applicant_id, before=before, limit=size + 1)
            entries = [self._entry(uow, sid) for sid in ids[:size]]
        more = len(ids) > size
        last = entries[-1].session if entries else None
        token = _encode_cursor(last.created_at, last.session_id) if more and last is not None else ""
        return HistoryPage(tuple(entries), token)

    def by_reference(self, applicant_id: str, reference: str) -> HistoryEntry:
        """The entry a completion-SMS reference points to. Raises ``NotFound`` for another person's reference."""
        with self._uow() as uow:
            session = uow.sessions.find_by_reference(normalise_reference(reference))
            if session is None or session.context.applicant_id != applicant_id:
                raise NotFound("verification_not_found", "no verification with that reference in your name")
            return self._entry(uow, session.session_id)

    def _entry(self, uow: UnitOfWork, session_id: str) -> HistoryEntry:
        session = uow.sessions.get(session_id)
        tokens = uow.history.tokens(session_id)
        active = {k.device_index for k in uow.devices.keys(session.context.applicant_id) if k.revoked_at is None}
        device_id = session.context.device_id
        return HistoryEntry(
            session=session, token=tokens[0] if tokens else None, disputed=uow.history.disputed(session_id),
            registered_device=bool(device_id) and self._device_index(device_id) in active,
            device_proved=bool(uow.devices.proof(session_id)), device_hint=device_hint(device_id))


class DeviceKeysService:
    """Register, list and revoke a person's device keys; the device-key factor of a verification."""

    def __init__(self, *, uow: Callable[[], UnitOfWork], verifications: Verifications, clock: Clock, random: Random,
                 keys: DeviceKeys, device_index: Callable[[str], str], notify: Callable[[str, str], object],
                 registered_text: Callable[[str, datetime, str], str], registration_acr: Callable[
                     [VerificationSession], bool], max_age_s: int = 600) -> None:
        self._uow = uow
        self._v = verifications
        self._clock = clock
        self._random = random
        self._keys = keys
        self._index = device_index
        self._notify = notify
        self._registered_text = registered_text
        self._assurance_ok = registration_acr
        self._max_age = timedelta(seconds=max_age_s)

    def register(self, *, applicant_id: str, session_id: str, jwk: str, label: str,
                 device_id: str) -> DeviceKeyRecord:
        """Register ``jwk`` for the person who completed ``session_id`` moments ago at the required assurance.

        Raises ``InvalidArgument`` (device_key_invalid, device_label_invalid, device_id_missing),
        ``NotFound`` (verification_not_found), ``FailedPrecondition`` (verification_not_completed,
        verification_too_old, assurance_too_low, identity_frozen), ``AlreadyExists`` (device_key_exists,
        session_already_registered_device)."""
        key = self._keys.parse(jwk)
        if len(label) > 64 or not label.isprintable():
            raise InvalidArgument("device_label_invalid", "the device label must be printable, at most 64 characters")
        if not device_id or len(device_id) > 128 or not device_id.isprintable():
            raise InvalidArgument("device_id_missing", "give the app's device identifier on this phone")
        now = self._clock.now()
        with unit(self._uow) as uow:
            try:
                session = uow.sessions.get(session_id, for_update=True)
            except NotFound:
                raise NotFound("verification_not_found", "no such verification in your name") from None
            if session.context.applicant_id != applicant_id:
                raise NotFound("verification_not_found", "no such verification in your name")
            if session.status is not Status.COMPLETED or session.completed_at is None:
                raise FailedPrecondition("verification_not_completed",
                                         "register a device after completing a verification")
            if now - session.completed_at > self._max_age:
                raise FailedPrecondition("verification_too_old", "verify again, then register the device at once")
            if not self._assurance_ok(session):
                raise FailedPrecondition("assurance_too_low",
                                         "registering a device needs a high-assurance verification")
            if uow.freezes.is_frozen(applicant_id):
                raise FailedPrecondition("identity_frozen", "this identity is frozen")
            record = DeviceKeyRecord(
                key_id=key.key_id, applicant_id=applicant_id, algorithm=key.algorithm, jwk=key.jwk,
                label=label, device_index=self._index(device_id), device_hint=device_hint(device_id),
                registered_at=now, registered_by_session=session_id)
            phone = uow.sessions.secrets(session_id).phone_e164
            uow.devices.add_key(record, phone)
            uow.record_event(action="device_key.registered", object_type="applicant", object_id=applicant_id,
                             outcome="ok", details={"key_id": key.key_id, "algorithm": key.algorithm,
                                                    "session_id": session_id})
            to = phone or uow.devices.notify_phone(applicant_id)
            if to:  # queued in this transaction: the person hears of every new device
                self._notify(to, self._registered_text(session.context.locale, now, session.reference))
        return record

    def list(self, applicant_id: str) -> list[DeviceKeyRecord]:
        with self._uow() as uow:
            return uow.devices.keys(applicant_id)

    def revoke(self, applicant_id: str, key_id: str) -> DeviceKeyRecord:
        """Raises ``NotFound("device_key_unknown")`` for a key that is not this person's."""
        with self._uow() as uow:
            record = uow.devices.revoke_key(applicant_id, key_id, self._clock.now())
            uow.record_event(action="device_key.revoked", object_type="applicant", object_id=applicant_id,
                             outcome="ok", details={"key_id": key_id})
        return record

    def start_proof(self, context: ApplicationContext, session_id: str) -> tuple[str, str, tuple[str, ...]]:
        """The verification's nonce (made once), the text to sign and the person's active key ids."""
        with unit(self._uow) as uow:
            self._v.load_active(uow, context, session_id, Factor.DEVICE_KEY)
            nonce = uow.devices.nonce(session_id, new_id(self._random, "dn"))
            active = tuple(k.key_id for k in uow.devices.keys(context.applicant_id) if k.revoked_at is None)
        return nonce, signing_input(session_id, nonce), active

    def submit_proof(self, context: ApplicationContext, session_id: str, key_id: str,
                     signature: bytes) -> FactorResult:
        """Check the signature and record the device-key factor, in one transaction.

        A wrong signature, an unknown or revoked key is a FAILED result; a second proof for the same verification
        raises ``AlreadyExists("device_proof_replayed")`` and changes nothing."""
        if not key_id or len(key_id) > 64 or len(signature) > 256:
            raise InvalidArgument("device_proof_invalid", "give the key id and the signature")
        with unit(self._uow) as uow:
            session = self._v.load_active(uow, context, session_id, Factor.DEVICE_KEY)
            nonce = uow.devices.nonce(session_id, None)
            if not nonce:
                raise FailedPrecondition("device_proof_not_started", "call StartDeviceProof first")
            if uow.devices.proof(session_id):
                raise FailedPrecondition("device_proof_replayed", "this verification already took its device proof")
            keys = {k.key_id: k for k in uow.devices.keys(context.applicant_id)}
            record = keys.get(key_id)
            now = self._clock.now()
            if record is None:
                reason = "device_key_unknown"
            elif record.revoked_at is not None:
                reason = "device_key_revoked"
            elif not self._keys.verify(record.jwk, signing_input(session_id, nonce).encode(), signature):
                reason = "device_signature_invalid"
            else:
                reason = "ok"
            if reason == "ok":
                uow.devices.add_proof(session_id, key_id, now)
            result = FactorResult(factor=Factor.DEVICE_KEY, outcome=Outcome.PASSED if reason == "ok" else
                                  Outcome.FAILED, reason_code=reason, at=now, model_id=key_id if reason == "ok"
                                  else "")
            self._v.record_in(uow, session, result)
        return result


class DeviceAndPhoneCheck:
    """Satisfies ``idverify.usecases.verification.DeviceCheck``: device keys and SIM-swap evidence at start."""

    def __init__(self, *, device_index: Callable[[str], str], sim_swap: SimSwapLookup | None, clock: Clock,
                 notify: Callable[[str, str], object], unregistered_text: Callable[[str, datetime], str],
                 device_key_from: Money | None = None) -> None:
        self._index = device_index
        self._sim_swap = sim_swap
        self._clock = clock
        self._notify = notify
        self._unregistered_text = unregistered_text
        self._device_key_from = device_key_from

    def phone_change(self, phone_e164: str) -> tuple[str, datetime | None]:
        """Before the transaction (a carrier lookup may be a network call): who reports a recent swap, and when."""
        if self._sim_swap is None or not phone_e164:
            return "", None
        report = self._sim_swap.lookup(phone_e164)
        now = self._clock.now()
        if report.changed_at is not None and now - report.changed_at <= timedelta(days=SIM_SWAP_RECENT_DAYS):
            return report.source, report.changed_at
        return "", None

    def at_start(self, uow: UnitOfWork, context: ApplicationContext) -> DeviceVerdict:
        active = [k for k in uow.devices.keys(context.applicant_id) if k.revoked_at is None]
        if not active:
            return DeviceVerdict()
        registered = bool(context.device_id) and self._index(context.device_id) in {k.device_index for k in active}
        if registered:
            wanted = self._device_key_from is not None and context.amount.currency == self._device_key_from.currency \
                and context.amount.value >= self._device_key_from.value
            return DeviceVerdict(require_device_key=wanted)
        phone = uow.devices.notify_phone(context.applicant_id)
        if phone:  # queued in the start's transaction: the person's registered phone hears of it
            self._notify(phone, self._unregistered_text(context.locale, self._clock.now()))
        return DeviceVerdict(unregistered=True)

