"""Which factors a verification needs, decided from the request.

The policy is data (``Policy``), loaded once at start-up and validated against the factors this deployment can
actually run, so a session can never require a factor that does not exist. Rules, each adding factors:

- ``base``: always required (default: SMS code);
- ``amount_bands``: from a minimum amount in a currency upwards (default: liveness from 5,000 CNY, the document
  and a selfie-vs-document match from 50,000 CNY);
- ``new_device``, ``first_loan``, ``phone_recently_changed``: extra factors for those situations (a recently
  ported number makes the SMS code weak, so a face factor is added);
- ``enrolled_face``: when the account holder has an enrolled face and liveness is required, the selfie must also
  match it;
- risk step-up: factors the risk engine names are added as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from idverify.domain.values import Factor, Money

MIN_TTL_S = 60
MAX_TTL_S = 3600


class PolicyError(ValueError):
    """A policy that cannot be used; raised at start-up with the offending key in the message."""


@dataclass(frozen=True, slots=True)
class AmountBand:
    minimum: Decimal
    currency: str
    factors: tuple[Factor, ...]

    def applies(self, amount: Money) -> bool:
        return amount.currency == self.currency and amount.value >= self.minimum


@dataclass(frozen=True, slots=True)
class PolicyInput:
    amount: Money
    first_loan: bool = False
    new_device: bool = False
    phone_recently_changed: bool = False
    has_enrolled_face: bool = False
    step_up: tuple[Factor, ...] = ()


@dataclass(frozen=True, slots=True)
class Policy:
    base: tuple[Factor, ...] = (Factor.SMS_OTP,)
    amount_bands: tuple[AmountBand, ...] = (
        AmountBand(Decimal("5000"), "CNY", (Factor.LIVENESS,)),
        AmountBand(Decimal("50000"), "CNY", (Factor.DOCUMENT, Factor.FACE_MATCH_DOCUMENT)),
    )
    new_device: tuple[Factor, ...] = (Factor.LIVENESS,)
    first_loan: tuple[Factor, ...] = ()
    phone_recently_changed: tuple[Factor, ...] = (Factor.LIVENESS,)
    enrolled_face: bool = True
    session_ttl_s: int = 900
    currencies: tuple[str, ...] = field(default=("CNY",))
    #: From this amount up, liveness counts only when passive PAD ran on it; without PAD installed such loans are
    #: refused at start (``pad_unavailable``). None: never required by amount.
    pad_required_from: AmountBand | None = None
    #: From this amount a passed liveness must carry continuity, the light challenge and a capture key or a
    #: platform attestation (docs/liveness.md); completion is refused otherwise (``liveness_evidence_missing``).
    strong_liveness_from: AmountBand | None = None

    def requires_pad(self, amount: Money) -> bool:
        return self.pad_required_from is not None and self.pad_required_from.applies(amount)

    def requires_strong_liveness(self, amount: Money) -> bool:
        return self.strong_liveness_from is not None and self.strong_liveness_from.applies(amount)

    def mentioned(self) -> frozenset[Factor]:
        """Every factor this policy can ever require."""
        found = set(self.base) | set(self.new_device) | set(self.first_loan) | set(self.phone_recently_changed)
        for band in self.amount_bands:
            found |= set(band.factors)
        if self.enrolled_face:
            found.add(Factor.FACE_MATCH_ENROLLED)
        return frozenset(found)

    def validate(self, available: Iterable[Factor]) -> None:
        """Raise ``PolicyError`` if the policy names a factor this deployment cannot run."""
        if not MIN_TTL_S <= self.session_ttl_s <= MAX_TTL_S:
            raise PolicyError(f"session_ttl_s must be between {MIN_TTL_S} and {MAX_TTL_S}")
        if not self.base:
            raise PolicyError("base must name at least one factor")
        missing = set(self.mentioned() - set(available))
        if self.enrolled_face and Factor.LIVENESS not in self.mentioned():
            missing.discard(Factor.FACE_MATCH_ENROLLED)
        if missing:
            names = ", ".join(sorted(f.value for f in missing))
            raise PolicyError(f"the policy requires factors this deployment does not provide: {names}")

    def required_factors(self, request: PolicyInput) -> tuple[Factor, ...]:
        """The ordered, de-duplicated factors for one verification."""
        wanted: list[Factor] = list(self.base)
        for band in self.amount_bands:
            if band.applies(request.amount):
                wanted += band.factors
        if request.new_device:
            wanted += self.new_device
        if request.first_loan:
            wanted += self.first_loan
        if request.phone_recently_changed:
            wanted += self.phone_recently_changed
        wanted += request.step_up
        if self.enrolled_face and request.has_enrolled_face and Factor.LIVENESS in wanted:
            wanted.append(Factor.FACE_MATCH_ENROLLED)
        if Factor.FACE_MATCH_DOCUMENT in wanted and Factor.DOCUMENT not in wanted:
            wanted.append(Factor.DOCUMENT)
        if (Factor.FACE_MATCH_DOCUMENT in wanted or Factor.FACE_MATCH_ENROLLED in wanted) and (
            Factor.LIVENESS not in wanted
        ):
            wanted.append(Factor.LIVENESS)
        order = list(Factor)
        return tuple(sorted(dict.fromkeys(wanted), key=order.index))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Policy:
        """Build a policy from parsed TOML/JSON. Unknown keys and unknown factor names are errors."""
        known = {"base", "amount_bands", "new_device", "first_loan", "phone_recently_changed", "enrolled_face",
                 "session_ttl_s", "currencies", "pad_required_from", "strong_liveness_from"}
        unknown = set(data) - known
        if unknown:
            raise PolicyError(f"unknown policy keys: {', '.join(sorted(unknown))}")
        default = cls()
        bands = default.amount_bands
        if "amount_bands" in data:
            bands = tuple(_band(i, b) for i, b in enumerate(data["amount_bands"]))
        return cls(
            base=_factors(data.get("base", default.base), "base"),
            amount_bands=bands,
            new_device=_factors(data.get("new_device", default.new_device), "new_device"),
            first_loan=_factors(data.get("first_loan", default.first_loan), "first_loan"),
            phone_recently_changed=_factors(
                data.get("phone_recently_changed", default.phone_recently_changed), "phone_recently_changed"
            ),
            enrolled_face=bool(data.get("enrolled_face", default.enrolled_face)),
            session_ttl_s=int(data.get("session_ttl_s", default.session_ttl_s)),
            currencies=tuple(str(c) for c in data.get("currencies", default.currencies)),
            pad_required_from=_band(-1, {**data["pad_required_from"], "factors": ["liveness"]})
            if "pad_required_from" in data else None,
            strong_liveness_from=_band(-1, {**data["strong_liveness_from"], "factors": ["liveness"]})
            if "strong_liveness_from" in data else None,
        )


def _factors(values: Iterable[Any], key: str) -> tuple[Factor, ...]:
    out = []
    for value in values:
        try:
            out.append(Factor(str(value)))
        except ValueError:
            allowed = ", ".join(f.value for f in Factor)
            raise PolicyError(f"{key}: unknown factor {value!r} (allowed: {allowed})") from None
    return tuple(out)


def _band(index: int, data: Mapping[str, Any]) -> AmountBand:
    try:
        minimum = Decimal(str(data["minimum"]))
        currency = str(data["currency"])
    except (KeyError, InvalidOperation):
        raise PolicyError(f"amount_bands[{index}] needs a numeric 'minimum' and a 'currency'") from None
    return AmountBand(minimum, currency, _factors(data.get("factors", ()), f"amount_bands[{index}].factors"))
