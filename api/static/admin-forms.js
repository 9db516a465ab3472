// The form editor (@bpmn-io/form-js): edits a step's form; saved forms are used by the next deploy.
// - its palette offers only the components the server accepts (config.components, from engine/forms.py);
// - its English words are replaced by the page's language (config.words: form-js has no translations);
// - each field's texts are edited in French, Arabic and English side by side: French is the source,
//   the form's i18n table maps it to each translation (the stored format, engine/forms.py);
// - the preview is the server's rendering of the task page's form, in the language chosen (RTL in Arabic).
(function () {
  var container = document.getElementById("form-editor");
  if (!container || typeof FormEditor === "undefined") { return; }
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var schema = JSON.parse(container.dataset.schema);
  var config = JSON.parse(document.getElementById("form-editor-config").textContent);
  var i18n = schema.i18n || {};
  config.languages.forEach(function (l) { if (l.code !== config.source && !i18n[l.code]) { i18n[l.code] = {}; } });

  // -- the palette: the accepted components only ------------------------------------------------
  var allowed = {};
  config.components.concat(["default"]).forEach(function (type) { allowed[type] = true; });
  function Palette(formFields) {
    Object.keys(formFields._formFields).forEach(function (type) {
      if (!allowed[type]) { delete formFields._formFields[type]; }
    });
  }
  Palette.$inject = ["formFields"];

  // -- the editor's words in the page's language ----------------------------------------------
  var words = config.words;
  var patterns = [
    [/^Create an? (.+) element$/, config.create],
    [/^Remove (.+)$/, config.remove],
    [/^List contains (\d+) items?$/, config.count]
  ];
  function word(text) {
    var trimmed = text.trim();
    if (!trimmed) { return null; }
    if (Object.prototype.hasOwnProperty.call(words, trimmed)) { return words[trimmed] === trimmed ? null : words[trimmed]; }
    for (var i = 0; i < patterns.length; i++) {
      var found = patterns[i][0].exec(trimmed);
      if (found) { return patterns[i][1].replace("{}", words[found[1]] || found[1]); }
    }
    return null;
  }
  function translate(root) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    var node;
    while ((node = walker.nextNode())) {
      if (node.parentElement && node.parentElement.closest(".fjs-form-field, .fjs-form-container .fjs-form")) { continue; }
      var said = word(node.data);
      if (said !== null) { node.data = said; }
    }
    root.querySelectorAll("[title], [placeholder], [aria-label]").forEach(function (element) {
      ["title", "placeholder", "aria-label"].forEach(function (name) {
        var value = element.getAttribute(name);
        var said = value && word(value);
        if (said) { element.setAttribute(name, said); }
      });
    });
  }
  var pending = false;
  new MutationObserver(function () {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () { pending = false; translate(container); });
  }).observe(container, { childList: true, subtree: true, characterData: true, attributes: true,
                          attributeFilter: ["title", "placeholder", "aria-label"] });

  var editor = new FormEditor.FormEditor({ container: container,
                                           additionalModules: [{ __init__: ["himayaPalette"], himayaPalette: ["type", Palette] }] });
  window.himayaFormEditor = editor;

  // -- labels in fr / ar / en side by side --------------------------------------------------------
  var panel = document.getElementById("form-labels");
  var rows = document.getElementById("form-labels-rows");
  var empty = document.getElementById("form-labels-empty");
  var lastSource = {};  // field id + property → its French text when last seen (translations follow an edit)

  function textsOf(field) {
    var texts = [];
    var main = field.type === "datetime" ? "dateLabel" : (field.type === "text" ? "text" : "label");
    if (field.type !== "default") { texts.push({ prop: main, name: words[main === "text" ? "Text" : (main === "dateLabel" ? "Date label" : "Field label")] || main, value: field[main] || "" }); }
    if (field.type === "datetime" && field.subtype === "datetime") { texts.push({ prop: "timeLabel", name: words["Time label"], value: field.timeLabel || "" }); }
    if (field.type !== "text" && field.type !== "default" && field.type !== "group") {
      texts.push({ prop: "description", name: words["Field description"], value: field.description || "" });
    }
    (Array.isArray(field.values) ? field.values : []).forEach(function (choice, index) {
      texts.push({ prop: "values." + index, name: (words.Label || "Label") + " · " + choice.value, value: choice.label || "" });
    });
    return texts;
  }

  function carryTranslations(field) {
    textsOf(field).forEach(function (text) {
      var id = field.id + "|" + text.prop, before = lastSource[id];
      if (before !== undefined && before !== text.value && text.value) {
        Object.keys(i18n).forEach(function (code) {
          if (i18n[code][before] !== undefined && i18n[code][text.value] === undefined) { i18n[code][text.value] = i18n[code][before]; }
        });
      }
      lastSource[id] = text.value;
    });
  }

  function setSource(field, prop, value) {
    var modeling = editor.get("modeling");
    if (prop.indexOf("values.") === 0) {
      var index = Number(prop.slice(7));
      var values = field.values.map(function (choice, i) { return i === index ? Object.assign({}, choice, { label: value }) : choice; });
      modeling.editFormField(field, "values", values);
    } else {
      modeling.editFormField(field, prop, value);
    }
  }

  function showLabels() {
    var field = editor.get("selection").get();
    rows.textContent = "";
    if (!field || field.type === "default") { empty.hidden = false; panel.dataset.field = ""; return; }
    empty.hidden = true;
    panel.dataset.field = field.key || field.id;
    textsOf(field).forEach(function (text) {
      var row = document.createElement("tr");
      row.dataset.prop = text.prop;
      var head = document.createElement("th");
      head.scope = "row";
      head.textContent = text.name;
      row.appendChild(head);
      config.languages.forEach(function (language) {
        var cell = document.createElement("td");
        var input = document.createElement(text.prop === "description" || text.prop === "text" ? "textarea" : "input");
        input.id = "label-" + text.prop.replace(".", "-") + "-" + language.code;
        input.lang = language.code;
        input.dir = language.dir;
        input.dataset.lang = language.code;
        input.setAttribute("aria-label", text.name + " — " + language.name);
        if (input.tagName === "TEXTAREA") { input.rows = 2; }
        if (language.code === config.source) {
          input.value = text.value;
          input.addEventListener("change", function () {
            var current = editor.get("selection").get() || field;
            setSource(current, text.prop, input.value);
          });
        } else {
          input.value = text.value ? (i18n[language.code][text.value] || "") : "";
          input.disabled = !text.value;
          input.addEventListener("input", function () {
            var source = row.querySelector("[data-lang=" + config.source + "]").value;
            if (!source) { return; }
            if (input.value) { i18n[language.code][source] = input.value; } else { delete i18n[language.code][source]; }
            schedulePreview();
          });
        }
        cell.appendChild(input);
        row.appendChild(cell);
      });
      rows.appendChild(row);
    });
  }

  // -- the preview, as the task page renders it -------------------------------------------------
  var preview = document.getElementById("form-preview");
  var previewLanguage = config.languages[0].code;
  var timer = null;
  function currentSchema() {
    var saved = editor.saveSchema();
    var used = {};
    saved.components && walk(saved.components, function (field) { textsOf(field).forEach(function (t) { if (t.value) { used[t.value] = true; } }); });
    var table = {};
    Object.keys(i18n).forEach(function (code) {
      table[code] = {};
      Object.keys(i18n[code]).forEach(function (source) { if (used[source]) { table[code][source] = i18n[code][source]; } });
    });
    saved.i18n = table;
    return saved;
  }
  function walk(components, visit) {
    components.forEach(function (field) { visit(field); if (Array.isArray(field.components)) { walk(field.components, visit); } });
  }
  function refreshPreview() {
    fetch(preview.dataset.url + "?lang=" + previewLanguage, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(currentSchema()),
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf } })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (answer.ok) {
          preview.innerHTML = answer.html;
          preview.dataset.state = "ok";
        } else {
          var list = document.createElement("ul");
          list.className = "problems";
          (answer.errors || []).forEach(function (problem) { var item = document.createElement("li"); item.textContent = problem; list.appendChild(item); });
          preview.textContent = "";
          preview.appendChild(list);
          preview.dataset.state = "invalid";
        }
        preview.dataset.lang = previewLanguage;
      });
  }
  function schedulePreview() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refreshPreview, 300);
  }
  document.querySelectorAll("[data-preview-lang]").forEach(function (button) {
    button.addEventListener("click", function () {
      previewLanguage = button.dataset.previewLang;
      document.querySelectorAll("[data-preview-lang]").forEach(function (other) {
        other.setAttribute("aria-pressed", other === button ? "true" : "false");
      });
      refreshPreview();
    });
  });

  editor.importSchema(schema).then(function () {
    walk(editor.saveSchema().components || [], function (field) { carryTranslations(field); });
    editor.on("selection.changed", showLabels);
    editor.on("changed", function () {
      var field = editor.get("selection").get();
      walk(editor.saveSchema().components || [], function (each) { carryTranslations(each); });
      if (field && document.activeElement && !panel.contains(document.activeElement)) { showLabels(); }
      else if (field) {  // keep the French cells in step without losing the focus
        textsOf(field).forEach(function (text) {
          var row = rows.querySelector("tr[data-prop='" + text.prop + "']");
          if (!row) { return; }
          row.querySelectorAll("[data-lang]").forEach(function (input) {
            if (input.dataset.lang !== config.source && input !== document.activeElement) {
              input.disabled = !text.value;
              input.value = text.value ? (i18n[input.dataset.lang][text.value] || "") : "";
            }
          });
        });
      }
      schedulePreview();
    });
    showLabels();
    refreshPreview();
    translate(container);
    container.dataset.ready = "true";
  });

  document.getElementById("save-form").addEventListener("click", function () {
    fetch(container.dataset.save, { method: "POST", credentials: "same-origin", body: JSON.stringify(currentSchema()),
                                    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf } })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        var result = document.getElementById("form-result");
        result.dataset.state = answer.ok ? "ok" : "invalid";
        result.textContent = answer.ok ? result.dataset.saved : (answer.errors || []).join(" · ");
      });
  });
})();
