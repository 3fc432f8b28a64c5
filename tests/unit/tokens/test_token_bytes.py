"""The issuer's bytes, pinned: for fixed inputs, clock and randomness it writes exactly these tokens. They were
captured from the issuer as it was before its issue path was made faster (bench/results/tokens.md), so any change
to a token's bytes shows here. Also: each shortcut of the issue path agrees with what it stands in for (the
per-input checks, ``pairwise_subject``, the ``IssuedToken`` constructor, ``Factor()`` in ``decide_assurance``)."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from idverify_client import claims as client_claims

import idverify.tokens.issuer as issuer_module
from idverify.client.verifier import TokenVerifier
from idverify.domain.errors import FailedPrecondition, InvalidArgument
from idverify.domain.values import Factor
from idverify.tokens.assurance import decide_assurance
from idverify.tokens.issuer import IssuedToken, JwsTokenIssuer, pairwise_subject
from idverify.tokens.keys import KeyRing
from tests.fakes import FixedClock, SeededRandom

ALL = frozenset({Factor.SMS_OTP, Factor.FACE_MATCH_DOCUMENT, Factor.LIVENESS, Factor.DOCUMENT})
LOAN: dict[str, Any] = {
    "loan_application_id": "LA-2026-0001", "amount_value": "12000.00", "currency": "CNY",
    "payout_account": "6222 0212 3456 7890",
}
CASES: dict[str, dict[str, Any]] = {
    "plain": {},
    "set_of_factor_values": {"factors": {"sms_otp", "face_match_document", "liveness", "document"}},
    "decimal_amount": {"amount_value": Decimal("1.2E+4")},
    "iban_account": {"payout_account": "gb82 west-1234 5698 7654 32"},
    "lowercase_account": {"payout_account": "gb82west12345698765432", "amount_value": "0.5"},
    "all_options": {
        "key_thumbprint": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
        "factors": ALL | {Factor.DEVICE_KEY},
        "liveness_evidence": ("light", "continuity", "capture_key", "light"),
        "phone_change": "carrier:cmcc",
        "ttl_s": 60,
    },
    "other_zone_now": {"now": datetime(2026, 11, 1, 17, 0, 30, 999_000, tzinfo=timezone(timedelta(hours=8)))},
    "unicode_and_quotes": {"session_id": "会话 1", "applicant_id": 'app "42" \\ x', "loan_application_id": "贷款-1"},
    "low": {"factors": ["sms_otp"], "pad_ran": False},
}
#: The ring's key is made from SeededRandom(11); every case uses a fresh one, so the same kid and jti.
KID = "b1L_G9CoxQCPExZoKgeiL6Kq36emiwOlZQ42wq3ZXM0"
#: (token, jti, issued_at, expires_at), captured from the issuer before the fast path.
PINNED: dict[str, tuple[str, str, str, str]] = {
    "plain": (
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImIxTF9HOUNveFFDUEV4Wm9LZ2VpTDZLcTM2ZW1pd09sWlE0MndxM1pYTTAiLCJ0eXAi"
        "OiJpZHZlcmlmeS12dCtqd3QifQ.eyJpc3MiOiJodHRwczovL2lkdmVyaWZ5LmV4YW1wbGUiLCJzdWIiOiJuckozV24tUk5Mc"
        "FBUMTZuVkxXVU1mZFg0eHRXeTBMa0xMaXB3U0pkYllNIiwiYXVkIjpbImxlbmRlci1hIiwibGVuZGVyLWIiXSwiaWF0IjoxN"
        "zkzNTIzNjAwLCJuYmYiOjE3OTM1MjM2MDAsImV4cCI6MTc5MzUyNDIwMCwianRpIjoiLTJYMmM2ZTluYVlvbndQVWh4QVBDU"
        "SIsInNpZCI6IlMtMSIsImFjciI6InVybjppZHZlcmlmeTphY3I6aGlnaCIsImFtciI6WyJkb2MiLCJmYWNlIiwibWZhIiwic"
        "21zIl0sImF1dGhvcml6YXRpb25fZGV0YWlscyI6W3sidHlwZSI6ImxvYW5fYXBwbGljYXRpb24iLCJsb2FuX2FwcGxpY2F0a"
        "W9uX2lkIjoiTEEtMjAyNi0wMDAxIiwiYW1vdW50Ijp7InZhbHVlIjoiMTIwMDAuMDAiLCJjdXJyZW5jeSI6IkNOWSJ9LCJwY"
        "XlvdXRfYWNjb3VudF9oYXNoIjoiT2ZuZ0JzczZpQUNLVjRnQ3U2TzdUR01jcWhla2o4RTB3aU1qaWc0dW9HRSJ9XX0.9xeqp"
        "X19q4AVKaD38tVBzFVSdlm1JQID3DKOrRvctQ8MEhBAq_EKN03rzlkh9FfmR4k-TyU9k4cKB70ZY2O2CA",
        "-2X2c6e9naYonwPUhxAPCQ", "2026-11-01T09:00:00+00:00", "2026-11-01T09:10:00+00:00",
    ),
    "set_of_factor_values": (
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImIxTF9HOUNveFFDUEV4Wm9LZ2VpTDZLcTM2ZW1pd09sWlE0MndxM1pYTTAiLCJ0eXAi"
        "OiJpZHZlcmlmeS12dCtqd3QifQ.eyJpc3MiOiJodHRwczovL2lkdmVyaWZ5LmV4YW1wbGUiLCJzdWIiOiJuckozV24tUk5Mc"
        "FBUMTZuVkxXVU1mZFg0eHRXeTBMa0xMaXB3U0pkYllNIiwiYXVkIjpbImxlbmRlci1hIiwibGVuZGVyLWIiXSwiaWF0IjoxN"
        "zkzNTIzNjAwLCJuYmYiOjE3OTM1MjM2MDAsImV4cCI6MTc5MzUyNDIwMCwianRpIjoiLTJYMmM2ZTluYVlvbndQVWh4QVBDU"
        "SIsInNpZCI6IlMtMSIsImFjciI6InVybjppZHZlcmlmeTphY3I6aGlnaCIsImFtciI6WyJkb2MiLCJmYWNlIiwibWZhIiwic"
        "21zIl0sImF1dGhvcml6YXRpb25fZGV0YWlscyI6W3sidHlwZSI6ImxvYW5fYXBwbGljYXRpb24iLCJsb2FuX2FwcGxpY2F0a"
        "W9uX2lkIjoiTEEtMjAyNi0wMDAxIiwiYW1vdW50Ijp7InZhbHVlIjoiMTIwMDAuMDAiLCJjdXJyZW5jeSI6IkNOWSJ9LCJwY"
        "XlvdXRfYWNjb3VudF9oYXNoIjoiT2ZuZ0JzczZpQUNLVjRnQ3U2TzdUR01jcWhla2o4RTB3aU1qaWc0dW9HRSJ9XX0.9xeqp"
        "X19q4AVKaD38tVBzFVSdlm1JQID3DKOrRvctQ8MEhBAq_EKN03rzlkh9FfmR4k-TyU9k4cKB70ZY2O2CA",
        "-2X2c6e9naYonwPUhxAPCQ", "2026-11-01T09:00:00+00:00", "2026-11-01T09:10:00+00:00",
    ),
    "decimal_amount": (
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImIxTF9HOUNveFFDUEV4Wm9LZ2VpTDZLcTM2ZW1pd09sWlE0MndxM1pYTTAiLCJ0eXAi"
        "OiJpZHZlcmlmeS12dCtqd3QifQ.eyJpc3MiOiJodHRwczovL2lkdmVyaWZ5LmV4YW1wbGUiLCJzdWIiOiJuckozV24tUk5Mc"
        "FBUMTZuVkxXVU1mZFg0eHRXeTBMa0xMaXB3U0pkYllNIiwiYXVkIjpbImxlbmRlci1hIiwibGVuZGVyLWIiXSwiaWF0IjoxN"
        "zkzNTIzNjAwLCJuYmYiOjE3OTM1MjM2MDAsImV4cCI6MTc5MzUyNDIwMCwianRpIjoiLTJYMmM2ZTluYVlvbndQVWh4QVBDU"
        "SIsInNpZCI6IlMtMSIsImFjciI6InVybjppZHZlcmlmeTphY3I6aGlnaCIsImFtciI6WyJkb2MiLCJmYWNlIiwibWZhIiwic"
        "21zIl0sImF1dGhvcml6YXRpb25fZGV0YWlscyI6W3sidHlwZSI6ImxvYW5fYXBwbGljYXRpb24iLCJsb2FuX2FwcGxpY2F0a"
        "W9uX2lkIjoiTEEtMjAyNi0wMDAxIiwiYW1vdW50Ijp7InZhbHVlIjoiMTIwMDAiLCJjdXJyZW5jeSI6IkNOWSJ9LCJwYXlvd"
        "XRfYWNjb3VudF9oYXNoIjoiT2ZuZ0JzczZpQUNLVjRnQ3U2TzdUR01jcWhla2o4RTB3aU1qaWc0dW9HRSJ9XX0.3MnqwZ7Dj"
        "FSH9JVSAA_xfsULRn32b7BOAngZo-T8o6wjhe8H5bjNzSKzTfcqGpTbqSGFHa2ksnj8F4qB0vZrCQ",
        "-2X2c6e9naYonwPUhxAPCQ", "2026-11-01T09:00:00+00:00", "2026-11-01T09:10:00+00:00",
    ),
    "iban_account": (
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImIxTF9HOUNveFFDUEV4Wm9LZ2VpTDZLcTM2ZW1pd09sWlE0MndxM1pYTTAiLCJ0eXAi"
        "OiJpZHZlcmlmeS12dCtqd3QifQ.eyJpc3MiOiJodHRwczovL2lkdmVyaWZ5LmV4YW1wbGUiLCJzdWIiOiJuckozV24tUk5Mc"
        "FBUMTZuVkxXVU1mZFg0eHRXeTBMa0xMaXB3U0pkYllNIiwiYXVkIjpbImxlbmRlci1hIiwibGVuZGVyLWIiXSwiaWF0IjoxN"
        "zkzNTIzNjAwLCJuYmYiOjE3OTM1MjM2MDAsImV4cCI6MTc5MzUyNDIwMCwianRpIjoiLTJYMmM2ZTluYVlvbndQVWh4QVBDU"
        "SIsInNpZCI6IlMtMSIsImFjciI6InVybjppZHZlcmlmeTphY3I6aGlnaCIsImFtciI6WyJkb2MiLCJmYWNlIiwibWZhIiwic"
        "21zIl0sImF1dGhvcml6YXRpb25fZGV0YWlscyI6W3sidHlwZSI6ImxvYW5fYXBwbGljYXRpb24iLCJsb2FuX2FwcGxpY2F0a"
        "W9uX2lkIjoiTEEtMjAyNi0wMDAxIiwiYW1vdW50Ijp7InZhbHVlIjoiMTIwMDAuMDAiLCJjdXJyZW5jeSI6IkNOWSJ9LCJwY"
        "XlvdXRfYWNjb3VudF9oYXNoIjoiZF9YODRFeGR3LVpCTEtVcDFqSldIZFVkbDY0R0FwaGp6a1BRS0c5T0FENCJ9XX0.YiYiW"
        "UoaVxMbcTkMo9iJ3sNLVKFC-yeew-1iUg-02v3bF1JsukaPCyjggsD68e9MuEspAdUdIKE7Xe6VQsTfDg",
        "-2X2c6e9naYonwPUhxAPCQ", "2026-11-01T09:00:00+00:00", "2026-11-01T09:10:00+00:00",
    ),
    "lowercase_account": (
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImIxTF9HOUNveFFDUEV4Wm9LZ2VpTDZLcTM2ZW1pd09sWlE0MndxM1pYTTAiLCJ0eXAi"
        "OiJpZHZlcmlmeS12dCtqd3QifQ.eyJpc3MiOiJodHRwczovL2lkdmVyaWZ5LmV4YW1wbGUiLCJzdWIiOiJuckozV24tUk5Mc"
        "FBUMTZuVkxXVU1mZFg0eHRXeTBMa0xMaXB3U0pkYllNIiwiYXVkIjpbImxlbmRlci1hIiwibGVuZGVyLWIiXSwiaWF0IjoxN"
        "zkzNTIzNjAwLCJuYmYiOjE3OTM1MjM2MDAsImV4cCI6MTc5MzUyNDIwMCwianRpIjoiLTJYMmM2ZTluYVlvbndQVWh4QVBDU"
        "SIsInNpZCI6IlMtMSIsImFjciI6InVybjppZHZlcmlmeTphY3I6aGlnaCIsImFtciI6WyJkb2MiLCJmYWNlIiwibWZhIiwic"
        "21zIl0sImF1dGhvcml6YXRpb25fZGV0YWlscyI6W3sidHlwZSI6ImxvYW5fYXBwbGljYXRpb24iLCJsb2FuX2FwcGxpY2F0a"
        "W9uX2lkIjoiTEEtMjAyNi0wMDAxIiwiYW1vdW50Ijp7InZhbHVlIjoiMC41IiwiY3VycmVuY3kiOiJDTlkifSwicGF5b3V0X"
        "2FjY291bnRfaGFzaCI6ImRfWDg0RXhkdy1aQkxLVXAxakpXSGRVZGw2NEdBcGhqemtQUUtHOU9BRDQifV19.3eUfTBiJMSy9"
        "OrSqnQYJ8KEC8LI_HpdN0TTuKtg3KGeToK5-o5ek7AioO42dpOxpbJqiWm1bhwhgg0ju2h8_BA",
        "-2X2c6e9naYonwPUhxAPCQ", "2026-11-01T09:00:00+00:00", "2026-11-01T09:10:00+00:00",
    ),
    "all_options": (
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImIxTF9HOUNveFFDUEV4Wm9LZ2VpTDZLcTM2ZW1pd09sWlE0MndxM1pYTTAiLCJ0eXAi"
        "OiJpZHZlcmlmeS12dCtqd3QifQ.eyJpc3MiOiJodHRwczovL2lkdmVyaWZ5LmV4YW1wbGUiLCJzdWIiOiJuckozV24tUk5Mc"
        "FBUMTZuVkxXVU1mZFg0eHRXeTBMa0xMaXB3U0pkYllNIiwiYXVkIjpbImxlbmRlci1hIiwibGVuZGVyLWIiXSwiaWF0IjoxN"
        "zkzNTIzNjAwLCJuYmYiOjE3OTM1MjM2MDAsImV4cCI6MTc5MzUyMzY2MCwianRpIjoiLTJYMmM2ZTluYVlvbndQVWh4QVBDU"
        "SIsInNpZCI6IlMtMSIsImFjciI6InVybjppZHZlcmlmeTphY3I6aGlnaCIsImFtciI6WyJkb2MiLCJmYWNlIiwiaHdrIiwib"
        "WZhIiwic21zIiwic3drIl0sImF1dGhvcml6YXRpb25fZGV0YWlscyI6W3sidHlwZSI6ImxvYW5fYXBwbGljYXRpb24iLCJsb"
        "2FuX2FwcGxpY2F0aW9uX2lkIjoiTEEtMjAyNi0wMDAxIiwiYW1vdW50Ijp7InZhbHVlIjoiMTIwMDAuMDAiLCJjdXJyZW5je"
        "SI6IkNOWSJ9LCJwYXlvdXRfYWNjb3VudF9oYXNoIjoiT2ZuZ0JzczZpQUNLVjRnQ3U2TzdUR01jcWhla2o4RTB3aU1qaWc0d"
        "W9HRSJ9XSwiY25mIjp7ImprdCI6ImtQcktfcW14VldhWVZBOXd3QkY2SXVvM3ZWeno3VHhIQ1R3WEJ5Z3JTNGsifSwibGl2Z"
        "W5lc3MiOlsiY2FwdHVyZV9rZXkiLCJjb250aW51aXR5IiwibGlnaHQiXSwicGhvbmVfY2hhbmdlIjp7InJlY2VudCI6dHJ1Z"
        "Swic291cmNlIjoiY2FycmllcjpjbWNjIn19.yAVyuh-470PmhFHpfIA2hHXQuMvUM95GwzhN270Xrg3yTEoykGyXJDcGVVGE"
        "fmNNQJbokSUNsXxFFrkOGlyhBg",
        "-2X2c6e9naYonwPUhxAPCQ", "2026-11-01T09:00:00+00:00", "2026-11-01T09:01:00+00:00",
    ),
    "other_zone_now": (
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImIxTF9HOUNveFFDUEV4Wm9LZ2VpTDZLcTM2ZW1pd09sWlE0MndxM1pYTTAiLCJ0eXAi"
        "OiJpZHZlcmlmeS12dCtqd3QifQ.eyJpc3MiOiJodHRwczovL2lkdmVyaWZ5LmV4YW1wbGUiLCJzdWIiOiJuckozV24tUk5Mc"
        "FBUMTZuVkxXVU1mZFg0eHRXeTBMa0xMaXB3U0pkYllNIiwiYXVkIjpbImxlbmRlci1hIiwibGVuZGVyLWIiXSwiaWF0IjoxN"
        "zkzNTIzNjMwLCJuYmYiOjE3OTM1MjM2MzAsImV4cCI6MTc5MzUyNDIzMCwianRpIjoiLTJYMmM2ZTluYVlvbndQVWh4QVBDU"
        "SIsInNpZCI6IlMtMSIsImFjciI6InVybjppZHZlcmlmeTphY3I6aGlnaCIsImFtciI6WyJkb2MiLCJmYWNlIiwibWZhIiwic"
        "21zIl0sImF1dGhvcml6YXRpb25fZGV0YWlscyI6W3sidHlwZSI6ImxvYW5fYXBwbGljYXRpb24iLCJsb2FuX2FwcGxpY2F0a"
        "W9uX2lkIjoiTEEtMjAyNi0wMDAxIiwiYW1vdW50Ijp7InZhbHVlIjoiMTIwMDAuMDAiLCJjdXJyZW5jeSI6IkNOWSJ9LCJwY"
        "XlvdXRfYWNjb3VudF9oYXNoIjoiT2ZuZ0JzczZpQUNLVjRnQ3U2TzdUR01jcWhla2o4RTB3aU1qaWc0dW9HRSJ9XX0.8U2w4"
        "uv2WfJwgiV7iP6eIcUw8Uq1iem-oe1rE9Z1wGygiLm7DD3n9kAdzLQXLHxPlV7fSBrZe2YZ7sCApqWkAw",
        "-2X2c6e9naYonwPUhxAPCQ", "2026-11-01T17:00:30+08:00", "2026-11-01T17:10:30+08:00",
    ),
    "unicode_and_quotes": (
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImIxTF9HOUNveFFDUEV4Wm9LZ2VpTDZLcTM2ZW1pd09sWlE0MndxM1pYTTAiLCJ0eXAi"
        "OiJpZHZlcmlmeS12dCtqd3QifQ.eyJpc3MiOiJodHRwczovL2lkdmVyaWZ5LmV4YW1wbGUiLCJzdWIiOiJMTFpYaHRRUXdtd"
        "HJHNUtJQnJRZ2hUUGNXdGxiSlhYS3ZNdlg2ak0yRjhnIiwiYXVkIjpbImxlbmRlci1hIiwibGVuZGVyLWIiXSwiaWF0IjoxN"
        "zkzNTIzNjAwLCJuYmYiOjE3OTM1MjM2MDAsImV4cCI6MTc5MzUyNDIwMCwianRpIjoiLTJYMmM2ZTluYVlvbndQVWh4QVBDU"
        "SIsInNpZCI6IuS8muivnSAxIiwiYWNyIjoidXJuOmlkdmVyaWZ5OmFjcjpoaWdoIiwiYW1yIjpbImRvYyIsImZhY2UiLCJtZ"
        "mEiLCJzbXMiXSwiYXV0aG9yaXphdGlvbl9kZXRhaWxzIjpbeyJ0eXBlIjoibG9hbl9hcHBsaWNhdGlvbiIsImxvYW5fYXBwb"
        "GljYXRpb25faWQiOiLotLfmrL4tMSIsImFtb3VudCI6eyJ2YWx1ZSI6IjEyMDAwLjAwIiwiY3VycmVuY3kiOiJDTlkifSwic"
        "GF5b3V0X2FjY291bnRfaGFzaCI6Ik9mbmdCc3M2aUFDS1Y0Z0N1Nk83VEdNY3FoZWtqOEUwd2lNamlnNHVvR0UifV19.EAat"
        "22xF8uLjUEu2lCGZdKWswlEIDvIfVsZxFFEZRgBnstBWWOSjTtu5yvr880Jw9zSAAcqdMCxb7r-CXMSiAA",
        "-2X2c6e9naYonwPUhxAPCQ", "2026-11-01T09:00:00+00:00", "2026-11-01T09:10:00+00:00",
    ),
    "low": (
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImIxTF9HOUNveFFDUEV4Wm9LZ2VpTDZLcTM2ZW1pd09sWlE0MndxM1pYTTAiLCJ0eXAi"
        "OiJpZHZlcmlmeS12dCtqd3QifQ.eyJpc3MiOiJodHRwczovL2lkdmVyaWZ5LmV4YW1wbGUiLCJzdWIiOiJuckozV24tUk5Mc"
        "FBUMTZuVkxXVU1mZFg0eHRXeTBMa0xMaXB3U0pkYllNIiwiYXVkIjpbImxlbmRlci1hIiwibGVuZGVyLWIiXSwiaWF0IjoxN"
        "zkzNTIzNjAwLCJuYmYiOjE3OTM1MjM2MDAsImV4cCI6MTc5MzUyNDIwMCwianRpIjoiLTJYMmM2ZTluYVlvbndQVWh4QVBDU"
        "SIsInNpZCI6IlMtMSIsImFjciI6InVybjppZHZlcmlmeTphY3I6bG93IiwiYW1yIjpbInNtcyJdLCJhdXRob3JpemF0aW9uX"
        "2RldGFpbHMiOlt7InR5cGUiOiJsb2FuX2FwcGxpY2F0aW9uIiwibG9hbl9hcHBsaWNhdGlvbl9pZCI6IkxBLTIwMjYtMDAwM"
        "SIsImFtb3VudCI6eyJ2YWx1ZSI6IjEyMDAwLjAwIiwiY3VycmVuY3kiOiJDTlkifSwicGF5b3V0X2FjY291bnRfaGFzaCI6I"
        "k9mbmdCc3M2aUFDS1Y0Z0N1Nk83VEdNY3FoZWtqOEUwd2lNamlnNHVvR0UifV19.HsSPipBtZerKllNutVtHFz1La8y8--jW"
        "ItO_xcW7hwtwll4_fHBTKNPHH-KJJtT1JSQkaZtgOHBI8Vk1f_wADA",
        "-2X2c6e9naYonwPUhxAPCQ", "2026-11-01T09:00:00+00:00", "2026-11-01T09:10:00+00:00",
    ),
}


def _issuer(random: SeededRandom, secret: bytes = b"k" * 32, sector: str | None = None) -> JwsTokenIssuer:
    clock = FixedClock()
    ring = KeyRing.generate(clock.now(), random)
    return JwsTokenIssuer(key_ring=ring, issuer="https://idverify.example", audience=["lender-a", "lender-b"],
                          subject_secret=secret, clock=clock, random=random, sector=sector)


def _args(**overrides: Any) -> dict[str, Any]:
    return {"session_id": "S-1", "applicant_id": "applicant-42", "factors": ALL, "pad_ran": True, **LOAN, **overrides}


def _segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return value


def _claims(token: str) -> dict[str, Any]:
    return _segment(token, 1)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_token_bytes_are_as_pinned(case: str) -> None:
    issued = _issuer(SeededRandom(11)).issue(**_args(**CASES[case]))
    assert (issued.token, issued.jti, issued.issued_at.isoformat(), issued.expires_at.isoformat()) == PINNED[case]
    assert issued.kid == KID
    assert type(issued) is IssuedToken


def test_the_usual_inputs_take_the_one_regex_check() -> None:
    plain = "\x00".join(("S-1", "applicant-42", "LA-2026-0001", "12000.00", "CNY", "6222021234567890"))
    assert issuer_module._PLAIN_INPUTS.fullmatch(plain)


_ASCII_TEXT = st.one_of(
    st.text(st.characters(max_codepoint=0x7F), max_size=130),
    st.builds(lambda n, pad: pad[0] + "x" * n + pad[1], st.integers(0, 130),
              st.sampled_from([("", ""), (" ", ""), ("", " "), ("a", "b"), ("a", " b"), ("\x7f", "")])),
)


@settings(max_examples=600, deadline=None)
@given(_ASCII_TEXT)
def test_the_ascii_identifier_rule_is_is_identifiers(text: str) -> None:
    ours = re.fullmatch(issuer_module._ASCII_IDENTIFIER, text) is not None
    assert ours == client_claims.is_identifier(text)


_IDENTIFIERS = st.one_of(
    st.sampled_from(["S-1", "", " a", "a ", "a b", "x" * 128, "x" * 129, "会话", "a\x00b", "a\nb", '"q"\\', "~!"]),
    st.text(st.characters(max_codepoint=0x7F), max_size=130),
    st.text(max_size=6),
)
_AMOUNTS = st.one_of(
    st.sampled_from(["0", "00", "0.0", "0.00", "0.0001", "1", "01", "1.", ".5", "1.23456", "12000.00", "1e3", "+1",
                     "-1", " 1", "1 ", "1_000", "１２", "NaN", "Infinity", "9" * 18, "9" * 19, "0.00001"]),
    st.from_regex(r"[0-9.]{1,8}", fullmatch=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.just(12.5),
)
_CURRENCIES = st.sampled_from(["CNY", "cny", "CN", "CNYY", "ÇNY", " CNY"])
_ACCOUNTS = st.one_of(
    st.sampled_from(["6222021234567890", "gb82 west-1234", " - ", "", "a" * 64, "a" * 65, "acct/1", "ａ1", "ß1",
                     "a" * 60 + " - b"]),
    st.text(alphabet="aZ09 -/\x00", max_size=70),
)


def _outcome(issuer: JwsTokenIssuer, args: dict[str, Any]) -> tuple[str, str]:
    try:
        return "token", issuer.issue(**args).token
    except InvalidArgument as exc:
        return "refused", exc.code


@settings(max_examples=400, deadline=None)
@given(session_id=_IDENTIFIERS, applicant_id=_IDENTIFIERS, loan_application_id=_IDENTIFIERS,
       amount_value=_AMOUNTS, currency=_CURRENCIES, payout_account=_ACCOUNTS)
def test_the_one_regex_check_agrees_with_the_per_input_checks(**inputs: Any) -> None:
    args = _args(**inputs)
    fast = _outcome(_issuer(SeededRandom(3)), args)
    with mock.patch.object(issuer_module, "_PLAIN_INPUTS", re.compile(r"(?!)")):  # never matches: every input
        reference = _outcome(_issuer(SeededRandom(3)), args)  # goes through its own check
    assert fast == reference


@pytest.mark.parametrize("secret", [b"k" * 32, bytes(range(63)), bytes(range(64)), bytes(range(65)), b"s" * 200])
@pytest.mark.parametrize(("sector", "applicant_id"), [(None, "applicant-42"), ("lender-b", "申请人 42")])
def test_the_subject_is_pairwise_subject_for_any_secret_length(
    secret: bytes, sector: str | None, applicant_id: str
) -> None:
    issued = _issuer(SeededRandom(5), secret, sector).issue(**_args(applicant_id=applicant_id))
    assert _claims(issued.token)["sub"] == pairwise_subject(secret, sector or "lender-a", applicant_id)


def test_after_a_rotation_tokens_carry_the_new_kid_and_verify_with_the_new_key() -> None:
    issuer = _issuer(SeededRandom(11))
    old_kid = issuer.issue(**_args()).kid
    issuer.key_ring = issuer.key_ring.rotated(FixedClock().now(), SeededRandom(99))
    issued = issuer.issue(**_args())
    header = _segment(issued.token, 0)
    assert header["kid"] == issued.kid == issuer.key_ring.active.kid != old_kid
    verifier = TokenVerifier(issuer.key_ring, "https://idverify.example", "lender-a", clock=FixedClock())
    assert verifier.verify(issued.token).jti == issued.jti


def test_the_issued_token_is_the_dataclass_one() -> None:
    # _issued_token sets these slots itself: a new field, or a __post_init__, must be added there too.
    assert [f.name for f in dataclasses.fields(IssuedToken)] == ["token", "jti", "issued_at", "expires_at", "kid"]
    assert not hasattr(IssuedToken, "__post_init__")
    at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    made = issuer_module._issued_token("t.o.k", "jti", at, at + timedelta(seconds=600), "kid")
    assert type(made) is IssuedToken
    assert made == IssuedToken("t.o.k", "jti", at, at + timedelta(seconds=600), "kid")
    assert repr(made) == repr(IssuedToken("t.o.k", "jti", at, at + timedelta(seconds=600), "kid"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.token = "other"  # type: ignore[misc]


@pytest.mark.parametrize("shape", [frozenset, set, list, tuple])
@pytest.mark.parametrize("as_values", [False, True])
def test_assurance_is_the_same_for_factors_or_their_values_in_any_collection(shape: Any, as_values: bool) -> None:
    for factors in (ALL, ALL | {Factor.DEVICE_KEY}, {Factor.SMS_OTP}, {Factor.TOTP, Factor.FACE_MATCH_ENROLLED}):
        passed = shape(str(f) if as_values else f for f in factors)
        for pad_ran in (False, True):
            assert decide_assurance(passed, pad_ran=pad_ran) == decide_assurance(frozenset(factors), pad_ran=pad_ran)


def test_assurance_refuses_what_is_not_a_factor() -> None:
    for passed in (["sms_otp", "fingerprint"], [["sms_otp"]], [Factor.SMS_OTP, 7]):
        with pytest.raises(ValueError):
            decide_assurance(passed, pad_ran=False)  # type: ignore[arg-type]
    with pytest.raises(FailedPrecondition):
        decide_assurance(["liveness"], pad_ran=True)
