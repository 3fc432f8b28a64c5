"""Wiring of the person's own side (history, device keys, SIM-swap evidence): part of the composition root.

Kept apart from ``app.py`` so each area's wiring reads on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from idverify.audit import Actor
from idverify.cases.desk import CaseDesk
from idverify.config import Settings
from idverify.domain.errors import FailedPrecondition
from idverify.domain.messages import device_registered_text, unregistered_device_text
from idverify.domain.ports import Clock, Random, SimSwapLookup
from idverify.domain.repositories import UnitOfWork
from idverify.domain.session import VerificationSession
from idverify.domain.values import Factor, Money, Outcome
from idverify.factors.messages_otp import format_time
from idverify.privacy.blind_index import BlindIndex
from idverify.tokens.assurance import ACR_ORDER, decide_assurance, meets
from idverify.tokens.device_keys import JoseDeviceKeys
from idverify.transport.person_servicer import PersonServicer
from idverify.usecases.person import DeviceAndPhoneCheck, DeviceKeysService, History
from idverify.usecases.verification import Verifications


def assurance_at_least(level: str) -> Callable[[VerificationSession], bool]:
    """Whether a completed session reached ``level`` ("low", "substantial", "high"), decided as its token's acr."""
    minimum = next(a for a in ACR_ORDER if a.endswith(f":{level}"))

    def check(session: VerificationSession) -> bool:
        pad = any(r.factor is Factor.LIVENESS and r.outcome is Outcome.PASSED and r.pad_ran for r in session.results)
        try:
            return meets(decide_assurance(session.passed, pad_ran=pad).acr, minimum)
        except FailedPrecondition:  # no identifying factor passed: no assurance at all
            return False

    return check


@dataclass
class PersonSide:
    check: DeviceAndPhoneCheck
    _settings: Settings
    _uow: Callable[[], UnitOfWork]
    _clock: Clock
    _random: Random
    _index: BlindIndex
    _notify: Callable[[str, str], object]

    def servicer(self, verifications: Verifications, desk: CaseDesk, acting: Callable[[], Actor]) -> PersonServicer:
        def registered_text(locale: str, at: datetime, reference: str) -> str:
            return device_registered_text(locale, format_time(at), reference)

        devices = DeviceKeysService(
            uow=self._uow, verifications=verifications, clock=self._clock, random=self._random, keys=JoseDeviceKeys(),
            device_index=self._index.device, notify=self._notify, registered_text=registered_text,
            registration_acr=assurance_at_least(self._settings.device_registration_acr))

        def report(applicant_id: str, reference: str, description: str) -> tuple[str, int, bool]:
            done = desk.report(actor=acting(), applicant_id=applicant_id, channel="app", reference=reference,
                               loan_application_id=None, description=description)
            return done.case.case_id, done.revoked_tokens, done.freeze.active

        history = History(uow=self._uow, device_index=self._index.device)
        return PersonServicer(history, devices, report, self._settings.lender_name)


def person_side(settings: Settings, *, uow: Callable[[], UnitOfWork], clock: Clock, random: Random,
                index: BlindIndex, notify: Callable[[str, str], object],
                sim_swap: SimSwapLookup | None) -> PersonSide:
    def unregistered_text(locale: str, at: datetime) -> str:
        return unregistered_device_text(locale, format_time(at))

    key_from = (Money.parse(settings.device_key_required_from, settings.device_key_currency)
                if settings.device_key_required_from else None)
    check = DeviceAndPhoneCheck(device_index=index.device, sim_swap=sim_swap, clock=clock, notify=notify,
                                unregistered_text=unregistered_text, device_key_from=key_from)
    return PersonSide(check, settings, uow, clock, random, index, notify)
