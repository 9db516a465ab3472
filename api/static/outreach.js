// Outreach without a network (api/web/outreach.py): the report form and a held listening step's
// form saved on the phone when there is no network, sealed so that the phone cannot read them
// back, and sent when the network is back, each once (its id is its Idempotency-Key).
//
// IndexedDB "himaya-outreach": "keys" holds, per user, the server's public key (a non-extractable
// CryptoKey), its id and its expiry; "queue" holds the actions: a few plain words to list them
// (kind, step title, case reference, when, state) and the form's fields sealed (ECDH P-256 with a
// new key pair each time, HKDF-SHA256, AES-256-GCM; the private half dropped at once: only the
// server opens them). Logging out deletes the database and the service worker's cache; so does
// the expiry of the key (HIMAYA_OFFLINE_QUEUE_HOURS).
(function () {
  "use strict";
  var wordsNode = document.getElementById("outreach-words");
  if (!wordsNode) { return; }
  var W = JSON.parse(wordsNode.textContent);
  var USER = W.user;
  var DB = "himaya-outreach";
  var INFO = "himaya-offline-queue-v1";
  var supported = !!(window.indexedDB && window.crypto && crypto.subtle);

  // A reference or a unit's name in a sentence: its own direction island (FSI … PDI).
  function iso(text) { return "\u2068" + (text || "") + "\u2069"; }
  function fill(text, values) {
    return String(text).replace(/%\((\w+)\)s/g, function (_m, name) { return values[name] === undefined ? "" : values[name]; });
  }

  // --- IndexedDB ---------------------------------------------------------------------------
  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("queue")) { db.createObjectStore("queue", { keyPath: "id" }); }
        if (!db.objectStoreNames.contains("keys")) { db.createObjectStore("keys", { keyPath: "user" }); }
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function store(name, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(name, mode);
        var request = work(transaction.objectStore(name));
        transaction.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        transaction.onerror = function () { db.close(); reject(transaction.error); };
        transaction.onabort = function () { db.close(); reject(transaction.error); };
      });
    });
  }
  function allItems() {
    return store("queue", "readonly", function (s) { return s.getAll(); }).then(function (items) {
      return (items || []).filter(function (item) { return item.user === USER; })
        .sort(function (a, b) { return a.created_at < b.created_at ? -1 : 1; });
    });
  }
  function putItem(item) { return store("queue", "readwrite", function (s) { return s.put(item); }); }
  function dropItem(id) { return store("queue", "readwrite", function (s) { return s.delete(id); }); }

  // Everything kept for offline use, gone: the database, the service worker's pages, the worker.
  function wipe() {
    var steps = [new Promise(function (resolve) {
      var request = indexedDB.deleteDatabase(DB);
      request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
    })];
    if (window.caches) {
      steps.push(caches.keys().then(function (names) {
        return Promise.all(names.filter(function (n) { return n.indexOf("himaya-") === 0; })
          .map(function (n) { return caches.delete(n); }));
      }));
    }
    if (navigator.serviceWorker) {
      steps.push(navigator.serviceWorker.getRegistrations().then(function (found) {
        return Promise.all(found.map(function (r) { return r.unregister(); }));
      }));
    }
    return Promise.all(steps).catch(function () { /* wiped as far as possible */ });
  }
  window.himayaOutreach = { wipe: wipe };

  // --- the key ------------------------------------------------------------------------------
  function b64(buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64(text) {
    var plain = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var bytes = new Uint8Array(plain.length);
    for (var i = 0; i < plain.length; i++) { bytes[i] = plain.charCodeAt(i); }
    return bytes;
  }
  function storedKey() {
    return store("keys", "readonly", function (s) { return s.get(USER); }).then(function (key) {
      if (key && Date.parse(key.expires_at) > Date.now()) { return key; }
      return null;
    });
  }
  // Online: the session's CSRF token and the key (the same one again while it is young).
  var session = null;
  function fetchSession() {
    return storedKey().then(function (known) {
      var url = W.key_url + (known ? "?key_id=" + encodeURIComponent(known.key_id) : "");
      return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json", "X-Himaya-Background": "1" } })
        .then(function (response) {
          var json = (response.headers.get("Content-Type") || "").indexOf("json") >= 0;
          if (!response.ok || !json || response.redirected) { throw new Error("signed-out"); }
          return response.json();
        })
        .then(function (body) {
          if (body.user !== USER) { throw new Error("signed-out"); }
          if (known && known.key_id === body.key_id) { session = { csrf: body.csrf, key: known }; return session; }
          return crypto.subtle.importKey("raw", unb64(body.public_key), { name: "ECDH", namedCurve: "P-256" }, false, [])
            .then(function (publicKey) {
              var key = { user: USER, key_id: body.key_id, public_key: publicKey, expires_at: body.expires_at };
              return store("keys", "readwrite", function (s) { return s.put(key); }).then(function () {
                session = { csrf: body.csrf, key: key };
                return session;
              });
            });
        });
    });
  }
  function seal(key, value) {
    var encoder = new TextEncoder();
    return crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]).then(function (pair) {
      return Promise.all([
        crypto.subtle.deriveBits({ name: "ECDH", public: key.public_key }, pair.privateKey, 256),
        crypto.subtle.exportKey("raw", pair.publicKey)]);
    }).then(function (parts) {
      return crypto.subtle.importKey("raw", parts[0], "HKDF", false, ["deriveKey"]).then(function (shared) {
        return crypto.subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(INFO) },
          shared, { name: "AES-GCM", length: 256 }, false, ["encrypt"]);
      }).then(function (aes) {
        var iv = crypto.getRandomValues(new Uint8Array(12));
        return crypto.subtle.encrypt({ name: "AES-GCM", iv: iv, additionalData: encoder.encode(key.key_id) }, aes,
          encoder.encode(JSON.stringify(value))).then(function (sealed) {
          return { key_id: key.key_id, epk: b64(parts[1]), iv: b64(iv), ct: b64(sealed) };
        });
      });
    });
  }

  // --- saving a form on the phone -----------------------------------------------------------
  function fieldsOf(form) {
    var fields = {};
    new FormData(form).forEach(function (value, name) {
      if (name === "csrf_token" || name === "action" || name === "client_id" || typeof value !== "string") { return; }
      if (fields[name] === undefined) { fields[name] = value; }
      else if (Array.isArray(fields[name])) { fields[name].push(value); }
      else { fields[name] = [fields[name], value]; }
    });
    return fields;
  }
  function newId() {
    if (crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return b64(bytes);
  }
  function clearErrors(form) {
    form.querySelectorAll(".offline-error").forEach(function (node) { node.remove(); });
    form.querySelectorAll("[data-offline-invalid]").forEach(function (node) {
      node.removeAttribute("aria-invalid"); node.removeAttribute("data-offline-invalid");
    });
  }
  function markError(form, id, message) {
    var field = document.getElementById(id);
    var note = document.createElement("span");
    note.className = "field-error offline-error";
    note.id = id + "-offline-error";
    note.setAttribute("role", "alert");
    note.textContent = message;
    if (field) {
      field.setAttribute("aria-invalid", "true"); field.setAttribute("data-offline-invalid", "");
      field.setAttribute("aria-describedby", note.id);
      (field.closest("fieldset.field") || field.closest(".field") || field.parentNode).appendChild(note);
    } else { form.insertBefore(note, form.firstChild); }
    return field;
  }
  // What the server would refuse at once, checked on the phone: a report cannot be corrected
  // there once sealed (nobody can read it back), so it leaves complete.
  function reportProblems(fields) {
    var problems = [];
    var unknown = fields.name_unknown === "on";
    if (unknown ? !(fields.alias || "").trim() : !((fields.first_name || "").trim() && (fields.last_name || "").trim())) {
      problems.push([unknown ? "alias" : "first_name", W.name_or_alias]);
    }
    if (!fields.sex) { problems.push(["sex-F", W.field_required]); }
    if (!fields.birth_date && !(fields.age_estimate || "").trim()) { problems.push(["birth_date", W.birth_or_age]); }
    if (!fields.categories) { problems.push(["cat-" + (document.querySelector("input[name=categories]") || {}).value, W.choose_category]); }
    if (!fields.unit) { problems.push(["unit", W.choose_unit]); }
    if (!fields.source) { problems.push(["source", W.field_required]); }
    if (!fields.received_at) { problems.push(["received_at", W.field_required]); }
    return problems;
  }
  function stepProblems(form) {
    var problems = [];
    form.querySelectorAll("[required]").forEach(function (input) {
      var name = input.name;
      var filled = input.type === "checkbox" || input.type === "radio"
        ? form.querySelector("[name='" + name + "']:checked") : (input.value || "").trim();
      if (!filled && !problems.some(function (p) { return p[2] === name; })) { problems.push([input.id, W.field_required, name]); }
    });
    form.querySelectorAll("fieldset").forEach(function (group) {
      var star = group.querySelector("legend .req");
      var boxes = group.querySelectorAll("input[type=checkbox], input[type=radio]");
      if (star && boxes.length && !group.querySelector("input:checked")) { problems.push([boxes[0].id, W.field_required]); }
    });
    form.querySelectorAll(".field").forEach(function (field) {
      var star = field.querySelector("label .req");
      var input = field.querySelector("input:not([type=checkbox]):not([type=radio]), textarea, select");
      if (star && input && !(input.value || "").trim()) { problems.push([input.id, W.field_required]); }
    });
    return problems;
  }
  function keep(form, kind) {
    var fields = fieldsOf(form);
    var replaces = fields.offline_id || null;  // a refused report being corrected, kept offline again
    delete fields.offline_id;
    clearErrors(form);
    var problems = kind === "report" ? reportProblems(fields) : stepProblems(form);
    var saved = document.getElementById("offline-saved");
    if (problems.length) {
      var first = null;
      problems.forEach(function (p) { var f = markError(form, p[0], p[1]); first = first || f; });
      if (saved) { saved.hidden = false; saved.className = "flash error"; saved.textContent = W.fix_first; }
      if (first) { first.focus(); }
      return Promise.resolve(null);
    }
    return storedKey().then(function (key) {
      if (!key) { throw new Error("no-key"); }
      return seal(key, fields).then(function (sealed) {
        var now = new Date();
        var item = { id: newId(), user: USER, kind: kind, state: "waiting", created_at: now.toISOString(),
          expires_at: key.expires_at, url: kind === "report" ? W.report_sync_url : form.dataset.syncUrl,
          title: kind === "report" ? W.report : form.dataset.title, reference: form.dataset.reference || null,
          task_id: form.dataset.taskId || null, sealed: sealed, result: null };
        return putItem(item).then(function () { return replaces ? dropItem(replaces) : null; })
          .then(function () { return item; });
      });
    }).then(function (item) {
      var corrected = form.elements.namedItem("offline_id");
      if (corrected && corrected.remove) { corrected.remove(); }
      form.reset();
      if (kind === "report") { stampNow(form); }
      if (saved) {
        saved.hidden = false; saved.className = "flash success";
        saved.textContent = W.saved + " (" + fill(W.saved_at, { time: new Date().toLocaleTimeString() }) + ")";
        saved.focus && saved.focus();
      }
      if (kind === "step") { form.hidden = true; }
      sync();
      return item;
    }).catch(function (error) {
      if (saved) { saved.hidden = false; saved.className = "flash error"; saved.textContent = supported ? W.no_key : W.unsupported; }
      throw error;
    });
  }
  function stampNow(form) {
    var field = form.querySelector("#received_at");
    if (!field) { return; }
    var now = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    field.value = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate()) + "T" +
      pad(now.getHours()) + ":" + pad(now.getMinutes());
  }

  // --- sending ------------------------------------------------------------------------------
  var sending = false;
  function sync() {
    if (sending || !supported || !navigator.onLine) { return Promise.resolve(); }
    sending = true;
    var button = document.getElementById("sync-now");
    if (button) { button.disabled = true; button.textContent = W.sending; }
    return allItems().then(function (items) {
      var waiting = items.filter(function (item) { return item.state === "waiting"; });
      var toCorrect = items.filter(function (item) {
        return item.state === "attention" && item.kind === "report" && (item.result || {}).reason === "invalid_fields";
      });
      if (!waiting.length && !toCorrect.length) { return; }
      return (session ? Promise.resolve(session) : fetchSession()).then(function (current) {
        return waiting.reduce(function (chain, item) {
          return chain.then(function (go) { return go === false ? false : send(item, current); });
        }, Promise.resolve(true)).then(function (go) {
          if (go !== false && toCorrect.length) { return askCorrected(toCorrect, current); }
        });
      });
    }).catch(function (error) {
      if (error && error.message === "signed-out") { showSignedOut(); }
    }).then(function () {
      sending = false;
      if (button) { button.disabled = !navigator.onLine; button.textContent = W.sync_now; }
      render();
    });
  }
  function send(item, current) {
    return fetch(item.url, {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": current.csrf,
        "Idempotency-Key": item.id, "X-Himaya-Background": "1" },
      body: JSON.stringify({ client_id: item.id, sealed: item.sealed })
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("json") >= 0;
      if (!json) { session = null; return false; }  // the session or its token changed: next time
      return response.json().then(function (body) {
        if (response.status === 401) { showSignedOut(); return false; }
        if (response.ok) {
          item.state = "synced";
          item.sealed = null;  // sent: nothing of the form stays on the phone
          item.result = { reference: body.reference, unit_name: body.unit_name || null, case_id: body.case_id,
            followed: body.followed !== false, outcome: body.outcome, title: body.title || null,
            earlier: (body.possible_duplicates || []).map(function (m) { return m.reference; }),
            replayed: response.headers.get("Idempotent-Replayed") === "true", at: new Date().toISOString() };
        } else {
          item.state = "attention";
          item.result = { status: response.status, reason: body.reason || null, message: body.message || "",
            errors: flatten(body.errors) };
        }
        return putItem(item).then(function () { return true; });
      });
    }, function () { return false; });  // no network after all: it waits
  }
  function flatten(errors) {
    var out = [];
    (function walk(value) {
      if (typeof value === "string") { out.push(value); }
      else if (Array.isArray(value)) { value.forEach(walk); }
      else if (value && typeof value === "object") { Object.keys(value).forEach(function (k) { walk(value[k]); }); }
    })(errors || {});
    return out;
  }
  function showSignedOut() {
    var note = document.getElementById("sync-signed-out");
    if (!note) { return; }
    note.hidden = false;
    note.textContent = W.signed_out + " ";
    var link = document.createElement("a");
    link.href = W.login_url; link.textContent = W.log_in;
    note.appendChild(link);
  }

  // --- the sync list ------------------------------------------------------------------------
  function render() {
    var lists = { waiting: document.getElementById("queue-waiting"), attention: document.getElementById("queue-attention"),
      synced: document.getElementById("queue-synced") };
    if (!lists.waiting) { return Promise.resolve(); }
    return allItems().then(function (items) {
      var empty = { waiting: W.waiting_none, attention: W.attention_none, synced: W.synced_none };
      Object.keys(lists).forEach(function (state) {
        var list = lists[state], mine = items.filter(function (item) { return item.state === state; });
        if (state === "synced") { mine.reverse(); }
        list.textContent = "";
        document.getElementById("count-" + state).textContent = String(mine.length);
        if (!mine.length) {
          var none = document.createElement("li"); none.className = "muted none"; none.textContent = empty[state];
          list.appendChild(none);
        }
        mine.forEach(function (item) { list.appendChild(line(item)); });
      });
      // A listening step sent from here is done: its offline form is no longer offered.
      items.forEach(function (item) {
        if (item.kind !== "step" || item.state !== "synced") { return; }
        document.querySelectorAll(".offline-step[data-task-id='" + item.task_id + "']").forEach(function (a) {
          a.closest("li").hidden = true;
        });
      });
    });
  }
  function line(item) {
    var li = document.createElement("li");
    li.className = "queue-item " + item.state;
    li.dataset.id = item.id;
    var head = document.createElement("p");
    head.className = "what";
    var title = document.createElement("bdi"); title.textContent = item.title; head.appendChild(title);
    if (item.reference) {
      head.appendChild(document.createTextNode(" · "));
      var ref = document.createElement("bdi"); ref.className = "ref"; ref.textContent = item.reference; head.appendChild(ref);
    }
    li.appendChild(head);
    var when = document.createElement("p"); when.className = "muted";
    when.textContent = fill(W.saved_at, { time: new Date(item.created_at).toLocaleString(W.language === "ar" ? "ar-MA" : W.language) });
    li.appendChild(when);
    var result = item.result || {};
    if (item.state === "synced") {
      var done = document.createElement("p");
      done.textContent = item.kind === "report" ? fill(W.reported, { reference: iso(result.reference), unit: iso(result.unit_name) })
        : fill(W.completed, { reference: iso(result.reference) });
      li.appendChild(done);
      if (result.earlier && result.earlier.length) {
        var warn = document.createElement("p"); warn.className = "flash warning earlier-warning";
        warn.textContent = fill(W.earlier, { references: result.earlier.map(iso).join(", ") });
        li.appendChild(warn);
      }
      if (result.followed && result.case_id) { li.appendChild(link("/cases/" + result.case_id, W.open_case)); }
    }
    if (item.state === "attention") {
      var why = document.createElement("p"); why.className = "flash error reason";
      if (result.reason) { why.dataset.reason = result.reason; }
      why.textContent = result.message;
      li.appendChild(why);
      (result.errors || []).forEach(function (message) {
        var detail = document.createElement("p"); detail.className = "field-error"; detail.textContent = message; li.appendChild(detail);
      });
      // A step done meanwhile: what the server recorded is on the step's page, to compare.
      if (item.task_id && result.reason === "task_already_completed") { li.appendChild(link("/tasks/" + item.task_id, W.see_step)); }
    }
    var actions = document.createElement("div"); actions.className = "actions";
    if (item.state === "attention" && item.sealed && item.kind === "report" && result.reason === "invalid_fields") {
      actions.appendChild(button(W.correct, "correct", function () { correct(item, li); }));
    }
    if (item.state === "attention" && item.sealed && (result.reason === "case_changed" || result.status === 422)) {
      actions.appendChild(button(W.retry, "retry", function () { item.state = "waiting"; item.result = null; putItem(item).then(sync); }));
    }
    if (item.state !== "waiting" || !navigator.onLine) {
      actions.appendChild(button(W.discard, "discard secondary", function () {
        if (item.state !== "synced" && !window.confirm(W.discard_confirm)) { return; }
        dropItem(item.id).then(render);
      }));
    }
    if (actions.childNodes.length) { li.appendChild(actions); }
    return li;
  }
  // A report the server refused for a field: sent back sealed to the report page, which opens it
  // with what was typed and the fields to correct (its id stays its key: one case).
  function correct(item, li) {
    var note = li.querySelector(".correct-note");
    if (!navigator.onLine) {
      if (!note) { note = document.createElement("p"); note.className = "muted correct-note"; li.appendChild(note); }
      note.textContent = W.correct_offline;
      return;
    }
    (session ? Promise.resolve(session) : fetchSession()).then(function (current) {
      var form = document.createElement("form");
      form.method = "post"; form.action = W.correct_url; form.hidden = true;
      [["csrf_token", current.csrf], ["client_id", item.id], ["sealed", JSON.stringify(item.sealed)]].forEach(function (pair) {
        var input = document.createElement("input"); input.type = "hidden"; input.name = pair[0]; input.value = pair[1];
        form.appendChild(input);
      });
      document.body.appendChild(form);
      form.submit();
    }).catch(function () { showSignedOut(); });
  }
  // Reports refused at sync and corrected on the report page since: the server keeps the report
  // page's answer under the phone's id, so asking (whenever the list is sent) moves them to "sent".
  function askCorrected(items, current) {
    return fetch(W.corrected_url, {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": current.csrf,
        "X-Himaya-Background": "1" },
      body: JSON.stringify({ ids: items.map(function (item) { return item.id; }).slice(0, 50) })
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("json") >= 0;
      if (!response.ok || !json) { return; }
      return response.json().then(function (body) {
        var found = (body && body.reports) || {};
        return Promise.all(items.filter(function (item) { return found[item.id]; }).map(function (item) {
          var done = found[item.id];
          item.state = "synced"; item.sealed = null;
          item.result = { reference: done.reference, unit_name: null, case_id: done.case_id, followed: !!done.followed,
            outcome: "reported", earlier: [], replayed: false, corrected: true, at: new Date().toISOString() };
          return putItem(item);
        }));
      });
    }, function () { /* asked again next time */ });
  }
  function link(href, text) { var a = document.createElement("a"); a.href = href; a.textContent = text; a.className = "open-case"; return a; }
  function button(text, cls, action) {
    var b = document.createElement("button"); b.type = "button"; b.className = cls; b.textContent = text;
    b.addEventListener("click", action); return b;
  }

  // --- the network, the pages kept, the expiry, logging out ---------------------------------
  function showNet() {
    document.querySelectorAll("#net-status").forEach(function (node) {
      node.textContent = navigator.onLine ? W.online : W.offline;
      node.className = "net-status " + (navigator.onLine ? "online" : "offline");
    });
    var check = document.getElementById("check-earlier");
    if (check) { check.disabled = !navigator.onLine; }
    var now = document.getElementById("sync-now");
    if (now && !sending) { now.disabled = !navigator.onLine; }
  }
  function expire() {
    return store("keys", "readonly", function (s) { return s.get(USER); }).then(function (key) {
      if (key && Date.parse(key.expires_at) <= Date.now()) {
        return wipe().then(function () {
          var note = document.getElementById("sync-wiped");
          if (note) { note.hidden = false; note.textContent = fill(W.wiped, { hours: "" }).replace("  ", " "); }
        });
      }
      return allItems().then(function (items) {
        return Promise.all(items.filter(function (item) { return Date.parse(item.expires_at) <= Date.now(); })
          .map(function (item) { return dropItem(item.id); }));
      });
    });
  }
  function keepPages() {
    if (!navigator.serviceWorker || !navigator.onLine) { return; }
    navigator.serviceWorker.register(W.sw_url, { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      return fetch(W.list_url, { credentials: "same-origin", headers: { "Accept": "application/json", "X-Himaya-Background": "1" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (list) {
          if (!list || list.user !== USER || !registration.active) { return; }
          var channel = new MessageChannel();
          channel.port1.onmessage = function (event) {
            var ready = document.getElementById("offline-ready");
            if (ready && event.data && event.data.kept !== undefined) {
              ready.textContent = fill(W.ready, { count: event.data.kept });
              ready.dataset.kept = String(event.data.kept);
            }
          };
          registration.active.postMessage({ type: "keep", list: list, language: W.language }, [channel.port2]);
        });
    }).catch(function () { /* the pages are simply not kept */ });
  }
  function guardLogout() {
    document.querySelectorAll("form[action$='/logout']").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.wiped) { return; }
        event.preventDefault();
        allItems().catch(function () { return []; }).then(function (items) {
          var unsent = items.filter(function (item) { return item.state !== "synced"; }).length;
          if (unsent && !window.confirm(fill(W.logout_confirm, { count: unsent }))) { return; }
          return wipe().then(function () { form.dataset.wiped = "1"; form.submit(); });
        });
      });
    });
  }
  function guardForms() {
    document.querySelectorAll("form[data-offline]").forEach(function (form) {
      var kind = form.dataset.offline;
      // The form's own key (one case per form sent online): a page shown from the phone's copy
      // carries the key of the copy, so it gets a key of its own.
      var formKey = form.elements.namedItem("client_id");
      function newFormKey() { if (formKey && formKey.value !== undefined) { formKey.value = newId(); } }
      if (kind === "report" && !navigator.onLine) { stampNow(form); newFormKey(); }
      form.addEventListener("submit", function (event) {
        // The report form goes to the server as usual when there is a network; offline, and
        // always for the listening form of the outreach page, it is kept on the phone.
        var submitter = event.submitter;
        if (kind === "report" && navigator.onLine) { return; }
        if (submitter && submitter.value === "check") { event.preventDefault(); return; }
        event.preventDefault();
        if (!supported) { return; }
        keep(form, kind).then(newFormKey, function () { /* said on the page */ });
      });
    });
  }

  if (!supported) { showNet(); return; }
  guardLogout();
  guardForms();
  showNet();
  window.addEventListener("online", function () { showNet(); sync(); });
  window.addEventListener("offline", showNet);
  var syncButton = document.getElementById("sync-now");
  if (syncButton) { syncButton.addEventListener("click", function () { session = null; sync(); }); }
  var outreachPage = !!(document.getElementById("sync-list") || document.querySelector("form[data-offline]"));
  expire().then(function () {
    if (!navigator.onLine) { return; }
    if (outreachPage) {
      // The key (and the CSRF token) of this session, the pages kept, then what waits goes.
      // (the pages kept once what waited went: a step sent is no longer kept)
      return fetchSession().then(function () { return sync(); }).then(keepPages, keepPages);
    }
    // Any other page: what waits goes, without a request when nothing does.
    return allItems().then(function (items) {
      if (items.some(function (item) { return item.state === "waiting"; })) { return sync(); }
    });
  }).catch(function () { /* nothing kept yet */ }).then(render);
})();
