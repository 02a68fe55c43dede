// agenttrace UI: progressive enhancement only; every page works without it.
(function () {
  "use strict";
  // Quick filters submit on change.
  document.querySelectorAll("select.autosubmit").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });

  // Run selection and the actions registered by other packages (web.Actions).
  var runs = document.getElementById("runs");
  if (runs) {
    var bar = runs.querySelector(".actions");
    var count = bar.querySelector(".selcount");
    var boxes = function () { return Array.prototype.slice.call(runs.querySelectorAll('input[name="run"]')); };
    var selected = function () { return boxes().filter(function (b) { return b.checked; }).map(function (b) { return b.value; }); };
    var update = function () {
      var ids = selected();
      var hasActions = bar.querySelector("button.action") !== null;
      count.textContent = ids.length ? ids.length + " selected" : (hasActions ? "Select runs to act on them" : "");
      bar.querySelectorAll("button.action").forEach(function (btn) {
        var min = parseInt(btn.dataset.min || "0", 10), max = parseInt(btn.dataset.max || "0", 10);
        // Min 0 with WithQuery: enabled with nothing selected (acts on everything matching q).
        var need = min > 0 ? min : (btn.dataset.withq === "true" ? 0 : 1);
        btn.disabled = ids.length < need || (max > 0 && ids.length > max);
      });
      boxes().forEach(function (b) { b.closest("tr").classList.toggle("selected", b.checked); });
    };
    runs.addEventListener("change", function (e) {
      if (e.target.classList.contains("selall")) {
        boxes().forEach(function (b) { b.checked = e.target.checked; });
      }
      update();
    });
    bar.addEventListener("click", function (e) {
      var btn = e.target.closest("button.action");
      if (!btn || btn.disabled) return;
      var ids = selected();
      var params = [];
      var names = (btn.dataset.params || "").split(",").filter(Boolean);
      ids.forEach(function (id, i) { params.push([names.length ? names[i] : "run", id]); });
      if (btn.dataset.withq === "true" && bar.dataset.q) params.push(["q", bar.dataset.q]);
      if (bar.dataset.agent) params.push(["agent", bar.dataset.agent]);
      if ((btn.dataset.method || "GET").toUpperCase() === "POST") {
        var f = document.createElement("form");
        f.method = "post";
        f.action = btn.dataset.path;
        var csrf = document.querySelector('input[name="csrf"]');
        if (csrf) params.push(["csrf", csrf.value]);
        params.forEach(function (p) {
          var inp = document.createElement("input");
          inp.type = "hidden"; inp.name = p[0]; inp.value = p[1];
          f.appendChild(inp);
        });
        document.body.appendChild(f);
        f.submit();
      } else {
        var qs = params.map(function (p) { return encodeURIComponent(p[0]) + "=" + encodeURIComponent(p[1]); }).join("&");
        window.location.href = btn.dataset.path + (qs ? "?" + qs : "");
      }
    });
    update();
  }

  // Folded payloads of big runs load from their raw link when opened.
  var loadLazy = function (d) {
    if (!d.open || d.dataset.loaded) return;
    d.dataset.loaded = "1";
    var pre = d.querySelector("pre");
    fetch(d.dataset.src, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(r.status + " " + r.statusText);
      return r.text();
    }).then(function (text) {
      var shown = text;
      try {
        var v = JSON.parse(text);
        shown = typeof v === "string" ? v : JSON.stringify(v, null, 2);
      } catch (e) { /* not JSON: show as is */ }
      pre.textContent = shown;
    }).catch(function (e) {
      pre.textContent = "Could not load: " + e.message;
      delete d.dataset.loaded;
    });
  };
  document.querySelectorAll("details.lazy").forEach(function (d) {
    d.addEventListener("toggle", function () { loadLazy(d); });
  });

  // Opening a step by its anchor unfolds its payloads and highlights it.
  var openHash = function () {
    if (!location.hash || location.hash.indexOf("#step-") !== 0) return;
    var el = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!el) return;
    el.querySelectorAll("details").forEach(function (d) { d.open = true; });
    document.querySelectorAll(".step.target").forEach(function (s) { s.classList.remove("target"); });
    el.classList.add("target");
  };
  window.addEventListener("hashchange", openHash);
  openHash();

  // Show times in the reader's time zone as a tooltip.
  document.querySelectorAll("[data-time]").forEach(function (el) {
    var d = new Date(el.dataset.time);
    if (!isNaN(d)) el.title = d.toLocaleString();
  });
})();
