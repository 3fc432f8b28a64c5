"""The document decision: each contradiction is a failed check with its reason code, never an exception."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import pytest

from idverify.factors.document import (
    AccountHolder,
    ApplicantClaims,
    CnIdCardText,
    CnIdPolicy,
    DocumentFields,
    DocumentPolicy,
    DocumentType,
    Outcome,
    Severity,
    Sex,
    evaluate_document,
)
from idverify.factors.document.consistency import parse_printed_date, parse_validity
from tests.docgen.identities import CnIdentity, cn_identity, td3_mrz

TODAY = date(2026, 11, 1)
TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)


def person(seed: int = 1) -> CnIdentity:
    return cn_identity(random.Random(seed), TODAY)


def card(p: CnIdentity, **changes: str | None) -> DocumentFields:
    text = CnIdCardText(
        name=p.name,
        sex=p.sex,
        ethnicity=p.ethnicity,
        birth_date=p.birth_text,
        address=p.address,
        id_number=p.number,
        issuing_authority=p.authority,
        validity=p.validity_text,
    )
    return DocumentFields(DocumentType.CN_ID_CARD, cn_id=replace(text, **changes))


def decide(fields: DocumentFields, **kwargs: object) -> tuple[Outcome, tuple[str, ...]]:
    result = evaluate_document(fields, application_date=TODAY, **kwargs)  # type: ignore[arg-type]
    return result.outcome, result.reason_codes


def test_consistent_card_with_matching_applicant_and_holder_passes() -> None:
    p = person()
    claims = ApplicantClaims(
        name=p.name,
        id_number=p.number.lower(),
        birth_date=p.birth_date,
        sex=Sex.MALE if p.sex == "男" else Sex.FEMALE,
    )
    result = evaluate_document(
        card(p),
        application_date=TODAY,
        claims=claims,
        holder=AccountHolder(name=p.name, id_number=p.number),
    )
    assert result.outcome is Outcome.PASS, result.reason_codes
    assert all(ch.passed and ch.reason_code is None for ch in result.checks)
    assert {
        "id_number_valid",
        "typed_id_number_matches",
        "holder_id_number_matches",
        "document_not_expired",
        "birth_date_matches_id_number",
        "sex_matches_id_number",
    } <= {ch.name for ch in result.checks}
    assert result.id_number is not None
    assert result.id_number.number == p.number


@pytest.mark.parametrize("seed", range(20))
def test_generated_valid_cards_pass(seed: int) -> None:
    assert decide(card(person(seed))) == (Outcome.PASS, ())


def test_wrong_check_character_fails_and_is_never_corrected() -> None:
    p = person()
    wrong = p.number[:17] + ("0" if p.number[17] != "0" else "1")
    result = evaluate_document(card(p, id_number=wrong), application_date=TODAY)
    assert result.outcome is Outcome.FAIL
    assert "id_number_checksum" in result.reason_codes
    assert result.id_number is None


def test_expired_card_fails() -> None:
    outcome, reasons = decide(card(person(), validity="2004.05.06-2014.05.06"))
    assert outcome is Outcome.FAIL
    assert "document_expired" in reasons


def test_card_valid_from_the_future_fails() -> None:
    assert "document_not_yet_valid" in decide(card(person(), validity="2027.01.01-2047.01.01"))[1]


def test_long_term_card_of_a_young_person_goes_to_review() -> None:
    p = next(q for q in map(person, range(50)) if q.valid_until is not None)
    outcome, reasons = decide(card(p, validity=f"{p.valid_from:%Y.%m.%d}-长期"))
    assert (outcome, reasons) == (Outcome.REVIEW, ("document_validity_inconsistent",))


def test_validity_of_seven_years_goes_to_review() -> None:
    assert decide(card(person(), validity="2020.01.01-2027.01.01")) == (
        Outcome.REVIEW,
        ("document_validity_inconsistent",),
    )


def test_unreadable_validity_is_a_failed_check() -> None:
    assert decide(card(person(), validity="2020.01.01")) == (
        Outcome.FAIL,
        ("document_validity_invalid",),
    )


def test_impossible_printed_birth_date_fails() -> None:
    outcome, reasons = decide(card(person(), birth_date="1990年2月30日"))
    assert outcome is Outcome.FAIL
    assert reasons == ("document_birth_date_invalid",)


def test_printed_birth_date_differing_from_the_number_fails() -> None:
    p = person()
    other = p.birth_date.replace(year=p.birth_date.year - 1)
    outcome, reasons = decide(card(p, birth_date=f"{other.year}年{other.month}月{other.day}日"))
    assert (outcome, reasons) == (Outcome.FAIL, ("document_birth_date_mismatch",))


def test_printed_sex_differing_from_the_number_fails() -> None:
    p = person()
    assert decide(card(p, sex="女" if p.sex == "男" else "男")) == (
        Outcome.FAIL,
        ("document_sex_mismatch",),
    )


def test_unknown_printed_sex_fails() -> None:
    assert decide(card(person(), sex="未知")) == (
        Outcome.FAIL,
        ("document_sex_invalid",),
    )


def test_missing_front_fields_go_to_review() -> None:
    outcome, reasons = decide(card(person(), name=None, id_number=None))
    assert outcome is Outcome.REVIEW
    assert set(reasons) == {
        "document_field_missing_name",
        "document_field_missing_id_number",
    }


def test_front_without_back_goes_to_review_unless_policy_waives_expiry() -> None:
    fields = card(person(), validity=None)
    assert decide(fields) == (Outcome.REVIEW, ("document_expiry_unknown",))
    assert decide(fields, policy=DocumentPolicy(require_expiry=False)) == (
        Outcome.PASS,
        (),
    )


def test_empty_card_is_review_not_pass() -> None:
    assert decide(DocumentFields(DocumentType.CN_ID_CARD))[0] is Outcome.REVIEW


def test_age_outside_policy_fails() -> None:
    p = person()
    assert decide(card(p), policy=DocumentPolicy(id_number=CnIdPolicy(min_age=70, max_age=90))) == (
        Outcome.FAIL,
        ("id_number_age",),
    )


def test_typed_number_differing_from_the_card_fails() -> None:
    p, q = person(1), person(2)
    assert decide(card(p), claims=ApplicantClaims(id_number=q.number)) == (
        Outcome.FAIL,
        ("typed_id_number_mismatch",),
    )


def test_typed_name_differing_goes_to_review() -> None:
    assert decide(card(person()), claims=ApplicantClaims(name="某某某")) == (
        Outcome.REVIEW,
        ("typed_name_mismatch",),
    )


def test_typed_birth_date_and_sex_are_compared_with_the_number() -> None:
    p = person()
    other_sex = Sex.FEMALE if p.sex == "男" else Sex.MALE
    claims = ApplicantClaims(birth_date=date(2000, 1, 1), sex=other_sex)
    assert decide(card(p), claims=claims) == (
        Outcome.FAIL,
        ("typed_birth_date_mismatch", "typed_sex_mismatch"),
    )


def test_account_holder_with_another_number_fails() -> None:
    p, q = person(1), person(2)
    result = decide(card(p), holder=AccountHolder(name=p.name, id_number=q.number))
    assert result == (Outcome.FAIL, ("holder_id_number_mismatch",))


def test_account_holder_with_another_name_goes_to_review() -> None:
    p = person(1)
    assert decide(card(p), holder=AccountHolder(name="某某", id_number=p.number)) == (
        Outcome.REVIEW,
        ("holder_name_mismatch",),
    )


def test_every_failed_check_carries_a_reason_and_a_severity() -> None:
    result = evaluate_document(
        card(person(), id_number="123", birth_date="x", sex="?", validity="?"),
        application_date=TODAY,
    )
    for check in result.checks:
        assert check.passed == (check.reason_code is None)
        assert isinstance(check.severity, Severity)


def passport(lines: tuple[str, ...]) -> DocumentFields:
    return DocumentFields(DocumentType.PASSPORT, mrz_lines=lines)


def test_specimen_passport_is_refused_and_expired() -> None:
    outcome, reasons = decide(passport(TD3), policy=DocumentPolicy(id_number=CnIdPolicy(max_age=90)))
    assert outcome is Outcome.FAIL
    assert set(reasons) == {"document_specimen", "document_expired"}


def valid_passport() -> tuple[str, str]:
    return td3_mrz(
        surname="ZHANG",
        given="SAN",
        number="E1234567",
        birth=date(1990, 3, 4),
        expiry=date(2030, 5, 6),
        sex="M",
        state="UTO",
    )


ALLOW = DocumentPolicy(allow_specimen=True)


def test_valid_passport_with_matching_latin_name_passes() -> None:
    claims = ApplicantClaims(
        name="San Zhang",
        document_number="e1234567",
        birth_date=date(1990, 3, 4),
        sex=Sex.MALE,
        expiry_date=date(2030, 5, 6),
    )
    assert decide(passport(valid_passport()), claims=claims, policy=ALLOW) == (
        Outcome.PASS,
        (),
    )


def test_passport_with_broken_composite_digit_fails_with_that_reason() -> None:
    l1, l2 = valid_passport()
    broken = l2[:43] + str((int(l2[43]) + 1) % 10)
    assert decide(passport((l1, broken)), policy=ALLOW) == (
        Outcome.FAIL,
        ("mrz_check_digit_composite",),
    )


def test_chinese_typed_name_against_passport_without_romanizer_goes_to_review() -> None:
    assert decide(passport(valid_passport()), claims=ApplicantClaims(name="张三"), policy=ALLOW) == (
        Outcome.REVIEW,
        ("name_unverifiable",),
    )


def test_chinese_typed_name_matches_passport_through_a_romanizer() -> None:
    result = decide(
        passport(valid_passport()),
        claims=ApplicantClaims(name="张三"),
        policy=ALLOW,
        romanizer=lambda name: frozenset({"ZHANGSAN"}),
    )
    assert result == (Outcome.PASS, ())


def test_identity_card_mrz_presented_as_passport_fails() -> None:
    td1 = (
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    )
    assert "document_type_mismatch" in decide(passport(td1), policy=ALLOW)[1]
    assert (
        "document_type_mismatch" not in decide(DocumentFields(DocumentType.ID_CARD_MRZ, mrz_lines=td1), policy=ALLOW)[1]
    )


def test_passport_without_mrz_goes_to_review() -> None:
    assert decide(passport(())) == (Outcome.REVIEW, ("document_field_missing_mrz",))


def test_passport_typed_number_and_holder_document_number_are_compared() -> None:
    outcome, reasons = decide(
        passport(valid_passport()),
        policy=ALLOW,
        claims=ApplicantClaims(document_number="E7654321"),
        holder=AccountHolder(name="Li Si", document_number="E1234567"),
    )
    assert outcome is Outcome.FAIL
    assert reasons == ("typed_document_number_mismatch", "holder_name_mismatch")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990年2月3日", date(1990, 2, 3)),
        ("1990 年 12 月 31 日", date(1990, 12, 31)),
        ("1990.02.03", date(1990, 2, 3)),
        ("19900203", date(1990, 2, 3)),
        ("1990-02-30", None),
        ("1990年13月1日", None),
        ("abc", None),
    ],
)
def test_printed_dates(text: str, expected: date | None) -> None:
    assert parse_printed_date(text) == expected


@pytest.mark.parametrize(
    ("text", "start", "until"),
    [
        ("2015.03.01-2035.03.01", date(2015, 3, 1), date(2035, 3, 1)),
        ("2015.03.01一2035.03.01", date(2015, 3, 1), date(2035, 3, 1)),
        ("2015.03.01 — 长期", date(2015, 3, 1), None),
    ],
)
def test_validity_periods(text: str, start: date, until: date | None) -> None:
    period = parse_validity(text)
    assert period is not None
    assert (period.start, period.until) == (start, until)


@pytest.mark.parametrize("text", ["2035.03.01-2015.03.01", "2015.02.30-2035.02.30", "长期", ""])
def test_malformed_validity_periods(text: str) -> None:
    assert parse_validity(text) is None
