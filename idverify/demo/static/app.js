// The reference capture page: plain JavaScript, no build step. It talks only to the demo app backend (/api/...),
// which holds the API key and calls idverify over gRPC.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { handle: null, required: [], challenge: null, stream: null, key: null, config: {} };

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

// The lender's app knows its installation; the page keeps a random id per browser (challenge limits count per
// device).
function deviceId() {
  let id = localStorage.getItem("idverify-demo-device");
  if (!id) {
    id = "web-" + Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem("idverify-demo-device", id);
  }
  return id;
}

function nextAfterOtp() {
  if (state.required.includes("document")) { show("document"); }
  else if (state.required.includes("liveness")) { show("liveness"); }
  else { show("done"); }
}

// ---- capture key: one non-extractable ECDSA P-256 key per challenge; its public half is registered with the
// challenge and every frame is signed (docs/liveness.md, section 3) ----
async function captureKey() {
  if (!window.crypto || !crypto.subtle) { return null; }
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { privateKey: pair.privateKey, jwk: JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }) };
}
function b64(bytes) {
  let s = "";
  const view = new Uint8Array(bytes);
  for (let i = 0; i < view.length; i += 0x8000) { s += String.fromCharCode(...view.subarray(i, i + 0x8000)); }
  return btoa(s);
}
function uint64be(value) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}
// sha256(image) || nonce (ASCII) || sequence (8 bytes BE) || captured_at_ms (8 bytes BE); WebCrypto returns the
// IEEE P1363 form (r || s) the server expects.
async function signFrame(key, nonce, sequence, capturedAt, jpeg) {
  if (!key) { return ""; }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", jpeg));
  const nonceBytes = new TextEncoder().encode(nonce);
  const data = new Uint8Array(digest.length + nonceBytes.length + 16);
  data.set(digest, 0);
  data.set(nonceBytes, digest.length);
  data.set(uint64be(sequence), digest.length + nonceBytes.length);
  data.set(uint64be(capturedAt), digest.length + nonceBytes.length + 8);
  return b64(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, data));
}

// The capture plan for a challenge (docs/liveness.md, section 2): a short lead-in, the light steps (each colour
// full-screen for its duration), then the head poses; one frame every `interval` ms throughout, as one
// continuous capture that fits the server's frame rules. Returns {interval, lead, light: [[from, to]],
// poses: [[from, to]], end}, in ms from the camera start.
function capturePlan(challenge) {
  const rules = challenge.capture;
  const interval = Math.max(rules.min_interval_ms + 1, Math.min(90, rules.max_median_interval_ms - 5));
  const lead = 300;
  const light = [];
  let t = lead;
  for (const step of challenge.light_steps) { light.push([t, t + step.duration_ms]); t += step.duration_ms; }
  const budget = (rules.max_frames - 2) * interval - t;
  const perPose = Math.max(800, Math.min(2000, Math.floor(budget / challenge.steps.length)));
  const poses = challenge.steps.map((_, i) => [t + i * perPose, t + (i + 1) * perPose]);
  return { interval, lead, light, poses, end: t + challenge.steps.length * perPose };
}
window.capturePlan = capturePlan;
window.captureState = state;

function phaseAt(plan, offset) {
  const light = plan.light.findIndex(([from, to]) => offset >= from && offset < to);
  if (light >= 0) { return { light: light + 1, pose: -1 }; }
  const pose = plan.poses.findIndex(([from, to]) => offset >= from && offset < to);
  return { light: 0, pose };
}

function hex(rgb) { return "#" + rgb.toString(16).padStart(6, "0"); }

async function runCapture() {
  const challenge = state.challenge;
  message("info", "");
  document.body.dataset.capture = "starting";
  document.body.dataset.reasons = "";
  $("liveness-result").replaceChildren();
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
  const plan = capturePlan(challenge);
  const flash = $("flash");
  const items = document.querySelectorAll("#challenge li");
  const pending = [];
  document.body.dataset.capture = "running";
  $("guidance").textContent = t("get_ready");
  // Frames are grabbed on a fixed clock (drawImage is quick); encoding and signing run beside it, so a slow
  // device keeps the interval. The camera's pixels are not mirrored (only the preview is): mirrored = false.
  const start = performance.now();
  let shown = { light: -1, pose: -2 };
  let last = -Infinity, lastFrame = -1, presented = 0;
  // Count the frames the camera delivers, so one camera frame is never sent twice (a slow device may wake the
  // page faster than its camera delivers).
  const counting = "requestVideoFrameCallback" in video;
  const onFrame = (_now, meta) => { presented = meta.presentedFrames; video.requestVideoFrameCallback(onFrame); };
  if (counting) { video.requestVideoFrameCallback(onFrame); }
  for (let sequence = 0; ; sequence += 1) {
    // On the planned clock, but never closer than the server's smallest interval after a late frame.
    const due = Math.max(start + sequence * plan.interval, last + challenge.capture.min_interval_ms + 4);
    if (due - start >= plan.end) { break; }
    await sleep(Math.max(0, due - performance.now()));
    for (let waited = 0; counting && presented === lastFrame && waited < 100; waited += 5) { await sleep(5); }
    lastFrame = presented;
    const phase = phaseAt(plan, performance.now() - start);
    if (phase.light !== shown.light || phase.pose !== shown.pose) {
      if (phase.light > 0) {
        flash.style.background = hex(challenge.light_steps[phase.light - 1].rgb);
        flash.hidden = false;
      } else {
        flash.hidden = true;
      }
      if (phase.pose >= 0) {
        items.forEach((li, n) => { li.className = n === phase.pose ? "active" : ""; });
        $("guidance").textContent = challenge.steps[phase.pose].guidance;
      }
      shown = phase;
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    const capturedAt = Date.now();
    last = performance.now();
    pending.push(new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85)).then(async (blob) => {
      const jpeg = await blob.arrayBuffer();
      return { image: b64(jpeg), captured_at_ms: capturedAt, sequence, light_step: phase.light,
               signature: await signFrame(state.key, challenge.nonce, sequence, capturedAt, jpeg) };
    }));
  }
  flash.hidden = true;
  $("guidance").textContent = t("sending");
  document.body.dataset.capture = "sending";
  state.stream.getTracks().forEach((track) => track.stop());
  state.stream = null;
  const frames = await Promise.all(pending);
  let result;
  try {
    result = await api("liveness/frames", {
      challenge_id: challenge.challenge_id, nonce: challenge.nonce, frames,
      calibration_consent: $("calibration").checked,
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
                                         consent: true, locale: locale(), device_id: deviceId() });
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
    state.key = await captureKey();
    const challenge = await api("liveness/start", { mirrored: false, capture_key_jwk: state.key ? state.key.jwk : "" });
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
