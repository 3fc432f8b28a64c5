"""The realistic mix, as async gRPC clients (grpc.aio): each virtual user runs whole verifications back to back
(start, SMS code, check, complete, redeem) until the run's deadline or flow budget. Shares of them also race a
second lender's redemption through another replica, spend an SMS code's check budget across replicas, or compare
two real photographs (the face models: detection and embedding of both images).

Everything is recorded per RPC (latency, status, reason code); the invariants are checked afterwards
(bench/load/invariants.py) against what the clients saw and what the database holds.
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from idverify.api.v1 import (
    common_pb2,
    face_pb2,
    face_pb2_grpc,
    token_pb2,
    token_pb2_grpc,
    verification_pb2,
    verification_pb2_grpc,
)

CODE = re.compile(r"验证码(\d{6,8})")
AMOUNT = "1500.00"
SMS = verification_pb2.OTP_CHANNEL_SMS
MOBILE_PREFIXES = ("135", "136", "137", "138", "139", "150", "151", "158", "159", "186", "187", "188")


@dataclass
class Recorder:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    outcomes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    flows: Counter[str] = field(default_factory=Counter)
    started: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    redeemed: list[str] = field(default_factory=list)
    races: list[tuple[str, int]] = field(default_factory=list)  # (session, successful redemptions)
    otp_budget: list[tuple[int, bool]] = field(default_factory=list)  # (wrong codes judged, right code passed)
    face_scores: list[float] = field(default_factory=list)

    async def call(self, rpc: str, coro):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        code, reason = "OK", ""
        try:
            return await coro
        except grpc.aio.AioRpcError as err:
            code = err.code().name
            reason = reason_of(err)
            raise
        finally:
            self.latencies[rpc].append((time.perf_counter() - started) * 1000)
            self.outcomes[(rpc, code, reason)] += 1


def reason_of(err: grpc.aio.AioRpcError) -> str:
    return next((str(v) for k, v in (err.trailing_metadata() or ()) if k == "idverify-reason"), "")


class Outbox:
    """Follows the replicas' SMS outbox files (development SMS sender) and hands out the latest code per phone."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths = paths
        self._offsets = dict.fromkeys(paths, 0)
        self._codes: dict[str, str] = {}

    def _scan(self) -> None:
        for path in self._paths:
            if not path.exists():
                continue
            with path.open("rb") as fh:
                fh.seek(self._offsets[path])
                data = fh.read()
            complete = data.rfind(b"\n") + 1
            self._offsets[path] += complete
            for line in data[:complete].splitlines():
                record = json.loads(line)
                match = CODE.search(record["body"])
                if match:
                    self._codes[record["to"]] = match.group(1)

    async def code_for(self, phone: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._scan()
            if phone in self._codes:
                return self._codes.pop(phone)
            await asyncio.sleep(0.02)
        raise TimeoutError(f"no SMS code for a phone within {timeout} s")


def photo_pairs(folder: Path) -> list[tuple[bytes, bytes]]:
    """Genuine pairs from face-recognition-pivot.csv (read from ../shared/data, never copied into the repo)."""
    pairs = []
    with (folder / "face-recognition-pivot.csv").open() as fh:
        for row in csv.DictReader(fh):
            a, b = (folder / Path(row["file_x"]).name), (folder / Path(row["file_y"]).name)
            if row["decision"] == "Yes" and a.exists() and b.exists():
                pairs.append((a.read_bytes(), b.read_bytes()))
    return pairs


@dataclass
class Mix:
    race_share: float = 0.10
    otp_budget_share: float = 0.03
    face_share: float = 0.10


class Driver:
    """Runs ``users`` virtual users against ``target`` (nginx) with direct channels to each replica for the
    cross-replica checks."""

    def __init__(self, target: str, replicas: list[str], keys: dict[str, str], outbox: Outbox, mix: Mix,
                 photos: list[tuple[bytes, bytes]], seed: int = 7) -> None:
        self.rec = Recorder()
        self._target, self._replica_targets = target, replicas
        self._keys, self._outbox, self._mix, self._photos = keys, outbox, mix, photos
        self._rng = random.Random(seed)
        self._serial = 0
        self._payout: dict[str, str] = {}

    def _md(self, caller: str) -> tuple[tuple[str, str], ...]:
        return (("x-api-key", self._keys[caller]),)

    def _context(self) -> tuple[common_pb2.ApplicationContext, str]:
        self._serial += 1
        n, r = self._serial, self._rng
        ctx = common_pb2.ApplicationContext(
            applicant_id=f"load-{n}-{r.randrange(10**9)}", loan_application_id=f"LL-{n}",
            amount=common_pb2.Money(value=AMOUNT, currency="CNY"), device_id=f"dev-{r.randrange(10**12)}",
            client_ip=f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}", locale="zh-CN")
        # Distinct phones and payout accounts: one account shared by thousands of applicants is what the risk
        # rules exist to catch (they would step every verification up to liveness).
        phone = "+86" + r.choice(MOBILE_PREFIXES) + "".join(str(r.randrange(10)) for _ in range(8))
        self._payout[ctx.applicant_id] = "6222" + "".join(str(r.randrange(10)) for _ in range(12))
        return ctx, phone

    async def run(self, users: int, duration_s: float, max_flows: int) -> float:
        channels = [grpc.aio.insecure_channel(t) for t in [self._target, *self._replica_targets]]
        deadline = time.monotonic() + duration_s
        budget = [max_flows]
        started = time.perf_counter()
        try:
            await asyncio.gather(*(self._user(channels, deadline, budget) for _ in range(users)))
        finally:
            for ch in channels:
                await ch.close()
        return time.perf_counter() - started

    async def _user(self, channels: list[grpc.aio.Channel], deadline: float, budget: list[int]) -> None:
        while time.monotonic() < deadline and budget[0] > 0:
            budget[0] -= 1
            roll = self._rng.random()
            kind = "otp"
            if roll < self._mix.face_share and self._photos:
                kind = "face"
            elif roll < self._mix.face_share + self._mix.otp_budget_share:
                kind = "otp_budget"
            elif roll < self._mix.face_share + self._mix.otp_budget_share + self._mix.race_share:
                kind = "race"
            try:
                if kind == "face":
                    await self._face(channels[0])
                elif kind == "otp_budget":
                    await self._otp_budget(channels)
                else:
                    await self._verification(channels, race=kind == "race")
                self.rec.flows[f"{kind}_ok"] += 1
            except (grpc.aio.AioRpcError, TimeoutError, AssertionError) as err:
                self.rec.flows[f"{kind}_failed:{type(err).__name__}"] += 1

    async def _start_and_send(self, nginx: grpc.aio.Channel) -> tuple[common_pb2.ApplicationContext, str, str]:
        ctx, phone = self._context()
        v = verification_pb2_grpc.VerificationServiceStub(nginx)
        request = verification_pb2.StartVerificationRequest(context=ctx, phone_e164=phone,
                                                            payout_account=self._payout[ctx.applicant_id])
        started = await self.rec.call("StartVerification", v.StartVerification(
            request, metadata=self._md("backend"), timeout=30))
        session = started.verification.session_id
        self.rec.started.append(session)
        await self.rec.call("SendOtp", v.SendOtp(verification_pb2.SendOtpRequest(context=ctx, session_id=session),
                                                 metadata=self._md("backend"), timeout=30))
        return ctx, phone, session

    async def _verification(self, channels: list[grpc.aio.Channel], race: bool) -> None:
        nginx = channels[0]
        v = verification_pb2_grpc.VerificationServiceStub(nginx)
        ctx, phone, session = await self._start_and_send(nginx)
        code = await self._outbox.code_for(phone)
        checked = await self.rec.call("CheckOtp", v.CheckOtp(verification_pb2.CheckOtpRequest(
            context=ctx, session_id=session, code=code, channel=SMS), metadata=self._md("backend"), timeout=30))
        assert checked.result.outcome == common_pb2.FACTOR_OUTCOME_PASSED, checked.result.reason_code
        done = await self.rec.call("CompleteVerification", v.CompleteVerification(
            verification_pb2.CompleteVerificationRequest(context=ctx, session_id=session),
            metadata=self._md("backend"), timeout=30))
        self.rec.completed.append(session)
        request = token_pb2.RedeemTokenRequest(token=done.token, loan_application_id=ctx.loan_application_id,
                                               amount=ctx.amount, payout_account=self._payout.pop(ctx.applicant_id))
        if not race:
            await self.rec.call("RedeemToken", token_pb2_grpc.TokenServiceStub(nginx).RedeemToken(
                request, metadata=self._md("loans-a"), timeout=30))
            self.rec.redeemed.append(session)
            return
        # Two lenders at once, through nginx and straight to a replica: exactly one may win.
        other = channels[1 + self._rng.randrange(len(channels) - 1)]
        attempts = await asyncio.gather(
            self.rec.call("RedeemToken", token_pb2_grpc.TokenServiceStub(nginx).RedeemToken(
                request, metadata=self._md("loans-a"), timeout=30)),
            self.rec.call("RedeemToken", token_pb2_grpc.TokenServiceStub(other).RedeemToken(
                request, metadata=self._md("loans-b"), timeout=30)),
            return_exceptions=True)
        wins = sum(1 for a in attempts if not isinstance(a, BaseException))
        losses = [a for a in attempts if isinstance(a, BaseException)]
        assert all(isinstance(a, grpc.aio.AioRpcError) and reason_of(a) == "token_redeemed" for a in losses), losses
        self.rec.races.append((session, wins))
        if wins:
            self.rec.redeemed.append(session)

    async def _otp_budget(self, channels: list[grpc.aio.Channel]) -> None:
        """Seven wrong codes spread over every replica, then the right one: at most max_checks_per_code (5) wrong
        codes may be judged, and the right code must not pass once the budget is spent."""
        ctx, phone, session = await self._start_and_send(channels[0])
        code = await self._outbox.code_for(phone)
        wrong = f"{(int(code) + 1) % 10**len(code):0{len(code)}d}"
        judged = 0
        targets = channels[1:] or channels
        for attempt in range(7):
            stub = verification_pb2_grpc.VerificationServiceStub(targets[attempt % len(targets)])
            try:
                reply = await self.rec.call("CheckOtp", stub.CheckOtp(verification_pb2.CheckOtpRequest(
                    context=ctx, session_id=session, code=wrong, channel=SMS), metadata=self._md("backend"),
                    timeout=30))
                judged += reply.result.outcome == common_pb2.FACTOR_OUTCOME_FAILED
            except grpc.aio.AioRpcError:
                pass
        stub = verification_pb2_grpc.VerificationServiceStub(targets[0])
        passed = False
        try:
            reply = await self.rec.call("CheckOtp", stub.CheckOtp(verification_pb2.CheckOtpRequest(
                context=ctx, session_id=session, code=code, channel=SMS), metadata=self._md("backend"), timeout=30))
            passed = reply.result.outcome == common_pb2.FACTOR_OUTCOME_PASSED
        except grpc.aio.AioRpcError:
            pass
        self.rec.otp_budget.append((judged, passed))

    async def _face(self, nginx: grpc.aio.Channel) -> None:
        a, b = self._photos[self._rng.randrange(len(self._photos))]
        reply = await self.rec.call("CompareFaces", face_pb2_grpc.FaceServiceStub(nginx).CompareFaces(
            face_pb2.CompareFacesRequest(image_a=a, image_b=b, comparison=face_pb2.COMPARISON_SELFIE_VS_DOCUMENT),
            metadata=self._md("analyst"), timeout=60))
        self.rec.face_scores.append(reply.score)
