/* hocba-ledger: checks each grade as it is typed, by the rule the service applies on saving
   (TT22 Đ.5, Đ.6): a score from 0 to 10 with at most one decimal, "8,5" or "8.5"; or Đ / CĐ for a
   comment-only subject. The page works without this script; the service checks every value again. */
(function () {
  "use strict";
  var SCORE = /^\d{1,2}(?:[.,]\d)?$/;

  function valid(input) {
    var value = input.value.trim();
    if (value === "") { return true; }
    if (input.dataset.kind === "score") {
      return SCORE.test(value) && parseFloat(value.replace(",", ".")) <= 10;
    }
    return value === "Đ" || value === "CĐ";
  }

  function check(input) {
    var ok = valid(input);
    input.setAttribute("aria-invalid", ok ? "false" : "true");
    var note = document.getElementById(input.id + "-msg");
    if (note) { note.textContent = ok ? "" : input.dataset.help; }
    return ok;
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.dataset.kind) { check(target); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-kind]").forEach(function (input) {
      if (input.value) { check(input); }
    });
  });
})();
