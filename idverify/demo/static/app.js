// The reference capture page: plain JavaScript, no build step. It talks only to the demo app backend (/api/...),
// which holds the API key and calls idverify over gRPC.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { handle: null, required: [], challenge: null, stream: null, config: {} };
// Liveness capture schedule (ms). Each asked pose gets SETTLE ms to get there, then FRAMES_PER_STEP frames.
const PREROLL_MS = 1000, SETTLE_MS = 1200, FRAME_GAP_MS = 300, FRAMES_PER_STEP = 3, PREROLL_FRAMES = 2;

function locale() { return $("locale").value; }
function t(key) { return (TEXTS[locale()] || TEXTS["zh-CN"])[key] || key; }
function translate() {
  document.documentElement.lang = locale();
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
}
function show(step) {
  document.querySelectorAll(".step").forEach((s) => { s.hidden = s.id !== "step-" + step; });
  let passed = true;
  document.querySelectorAll("#progress li").forEach((li) => {
    if (li.dataset.step === step) { passed = false; li.className = "current"; }
    else { li.className = passed ? "done" : ""; }
  });
  document.body.dataset.step = step;
}
function message(kind, text) {
  const el = $(kind);
  el.textContent = text || "";
  el.hidden = !text;
  if (kind === "error" && text) { $("info").hidden = true; }
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function api(path, body) {
  message("error", "");
  let response;
  try {
    response = await fetch("/api/" + path, {
      method: body === undefined ? "GET" : "POST",
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify({ handle: state.handle, ...body }),
    });
  } catch (e) {
    message("error", t("network"));
    throw e;
  }
  const data = await response.json();
  if (!response.ok) {
    message("error", data.message || data.reason);
    document.body.dataset.lastReason = data.reason || "";
    throw new Error(data.reason);
  }
  return data;
}

async function busy(button, work) {
  button.disabled = true;
  try { await work(); } catch (e) { /* shown already */ } finally { button.disabled = false; }
}

function fileAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = reject;
    reader.readAsDataURL(file);
  });
}

function resultBlock(title, result) {
  const div = document.createElement("div");
  div.className = "result " + result.outcome;
  div.dataset.factor = result.factor;
  div.dataset.outcome = result.outcome;
  div.textContent = title + ": " + (result.message || result.outcome);
  return div;
}

function nextAfterOtp() {
  if (state.required.includes("document")) { show("document"); }
  else if (state.required.includes("liveness")) { show("liveness"); }
  else { show("done"); }
}

// ---- capture key: one non-extractable ECDSA P-256 key per challenge signs every frame with the nonce ----
async function captureKey() {
  if (!window.crypto || !crypto.subtle) { return null; }
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const publicJwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { pair, publicJwk };
}
function b64(bytes) {
  let s = "";
  new Uint8Array(bytes).forEach((b) => { s += String.fromCharCode(b); });
  return btoa(s);
}
async function signFrame(key, nonce, seq, capturedAt, jpeg) {
  if (!key) { return ""; }
  const digest = await crypto.subtle.digest("SHA-256", jpeg);
  const text = new TextEncoder().encode(`${nonce}.${seq}.${capturedAt}.${b64(digest)}`);
  return b64(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.pair.privateKey, text));
}

async function grabFrame(video) {
  const canvas = $("grab");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  // Frames are taken from the camera unmirrored (only the preview is mirrored), so `mirrored` is false once.
  canvas.getContext("2d").drawImage(video, 0, 0);
  const capturedAt = Date.now();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
  return { capturedAt, jpeg: await blob.arrayBuffer() };
}

// [offset ms from the camera start, step index (-1: before the first step), frame (true) or guidance (false)].
function capturePlan(stepCount) {
  const plan = [];
  let t = PREROLL_MS;
  for (let i = 0; i < PREROLL_FRAMES; i += 1) { plan.push([t, -1, true]); t += FRAME_GAP_MS; }
  for (let s = 0; s < stepCount; s += 1) {
    plan.push([t, s, false]);
    t += SETTLE_MS;
    for (let i = 0; i < FRAMES_PER_STEP; i += 1) { plan.push([t, s, true]); t += FRAME_GAP_MS; }
  }
  return plan;
}
window.capturePlan = capturePlan;

function colourAt(challenge, index) {
  const colours = challenge.colours || [];
  return colours.length ? colours[index % colours.length] : null;
}

