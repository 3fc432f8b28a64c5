// idverify staff console: live SLA timers. Progressive enhancement only; every page works without it.
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
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 30000); });
})();
