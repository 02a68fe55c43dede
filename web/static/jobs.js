// agenttrace UI, pages of compare, re-run, exports and keys: progressive
// enhancement only (each page has a <noscript> refresh or works as is).
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // Option inputs submit their form on change (the export estimate).
  document.querySelectorAll("input.autosubmit").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });

  // A job or re-run page polls its status URL and reloads once it is done.
  var box = document.querySelector("[data-poll]");
  if (box) {
    var text = box.querySelector("[data-progress]");
    var bar = box.querySelector("progress");
    var delay = 700;
    var tick = function () {
      fetch(box.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
        if (!r.ok) throw new Error(r.status + " " + r.statusText);
        return r.json();
      }).then(function (s) {
        // Done, or a re-run's new run arrived while the page still waits for it.
        if (s.done || (s.arrived && box.dataset.arrived !== "1")) { location.reload(); return; }
        if (bar && typeof s.percent === "number") bar.value = s.percent;
        if (text && typeof s.runs_total === "number") {
          text.textContent = s.runs_written.toLocaleString() + " of " + s.runs_total.toLocaleString() + " runs written (" + s.status + ")";
        }
        delay = Math.min(delay * 1.3, 3000);
        setTimeout(tick, delay);
      }).catch(function () {
        delay = Math.min(delay * 2, 10000);
        setTimeout(tick, delay);
      });
    };
    setTimeout(tick, delay);
  }

  // The compare page opens at the first divergence.
  var div = document.getElementById("first-divergence");
  if (div && !location.hash) {
    div.open = true;
    history.replaceState(null, "", "#first-divergence");
    div.scrollIntoView({ block: "start" });
  }

  // Copy buttons (the new API key's secret).
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () {
      var el = document.getElementById(b.dataset.copy);
      var done = function () { b.textContent = "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(el.textContent).then(done, function () { select(el); });
      } else {
        select(el);
        try { if (document.execCommand("copy")) done(); } catch (e) { /* selected: copy by hand */ }
      }
    });
  });
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
})();