async function runCapture() {
  const challenge = state.challenge;
  const video = $("preview");
  try {
    state.stream = state.stream || await navigator.mediaDevices.getUserMedia(
      { video: { facingMode: "user", width: 640, height: 480 }, audio: false });
  } catch (e) {
    message("error", t("camera_denied"));
    return;
  }
  video.srcObject = state.stream;
  await video.play();
  const key = await captureKey();
  const frames = [];
  let seq = 0;
  const take = async () => {
    const colour = colourAt(challenge, seq);
    const flash = $("flash");
    if (colour) { flash.style.background = colour; flash.hidden = false; await sleep(120); }
    const { capturedAt, jpeg } = await grabFrame(video);
    frames.push({ image: b64(jpeg), captured_at_ms: capturedAt, seq, colour: colour || "",
                  signature: await signFrame(key, challenge.nonce, seq, capturedAt, jpeg) });
    seq += 1;
    flash.hidden = true;
  };
  $("guidance").textContent = t("get_ready");
  document.body.dataset.capture = "running";
  // Every frame is taken at a planned time from the start (not after the previous one's work), so the
  // capture keeps to the schedule however slow the device is.
  const start = performance.now();
  const at = (offset) => sleep(Math.max(0, start + offset - performance.now()));
  const items = document.querySelectorAll("#challenge li");
  for (const [offset, stepIndex, isFrame] of capturePlan(challenge.steps.length)) {
    await at(offset);
    if (!isFrame) {
      items.forEach((li, n) => { li.className = n === stepIndex ? "active" : ""; });
      $("guidance").textContent = challenge.steps[stepIndex].guidance;
    } else {
      await take();
    }
  }
  $("guidance").textContent = t("sending");
  document.body.dataset.capture = "sending";
  state.stream.getTracks().forEach((track) => track.stop());
  state.stream = null;
  let result;
  try {
    result = await api("liveness/frames", {
      challenge_id: challenge.challenge_id, nonce: challenge.nonce, mirrored: false, frames,
      capture_public_key: key ? key.publicJwk : null, calibration_consent: $("calibration").checked,
    });
  } catch (e) {
    document.body.dataset.capture = "error";
    return;
  }
  $("guidance").textContent = "";
  document.body.dataset.reasons = (result.reason_codes || []).join(",");
  const out = $("liveness-result");
  out.replaceChildren(resultBlock(t("liveness"), result));
  (result.face_matches || []).forEach((m) => {
    out.appendChild(resultBlock(t(m.factor === "face_match_document" ? "face_document" : "face_enrolled"), m));
  });
  const allPassed = result.outcome === "passed" && (result.face_matches || []).every((m) => m.outcome === "passed");
  document.body.dataset.capture = allPassed ? "passed" : "failed";
  if (allPassed) { show("done"); $("step-liveness").hidden = false; }
  else { $("get-challenge").textContent = t("retry"); }
}

function wire() {
  $("locale").addEventListener("change", translate);
  $("start").addEventListener("click", () => busy($("start"), async () => {
    if (!$("consent").checked) { message("error", t("consent_needed")); return; }
    const started = await api("start", { phone: $("phone").value, amount: $("amount").value,
                                         consent: true, locale: locale() });
    state.handle = started.handle;
    state.required = started.required;
    document.body.dataset.loan = started.loan_id;
    show("otp");
  }));
  $("send-otp").addEventListener("click", () => busy($("send-otp"), async () => {
    const sent = await api("otp/send", {});
    message("info", t("otp_sent"));
    if (sent.dev_code) { $("dev-code").textContent = sent.dev_code; $("dev-code-row").hidden = false; }
  }));
  $("check-otp").addEventListener("click", () => busy($("check-otp"), async () => {
    const result = await api("otp/check", { code: $("otp").value.trim() });
    if (result.outcome === "passed") { message("info", ""); nextAfterOtp(); }
    else { message("error", result.message); }
  }));
  $("submit-doc").addEventListener("click", () => busy($("submit-doc"), async () => {
    const front = $("front").files[0];
    if (!front) { message("error", t("no_file")); return; }
    const back = $("back").files[0];
    const result = await api("document", { front: await fileAsDataUrl(front),
                                           back: back ? await fileAsDataUrl(back) : "" });
    if (result.outcome === "passed") { message("info", result.message); show("liveness"); }
    else { message("error", result.message); document.body.dataset.lastReason = result.reason_code; }
  }));
  $("get-challenge").addEventListener("click", () => busy($("get-challenge"), async () => {
    $("liveness-result").replaceChildren();
    const challenge = await api("liveness/start", {});
    state.challenge = challenge;
    const list = $("challenge");
    list.replaceChildren(...challenge.steps.map((s) => {
      const li = document.createElement("li");
      li.textContent = s.guidance;
      return li;
    }));
    list.dataset.poses = challenge.steps.map((s) => s.pose).join(",");
    $("get-challenge").textContent = t("retry");
    $("start-capture").hidden = false;
  }));
  $("start-capture").addEventListener("click", () => busy($("start-capture"), async () => {
    $("start-capture").hidden = true;
    $("get-challenge").disabled = true;
    try { await runCapture(); } finally { $("get-challenge").disabled = false; }
  }));
  $("complete").addEventListener("click", () => busy($("complete"), async () => {
    const done = await api("complete", {});
    $("token").textContent = done.token;
    const loan = done.loan;
    const div = document.createElement("div");
    div.className = "result " + (loan.disbursed ? "passed" : "failed");
    div.id = loan.disbursed ? "loan-paid" : "loan-refused";
    div.textContent = loan.disbursed ? `${t("loan_paid")} (${loan.acr}; ${loan.amr.join(", ")})`
                                     : t("loan_refused") + (loan.message || loan.reason);
    $("loan-result").replaceChildren(div);
  }));
}

async function init() {
  const wanted = new URLSearchParams(location.search).get("lang");
  if (wanted === "en" || wanted === "zh-CN") { $("locale").value = wanted; }
  translate();
  wire();
  show("start");
  state.config = await api("config");
  $("calibration-row").hidden = !state.config.record_poses;
}
init();
