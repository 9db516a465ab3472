// A banner two minutes before the web session lapses (30 idle minutes), with a button that
// keeps it going (POST /session/keepalive); every request that reaches the server moves it on,
// never past the end of the session however active (12 hours after signing in: data-end).
(function () {
  "use strict";
  var banner = document.getElementById("session-warning");
  if (!banner) { return; }
  var idle = Number(banner.dataset.idle), warn = Number(banner.dataset.warn);
  var end_in = banner.dataset.end ? Number(banner.dataset.end) : -1;  // -1 or absent: not known
  var hardEnd = end_in >= 0 ? Date.now() + end_in * 1000 : Infinity;
  var deadline = Math.min(Date.now() + Number(banner.dataset.left) * 1000, hardEnd);
  var warnTimer = null, endTimer = null;
  var stay = document.getElementById("session-stay");
  var ended = document.getElementById("session-ended");
  var token = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function schedule() {
    clearTimeout(warnTimer); clearTimeout(endTimer);
    warnTimer = setTimeout(show, Math.max(deadline - Date.now() - warn * 1000, 0));
    endTimer = setTimeout(end, Math.max(deadline - Date.now(), 0));
  }
  function show() {
    banner.hidden = false;
    var last = deadline >= hardEnd - 1000;  // the end however active: staying signed in cannot help
    var final = document.getElementById("session-final-text");
    var text = document.getElementById("session-warning-text");
    if (final) { final.hidden = !last; }
    if (text) { text.hidden = last; }
    if (stay) { stay.hidden = last; }
  }
  function end() {
    banner.hidden = false;
    banner.classList.add("ended");
    if (stay) { stay.hidden = true; }
    if (ended) { ended.hidden = false; }
    var text = document.getElementById("session-warning-text");
    if (text) { text.hidden = true; }
    var final = document.getElementById("session-final-text");
    if (final) { final.hidden = true; }
  }
  function extended(seconds) {
    deadline = Math.min(Date.now() + (seconds || idle) * 1000, hardEnd);
    banner.hidden = true;
    schedule();
  }
  window.himayaSession = { extended: extended, ended: end };

  if (stay) {
    stay.addEventListener("click", function () {
      fetch(banner.dataset.url, { method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": token, "Accept": "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) { return { status: response.status, body: body }; });
        })
        .then(function (answer) { if (answer.status === 200) { extended(answer.body.expires_in); } else { end(); } })
        .catch(function () { /* the server cannot be reached: the banner stays */ });
    });
  }
  // htmx requests (claiming a task…) reach the server too: the session went on
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail && event.detail.successful) { extended(idle); }
  });
  schedule();
})();
