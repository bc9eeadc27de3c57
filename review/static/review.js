// berthwatch review: keyboard shortcuts. Plain JS, no dependencies, no inline handlers (CSP).
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function go(url) { if (url) { window.location.assign(url); } }

  // --- queue page: j/k select a row, Enter or o opens it ---------------------------------------
  function setupQueue(table) {
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr.row"));
    var current = rows.length ? 0 : -1;
    function select(i) {
      if (!rows.length) { return; }
      current = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach(function (r, k) { r.classList.toggle("selected", k === current); });
      rows[current].scrollIntoView({ block: "nearest" });
    }
    select(0);
    rows.forEach(function (r, k) { r.addEventListener("click", function () { select(k); }); });
    document.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) { return; }
      if (ev.key === "j") { select(current + 1); ev.preventDefault(); }
      else if (ev.key === "k") { select(current - 1); ev.preventDefault(); }
      else if ((ev.key === "Enter" || ev.key === "o") && current >= 0) {
        go(rows[current].getAttribute("data-url")); ev.preventDefault();
      }
    });
  }

  // --- detail page: y/n/u decide, 0-4 label, c note, j/k next/previous -------------------------
  function setupDetail(form, pager) {
    var buttons = { y: "btn-confirmed", n: "btn-rejected", u: "btn-unsure" };
    var labels = form.querySelectorAll("input[name=label]");
    var submitted = false;
    form.addEventListener("submit", function (ev) {
      if (submitted) { ev.preventDefault(); }  // one decision per page: no double posts
      submitted = true;
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
      if (typing(ev.target)) {
        if (ev.key === "Escape") { ev.target.blur(); }
        return;
      }
      if (buttons[ev.key]) {
        var button = document.getElementById(buttons[ev.key]);
        if (button && !submitted) { ev.preventDefault(); form.requestSubmit(button); }
      } else if (ev.key >= "0" && ev.key <= "4" && labels[Number(ev.key)]) {
        labels[Number(ev.key)].checked = true; ev.preventDefault();
      } else if (ev.key === "c") {
        document.getElementById("note").focus(); ev.preventDefault();
      } else if (ev.key === "j") {
        go(pager.getAttribute("data-next")); ev.preventDefault();
      } else if (ev.key === "k") {
        go(pager.getAttribute("data-prev")); ev.preventDefault();
      } else if (ev.key === "q") {
        go(pager.getAttribute("data-queue")); ev.preventDefault();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("queue");
    if (table) { setupQueue(table); }
    var form = document.getElementById("decide-form");
    var pager = document.getElementById("pager");
    if (form && pager) { setupDetail(form, pager); }
  });
})();
