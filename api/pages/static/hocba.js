/* hocba-ledger: checks each grade as it is typed, by the rule the service applies on saving
   (TT22 Đ.5, Đ.6): a score from 0 to 10 with at most one decimal, "8,5" or "8.5"; or Đ / CĐ for a
   comment-only subject, typed as teachers type it ("đ", "cđ", "Đạt", "Chưa đạt", any case). Once a
   row's every column holds a score, its term average ĐTBmhk is shown (TT22 Đ.9.1), computed in
   tenths so that rounding half up is exact. A cell the service refused to save keeps its note
   ("chưa lưu") while its value is valid. The page works without this script; the service checks
   every value again.
   "Ký bằng USB token": the service prepares the batch (with its nonce), the local signing helper on
   this computer (http://127.0.0.1:PORT/ky, `hocba signing helper`) signs it with the token and the
   PIN typed here (the PIN goes to the helper only, never to the server), and the signed batch goes
   back to the service, which checks and records it; the page then shows how many were signed. */
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
  function form_data(form, extra) {
    var data = new FormData();
    ["csrf", "role", "subject", "students"].forEach(function (name) { data.append(name, form.elements[name].value); });
    Object.keys(extra).forEach(function (name) { data.append(name, extra[name]); });
    return data;
  }

  function answer(response) {
    return response.json().catch(function () { return {}; }).then(function (body) {
      if (!response.ok) { throw new Error(body.error || body.message_vi || body.message || "HTTP " + response.status); }
      return body;
    });
  }

  function sign_with_token(form) {
    var status = form.querySelector(".token-status");
    var pin = form.elements["token-pin"];
    var port = parseInt(form.elements["token-port"].value, 10);
    var nonce = "";
    status.textContent = form.dataset.working;
    fetch(form.action, { method: "POST", body: form_data(form, {}), credentials: "same-origin" })
      .then(answer)
      .then(function (batch) {
        nonce = batch.nonce;
        var request = { nonce: batch.nonce, pin: pin.value, documents: batch.documents };
        pin.value = "";
        return fetch("http://127.0.0.1:" + port + "/ky", {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request)
        }).catch(function () { throw new Error(form.dataset.unreachable); });
      })
      .then(answer)
      .then(function (signed) {
        var extra = { nonce: nonce, documents: JSON.stringify(signed.documents) };
        return fetch(form.dataset.submit, { method: "POST", body: form_data(form, extra), credentials: "same-origin" });
      })
      .then(answer)
      .then(function (done) {
        var here = new URL(form.dataset.done, window.location.href);
        here.searchParams.set("ky", done.count);
        window.location.assign(here.toString());
      })
      .catch(function (error) {
        pin.value = "";
        status.textContent = form.dataset.failed.replace("%s", error.message);
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.classList.contains("token-sign")) {
      event.preventDefault();
      sign_with_token(form);
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-kind]").forEach(function (input) {
      if (input.value) { check(input); }
    });
  });
})();
