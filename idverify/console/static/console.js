// idverify staff console. Progressive enhancement only; every page works without it.
// 1. Live SLA timers. 2. The evidence bundle's Ed25519 signature checked again in the browser with WebCrypto,
//    against the service's published keys, independently of the console's own server-side check.
"use strict";
(function () {
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
        m = Math.floor((s % 3600) / 60);
    if (d) { return d + "d " + h + "h"; }
    if (h) { return h + "h " + (m < 10 ? "0" : "") + m + "m"; }
    return m + "m";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".sla[data-deadline]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("data-deadline")) - now;
      if (isNaN(left)) { return; }
      el.textContent = (left < 0 ? el.getAttribute("data-overdue-by") : el.getAttribute("data-due-in")) + " " + span(left);
      el.classList.toggle("late", left < 0);
    });
  }
  function bytes(b64url) {
    var text = atob(b64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b64url.length + 3) % 4));
    var out = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) { out[i] = text.charCodeAt(i); }
    return out;
  }
  async function verifyEvidence(el) {
    var parts = el.getAttribute("data-jws").split(".");
    if (parts.length !== 3) { return false; }
    var header = JSON.parse(new TextDecoder().decode(bytes(parts[0])));
    if (header.typ !== "idverify-evidence+jwt" || (header.alg !== "EdDSA" && header.alg !== "Ed25519")) { return false; }
    var jwk = JSON.parse(el.getAttribute("data-jwks")).keys.find(function (k) {
      return k.kid === header.kid && k.kty === "OKP" && k.crv === "Ed25519";
    });
    if (!jwk) { return false; }
    var key = await crypto.subtle.importKey("jwk", {kty: "OKP", crv: "Ed25519", x: jwk.x}, {name: "Ed25519"},
                                            false, ["verify"]);
    return crypto.subtle.verify({name: "Ed25519"}, key, bytes(parts[2]),
                                new TextEncoder().encode(parts[0] + "." + parts[1]));
  }
  async function checkEvidence() {
    var el = document.getElementById("browser-signature-status");
    if (!el) { return; }
    var outcome;
    try {
      outcome = (await verifyEvidence(el)) ? "true" : "false";
    } catch (err) {
      outcome = (err && err.name === "NotSupportedError") ? "unsupported" : "false";
    }
    el.setAttribute("data-valid", outcome);
    el.textContent = el.getAttribute({"true": "data-valid-text", "false": "data-invalid-text",
                                      "unsupported": "data-unsupported-text"}[outcome]);
    el.classList.toggle("ok", outcome === "true");
    el.classList.toggle("bad", outcome === "false");
  }
  window.idverifyCheckEvidence = checkEvidence;  // the browser test re-runs it on a tampered copy
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 30000);
    checkEvidence();
  });
})();
