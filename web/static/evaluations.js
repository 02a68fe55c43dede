// agenttrace evaluations UI: progressive enhancement only (every page works without it).
(function () {
  "use strict";
  // Evaluator form: show the configuration of the chosen kind, and the
  // parameters of the chosen built-in check.
  var form = document.getElementById("evaluator-form");
  if (form) {
    var kinds = form.querySelectorAll('input[name="kind"]');
    var showKind = function () {
      var k = form.querySelector('input[name="kind"]:checked');
      form.querySelectorAll("fieldset.kindcfg").forEach(function (fs) {
        fs.hidden = !!k && fs.dataset.kind !== k.value;
      });
    };
    kinds.forEach(function (r) { r.addEventListener("change", showKind); });
    showKind();
    var check = document.getElementById("ev-check");
    var showParams = function () {
      form.querySelectorAll(".params [data-checks]").forEach(function (el) {
        el.hidden = el.dataset.checks.split(" ").indexOf(check.value) < 0;
      });
    };
    if (check) { check.addEventListener("change", showParams); showParams(); }
    // Clicking an example puts it into the expression box.
    var expr = document.getElementById("ev-expr");
    form.querySelectorAll("code.example").forEach(function (c) {
      var use = function () { expr.value = c.textContent; expr.focus(); };
      c.addEventListener("click", use);
      c.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); use(); } });
    });
  }
  var del = document.getElementById("delete-form");
  if (del) {
    del.addEventListener("submit", function (e) {
      if (!window.confirm("Delete this evaluator? Its verdicts stay as history.")) e.preventDefault();
    });
  }

  // Job page: poll the progress until the job ends, then reload for the results.
  var box = document.getElementById("progress");
  if (box && box.dataset.done !== "true") {
    var bar = document.getElementById("job-progress");
    var text = document.getElementById("progress-text");
    var badge = document.getElementById("job-status");
    var fmt = function (n) { return Number(n).toLocaleString("en-US"); };
    var tick = function () {
      fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      }).then(function (s) {
        var total = s.total || 0;
        bar.max = total || 1;
        bar.value = total ? s.progress : (s.done ? 1 : 0);
        var pct = total ? Math.min(100, Math.floor(s.progress * 100 / total)) : (s.done ? 100 : 0);
        text.textContent = fmt(s.progress) + " / " + fmt(total) + " runs (" + pct + "%)";
        badge.textContent = s.status;
        if (s.done) { window.location.reload(); return; }
        setTimeout(tick, 1000);
      }).catch(function () { setTimeout(tick, 3000); });
    };
    setTimeout(tick, 700);
  }
})();
