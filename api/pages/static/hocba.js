/* hocba-ledger: checks each grade as it is typed, by the rule the service applies on saving
   (TT22 Đ.5, Đ.6): a score from 0 to 10 with at most one decimal, "8,5" or "8.5"; or Đ / CĐ for a
   comment-only subject, typed as teachers type it ("đ", "cđ", "Đạt", "Chưa đạt", any case). Once a
   row's every column holds a score, its term average ĐTBmhk is shown (TT22 Đ.9.1), computed in
   tenths so that rounding half up is exact. A cell the service refused to save keeps its note
   ("chưa lưu") while its value is valid. The page works without this script; the service checks
   every value again. */
(function () {
  "use strict";
  var SCORE = /^\d{1,2}(?:[.,]\d)?$/;
  var MARKS = ["đ", "đạt", "cđ", "chưa đạt"];

  function valid(input) {
    var value = input.value.trim();
    if (value === "") { return true; }
    if (input.dataset.kind === "score") {
      return SCORE.test(value) && parseFloat(value.replace(",", ".")) <= 10;
    }
    return MARKS.indexOf(value.normalize("NFC").toLocaleLowerCase("vi")) >= 0;
  }

  function check(input) {
    var ok = valid(input);
    input.setAttribute("aria-invalid", ok ? "false" : "true");
    var note = document.getElementById(input.id + "-msg");
    if (note) { note.textContent = ok ? input.dataset.note || "" : input.dataset.help; }
    return ok;
  }

  function tenths(input) {
    var parts = input.value.trim().replace(",", ".").split(".");
    return parseInt(parts[0], 10) * 10 + (parts.length > 1 ? parseInt(parts[1], 10) : 0);
  }

  /* ĐTBmhk = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (number of ĐĐGtx + 5), to one decimal, half up. */
  function average(row) {
    var cell = document.getElementById("avg-" + row.dataset.student);
    if (!cell) { return; }
    var inputs = row.querySelectorAll("input[data-kind='score']");
    var total = 0, regular = 0, complete = true;
    inputs.forEach(function (input) {
      if (!input.value.trim() || !valid(input)) { complete = false; return; }
      var weight = input.id.indexOf("-final-") > 0 ? 3 : input.id.indexOf("-midterm-") > 0 ? 2 : 1;
      if (weight === 1) { regular += 1; }
      total += weight * tenths(input);
    });
    if (!complete || !inputs.length) { cell.textContent = ""; return; }
    var divisor = regular + 5;
    var rounded = Math.floor((2 * total + divisor) / (2 * divisor));
    cell.textContent = Math.floor(rounded / 10) + "," + (rounded % 10);
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.dataset.kind) {
      check(target);
      var row = target.closest("tr[data-student]");
      if (row) { average(row); }
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-kind]").forEach(function (input) {
      if (input.value) { check(input); }
    });
  });
})();
