// A step form's draft, kept on the server as the worker types (api/web/drafts.py): the form's
// fields are posted a few seconds after the last change, with the page's CSRF token.
(function () {
  "use strict";
  var form = document.getElementById("step-form");
  if (!form || !form.dataset.draftUrl) { return; }
  var status = document.getElementById("draft-status");
  var DELAY = 3000; // ms after the last change
  var timer = null, saving = false, again = false, submitted = false;

  function say(text) { if (status && text) { status.textContent = text; } }

  function save() {
    timer = null;
    if (submitted) { return; }
    if (saving) { again = true; return; }
    saving = true;
    var token = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
    fetch(form.dataset.draftUrl, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "X-CSRF-Token": token, "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; });
    }).then(function (answer) {
      if (answer.status === 200 && answer.body.saved) {
        say(answer.body.message);
        form.dataset.draftSavedAt = answer.body.saved_at;
        if (window.himayaSession) { window.himayaSession.extended(answer.body.expires_in); }
      } else if (answer.status === 401 && window.himayaSession) {
        window.himayaSession.ended();
      } else {
        say(answer.body.message);
      }
    }).catch(function () { /* offline: the next change tries again */ })
      .then(function () {
        saving = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, DELAY);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  form.addEventListener("submit", function () { submitted = true; if (timer) { clearTimeout(timer); } });
})();
