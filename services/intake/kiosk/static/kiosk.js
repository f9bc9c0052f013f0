// The kiosk page's behaviour; the page works without it (forms post, the receipt refreshes away).
// - idle reset: after data-idle-reset seconds without a touch, back to an empty form (replacing
//   this history entry, so Back shows nothing of the citizen's);
// - the receipt's print button, and the reset after printing;
// - a network error while sending keeps the form as typed and says to send again;
// - focus moves to what a swap brought (the error summary, the receipt's title).
(function () {
  "use strict";
  var body = document.body;
  var home = body.getAttribute("data-home") || "/kios";
  var timer = null;

  function reset() { window.location.replace(home); }
  function idleSeconds() { return parseInt(body.getAttribute("data-idle-reset"), 10) || 0; }
  function arm() {
    window.clearTimeout(timer);
    if (idleSeconds() > 0) { timer = window.setTimeout(reset, idleSeconds() * 1000); }  // 0: the web form
  }
  ["pointerdown", "keydown", "input", "touchstart", "wheel"].forEach(function (kind) {
    document.addEventListener(kind, arm, { passive: true, capture: true });
  });

  function prepare() {
    document.querySelectorAll("[data-print]").forEach(function (b) { b.hidden = false; });
    var focus = document.querySelector("[data-focus]");
    if (focus) {
      if (!focus.hasAttribute("tabindex")) { focus.setAttribute("tabindex", "-1"); }
      focus.focus();
    }
    arm();
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (target && target.closest("[data-print]")) {
      window.print();  // returns once printed (or the dialog closed): then, at a kiosk, a fresh form
      if (idleSeconds() > 0) { window.setTimeout(reset, 1000); }
      return;
    }
    var link = target && target.closest("a[href]");
    if (link && link.getAttribute("href") === home) {  // "Selesai": a fresh form, no new history entry
      event.preventDefault();
      reset();
    }
  });
  document.addEventListener("htmx:sendError", function () {
    var note = document.getElementById("network-error");
    if (note) { note.hidden = false; note.focus(); }
  });
  document.addEventListener("htmx:responseError", function () {
    var note = document.getElementById("network-error");
    if (note) { note.hidden = false; }
  });
  document.addEventListener("htmx:afterSettle", prepare);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", prepare);
  } else {
    prepare();
  }
})();
