"""Building a risk :class:`~idverify.risk.model.Subject` from plaintext identifiers, which end here."""

from __future__ import annotations

from idverify.privacy.blind_index import BlindIndex
from idverify.risk.model import Subject


def subject_from_identifiers(
    index: BlindIndex,
    *,
    tenant: str,
    applicant_id: str,
    phone: str | None = None,
    device_id: str | None = None,
    ip: str | None = None,
    id_number: str | None = None,
) -> Subject:
    """Blind-index each identifier that is present. Raises ``InvalidArgument`` for malformed ones."""
    return Subject(
        tenant=tenant,
        applicant_id=applicant_id,
        applicant_key=index.applicant(applicant_id),
        phone_key=index.phone(phone) if phone else None,
        device_key=index.device(device_id) if device_id else None,
        ip_key=index.ip(ip) if ip else None,
        identity_key=index.id_number(id_number) if id_number else None,
    )
