"""PersonService: thin conversion onto the person's history and device-key use cases."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from idverify.api.v1 import common_pb2, person_pb2, person_pb2_grpc
from idverify.domain.errors import InvalidArgument
from idverify.domain.repositories import DeviceKeyRecord
from idverify.domain.values import clean_identifier
from idverify.transport import convert
from idverify.usecases.person import DeviceKeysService, History, HistoryEntry

#: What ReportNotMe calls: (applicant_id, reference, description) -> (case_id, revoked_tokens, frozen).
Reporter = Callable[[str, str, str], tuple[str, int, bool]]


def _locale(value: str) -> str:
    return "en" if value == "en" else "zh-CN"


def _reference(value: str) -> str:
    if not value or len(value) > 64 or not value.isprintable():
        raise InvalidArgument("reference_invalid", "give the reference from the history or the completion SMS")
    return value


def entry_message(entry: HistoryEntry, lender: str, locale: str) -> person_pb2.MyVerification:
    s = entry.session
    token = entry.token
    return person_pb2.MyVerification(
        reference=s.reference, started_at=convert.timestamp(s.created_at),
        completed_at=convert.timestamp(s.completed_at), lender=lender,
        loan_application_id=s.context.loan_application_id,
        amount=common_pb2.Money(currency=s.context.amount.currency, value=f"{s.context.amount.value:.2f}"),
        factors=[convert.factor_result(r, locale) for r in s.results],
        device=person_pb2.DeviceSummary(device_hint=entry.device_hint, registered_device=entry.registered_device,
                                        device_key_proved=entry.device_proved),
        outcome=s.status.value, outcome_reason=s.reason_code,
        token=person_pb2.MyTokenState(
            issued=token is not None, redeemed=token is not None and token.redeemed_at is not None,
            redeemed_at=convert.timestamp(token.redeemed_at) if token is not None else None,
            revoked=token is not None and token.revoked_at is not None),
        disputed=entry.disputed)


def key_message(record: DeviceKeyRecord) -> person_pb2.DeviceKey:
    return person_pb2.DeviceKey(key_id=record.key_id, algorithm=record.algorithm, label=record.label,
                                registered_at=convert.timestamp(record.registered_at),
                                revoked_at=convert.timestamp(record.revoked_at), device_hint=record.device_hint)


class PersonServicer(person_pb2_grpc.PersonServiceServicer):
    def __init__(self, history: History, devices: DeviceKeysService, report: Reporter, lender: str) -> None:
        self._history = history
        self._devices = devices
        self._report = report
        self._lender = lender

    def ListMyVerifications(self, request: person_pb2.ListMyVerificationsRequest, context: grpc.ServicerContext
                            ) -> person_pb2.ListMyVerificationsResponse:
        applicant = clean_identifier(request.applicant_id, "applicant_id")
        page = self._history.page(applicant, page_size=request.page_size, page_token=request.page_token[:512])
        locale = _locale(request.locale)
        return person_pb2.ListMyVerificationsResponse(
            verifications=[entry_message(e, self._lender, locale) for e in page.entries],
            next_page_token=page.next_page_token)

    def GetMyVerification(self, request: person_pb2.GetMyVerificationRequest, context: grpc.ServicerContext
                          ) -> person_pb2.GetMyVerificationResponse:
        entry = self._history.by_reference(clean_identifier(request.applicant_id, "applicant_id"),
                                           _reference(request.reference))
        return person_pb2.GetMyVerificationResponse(
            verification=entry_message(entry, self._lender, _locale(request.locale)))

    def ReportNotMe(self, request: person_pb2.ReportNotMeRequest, context: grpc.ServicerContext
                    ) -> person_pb2.ReportNotMeResponse:
        applicant = clean_identifier(request.applicant_id, "applicant_id")
        reference = _reference(request.reference)
        self._history.by_reference(applicant, reference)  # NOT_FOUND for anything not in this person's name
        case_id, revoked, frozen = self._report(applicant, reference, request.description[:2000])
        return person_pb2.ReportNotMeResponse(case_id=case_id, revoked_tokens=revoked, identity_frozen=frozen)

    def RegisterDeviceKey(self, request: person_pb2.RegisterDeviceKeyRequest, context: grpc.ServicerContext
                          ) -> person_pb2.RegisterDeviceKeyResponse:
        record = self._devices.register(
            applicant_id=clean_identifier(request.applicant_id, "applicant_id"),
            session_id=convert.session_id(request.session_id), jwk=request.public_key_jwk,
            label=request.label, device_id=request.device_id)
        return person_pb2.RegisterDeviceKeyResponse(device_key=key_message(record))

    def ListDeviceKeys(self, request: person_pb2.ListDeviceKeysRequest, context: grpc.ServicerContext
                       ) -> person_pb2.ListDeviceKeysResponse:
        records = self._devices.list(clean_identifier(request.applicant_id, "applicant_id"))
        return person_pb2.ListDeviceKeysResponse(device_keys=[key_message(r) for r in records])

    def RevokeDeviceKey(self, request: person_pb2.RevokeDeviceKeyRequest, context: grpc.ServicerContext
                        ) -> person_pb2.RevokeDeviceKeyResponse:
        record = self._devices.revoke(clean_identifier(request.applicant_id, "applicant_id"),
                                      clean_identifier(request.key_id, "key_id", max_length=64))
        return person_pb2.RevokeDeviceKeyResponse(device_key=key_message(record))

    def StartDeviceProof(self, request: person_pb2.StartDeviceProofRequest, context: grpc.ServicerContext
                         ) -> person_pb2.StartDeviceProofResponse:
        nonce, text, keys = self._devices.start_proof(convert.context(request.context, present=request.HasField(
            "context")), convert.session_id(request.session_id))
        return person_pb2.StartDeviceProofResponse(nonce=nonce, signing_input=text, key_ids=list(keys))

    def SubmitDeviceProof(self, request: person_pb2.SubmitDeviceProofRequest, context: grpc.ServicerContext
                          ) -> person_pb2.SubmitDeviceProofResponse:
        ctx = convert.context(request.context, present=request.HasField("context"))
        result = self._devices.submit_proof(ctx, convert.session_id(request.session_id), request.key_id,
                                            request.signature)
        return person_pb2.SubmitDeviceProofResponse(result=convert.factor_result(result, ctx.locale))
