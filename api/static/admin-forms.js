// The form editor (@bpmn-io/form-js): edits a step's form; saved forms are used by the next deploy.
(function () {
  var container = document.getElementById("form-editor");
  if (!container || typeof FormEditor === "undefined") { return; }
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var schema = JSON.parse(container.dataset.schema);
  var i18n = schema.i18n;
  var editor = new FormEditor.FormEditor({ container: container });
  window.himayaFormEditor = editor;
  editor.importSchema(schema).then(function () { container.dataset.ready = "true"; });
  document.getElementById("save-form").addEventListener("click", function () {
    var saved = editor.saveSchema();
    if (i18n && !saved.i18n) { saved.i18n = i18n; }  // the editor does not know the translations table
    fetch(container.dataset.save, { method: "POST", credentials: "same-origin", body: JSON.stringify(saved),
                                    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf } })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        var result = document.getElementById("form-result");
        result.dataset.state = answer.ok ? "ok" : "invalid";
        result.textContent = answer.ok ? "✓" : (answer.errors || []).join(" · ");
      });
  });
})();
