// The pathway modeler: bpmn-js with Himaya's palette (the "Himaya step", a user task), its words in
// the page's language, a panel for the user-task properties (role, sector, form, due rule by risk
// level), full screen, and check / deploy whose problems are drawn on their elements.
(function () {
  var SPIFF = {
    name: "SpiffWorkflow", uri: "http://spiffworkflow.org/bpmn/schema/1.0/core", prefix: "spiffworkflow",
    xml: { tagAlias: "lowerCase" },
    types: [
      { name: "Properties", superClass: ["Element"], properties: [{ name: "properties", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"], properties: [
        { name: "name", isAttr: true, type: "String" }, { name: "value", isAttr: true, type: "String" }] },
      { name: "ServiceTaskOperator", superClass: ["Element"], properties: [
        { name: "id", isAttr: true, type: "String" }, { name: "resultVariable", isAttr: true, type: "String" },
        { name: "parameters", type: "Parameters" }] },
      { name: "Parameters", superClass: ["Element"], properties: [{ name: "parameters", type: "Parameter", isMany: true }] },
      { name: "Parameter", superClass: ["Element"], properties: [
        { name: "id", isAttr: true, type: "String" }, { name: "type", isAttr: true, type: "String" },
        { name: "value", isAttr: true, type: "String" }] }
    ]
  };
  var RISK_LEVELS = ["high", "medium", "low"];
  var container = document.getElementById("canvas");
  if (!container || typeof BpmnJS === "undefined") { return; }
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var texts = JSON.parse(document.getElementById("modeler-texts").textContent);
  var pageDirection = document.documentElement.dir || "ltr";

  function say(key, values) {
    return (texts.page[key] || key).replace(/%\((\w+)\)s/g, function (all, name) {
      return values && values[name] !== undefined ? String(values[name]) : all;
    });
  }
  // bpmn-js passes every word it shows through this service: the page's language from the catalogue
  function translate(template, replacements) {
    var text = texts.bpmn[template] || template;
    return text.replace(/{([^}]+)}/g, function (all, name) {
      return replacements && replacements[name] !== undefined ? replacements[name] : all;
    });
  }

  // The palette: a "Himaya step" (bpmn:UserTask) where bpmn-js offers a plain task; no expanded
  // sub-process, which Himaya pathways refuse.
  function HimayaPalette(palette, create, elementFactory) {
    this.getPaletteEntries = function () {
      function createStep(event) { create.start(event, elementFactory.createShape({ type: "bpmn:UserTask" })); }
      return function (entries) {
        var result = {};
        Object.keys(entries).forEach(function (name) {
          if (name === "create.subprocess-expanded") { return; }
          if (name === "create.task") {
            result["create.himaya-step"] = { group: "activity", className: "bpmn-icon-user-task",
              title: say("himaya_step"), action: { dragstart: createStep, click: createStep } };
            return;
          }
          result[name] = entries[name];
        });
        return result;
      };
    };
    palette.registerProvider(500, this);
  }
  HimayaPalette.$inject = ["palette", "create", "elementFactory"];

  // The context pad's "append task" appends a Himaya step too.
  function HimayaContextPad(contextPad, create, elementFactory, autoPlace) {
    this.getContextPadEntries = function (element) {
      return function (entries) {
        var entry = entries["append.append-task"];
        if (!entry) { return entries; }
        function shape() { return elementFactory.createShape({ type: "bpmn:UserTask" }); }
        entry.className = "bpmn-icon-user-task";
        entry.action = {
          click: function (event) {
            if (autoPlace) { autoPlace.append(element, shape()); } else { create.start(event, shape(), { source: element }); }
          },
          dragstart: function (event) { create.start(event, shape(), { source: element }); }
        };
        return entries;
      };
    };
    contextPad.registerProvider(500, this);
  }
  HimayaContextPad.$inject = ["contextPad", "create", "elementFactory", "autoPlace"];

  // The "change element" menu offers only what a Himaya pathway runs: no script, sub-process,
  // call activity, message, error, escalation, compensation or conditional element.
  var NOT_RUN = /(send-task|receive-task|manual-task|rule-task|script-task|call-activity|subprocess|transaction|compensation|escalation|error|cancel|link-|conditional|message|complex-gateway)/;
  function HimayaReplaceMenu(popupMenu) {
    this.getPopupMenuEntries = function () {
      return function (entries) {
        var result = {};
        Object.keys(entries).forEach(function (name) { if (!NOT_RUN.test(name)) { result[name] = entries[name]; } });
        return result;
      };
    };
    popupMenu.registerProvider("bpmn-replace", 500, this);
  }
  HimayaReplaceMenu.$inject = ["popupMenu"];

  var modeler = new BpmnJS({
    container: container,
    moddleExtensions: { spiffworkflow: SPIFF },
    additionalModules: [
      { translate: ["value", translate] },
      { __init__: ["himayaPalette", "himayaContextPad", "himayaReplaceMenu"], himayaPalette: ["type", HimayaPalette],
        himayaContextPad: ["type", HimayaContextPad], himayaReplaceMenu: ["type", HimayaReplaceMenu] }
    ]
  });
  window.himayaModeler = modeler;
  var canvas = modeler.get("canvas");
  var registry = modeler.get("elementRegistry");
  var overlays = modeler.get("overlays");
  var form = document.getElementById("panel-form");
  var empty = document.getElementById("panel-empty");
  var selected = null;

  // --- the diagram in the canvas: beside the palette, never under it ------------------------
  // "whole" fits the whole diagram; otherwise it opens at a readable scale (labels of about
  // 10 px at least), from its start, the rest a scroll or a drag away.
  var READABLE = 0.8;
  function fit(whole) {
    canvas.resized();
    var box = canvas.viewbox();
    var inner = box.inner;
    if (!inner || !inner.width || !inner.height) { return; }
    var palette = container.querySelector(".djs-palette");
    var left = palette ? palette.getBoundingClientRect().right - container.getBoundingClientRect().left + 16 : 16;
    var width = box.outer.width - left - 16;
    var height = box.outer.height - 32;
    var scale = Math.min(width / inner.width, height / inner.height, 1.2);
    if (whole !== true) { scale = Math.max(scale, READABLE); }
    var top = Math.max(16, (box.outer.height - inner.height * scale) / 2);
    canvas.viewbox({ x: inner.x - left / scale, y: inner.y - top / scale,
                     width: box.outer.width / scale, height: box.outer.height / scale });
    container.dataset.scale = String(Math.round(scale * 100) / 100);
  }

  // --- full screen ---------------------------------------------------------------------------
  var layout = document.getElementById("modeler");
  var fullscreen = document.getElementById("fullscreen");
  function setFullscreen(on) {
    layout.classList.toggle("fullscreen", on);
    document.body.classList.toggle("modeler-fullscreen", on);
    fullscreen.setAttribute("aria-pressed", on ? "true" : "false");
    fullscreen.textContent = say(on ? "leave_full_screen" : "full_screen");
    canvas.resized();
  }
  fullscreen.addEventListener("click", function () { setFullscreen(!layout.classList.contains("fullscreen")); });
  // Esc leaves full screen, unless it cancels a drag, a tool or a label being typed on the canvas
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !layout.classList.contains("fullscreen")) { return; }
    if (modeler.get("dragging").context() || modeler.get("directEditing").isActive()) { return; }
    setFullscreen(false);
  }, true);
  document.getElementById("fit").addEventListener("click", function () { fit(true); });
  window.addEventListener("resize", function () { canvas.resized(); });

  // --- Himaya's extension properties of a user task ------------------------------------------
  function propertiesOf(bo) {
    var ext = bo.extensionElements;
    var props = ext && (ext.values || []).filter(function (v) { return v.$type === "spiffworkflow:Properties"; })[0];
    return props ? { ext: ext, props: props } : null;
  }
  function read(bo, name) {
    var found = propertiesOf(bo);
    var prop = found && (found.props.properties || []).filter(function (p) { return p.name === name; })[0];
    return prop ? prop.value : "";
  }
  // A change builds new extension elements (the old ones untouched), so that undo brings them back.
  function write(element, name, value) {
    var bo = element.businessObject;
    if ((read(bo, name) || "") === (value || "")) { return; }
    var moddle = modeler.get("moddle");
    var old = bo.extensionElements;
    var others = ((old && old.values) || []).filter(function (v) { return v.$type !== "spiffworkflow:Properties"; });
    var found = propertiesOf(bo);
    var kept = ((found && found.props.properties) || []).filter(function (p) { return p.name !== name; });
    var list = kept.map(function (p) { return moddle.create("spiffworkflow:Property", { name: p.name, value: p.value }); });
    if (value) {
      var at = ((found && found.props.properties) || []).map(function (p) { return p.name; }).indexOf(name);
      var prop = moddle.create("spiffworkflow:Property", { name: name, value: value });
      list.splice(at < 0 ? list.length : at, 0, prop);
    }
    var props = moddle.create("spiffworkflow:Properties", { properties: list });
    list.forEach(function (p) { p.$parent = props; });
    var ext = moddle.create("bpmn:ExtensionElements", { values: others.concat([props]) });
    props.$parent = ext;
    modeler.get("modeling").updateProperties(element, { extensionElements: ext });
  }

  // --- the due rule: a number and a unit (days, hours) per risk level -> ISO 8601 -------------
  var dueSame = document.getElementById("due-same");
  var dueNote = document.getElementById("due-note");
  function dueInputs(level) {
    return { number: document.getElementById("due-" + level + "-n"), unit: document.getElementById("due-" + level + "-u") };
  }
  function isoOf(level) {
    var inputs = dueInputs(level);
    var n = parseInt(inputs.number.value, 10);
    if (!(n >= 1 && n <= 999)) { return null; }
    return inputs.unit.value === "H" ? "PT" + n + "H" : "P" + n + "D";
  }
  function parseIso(text) {  // {number, unit} for whole days or hours, else null
    var match = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?)?$/i.exec((text || "").trim());
    if (!match || (!match[1] && !match[2] && !match[3])) { return null; }
    var days = (parseInt(match[1] || "0", 10) * 7) + parseInt(match[2] || "0", 10);
    var hours = parseInt(match[3] || "0", 10);
    if (hours && days) { return { number: days * 24 + hours, unit: "H" }; }
    return hours ? { number: hours, unit: "H" } : { number: days, unit: "D" };
  }
  function parseRule(text) {  // {all: …} or {high, medium, low}, null when the picker cannot show it
    text = (text || "").trim();
    if (!text) { return {}; }
    if (text.indexOf("=") < 0) { var one = parseIso(text); return one ? { all: one } : null; }
    var rule = {};
    var parts = text.split(/[;,]/).filter(function (p) { return p.trim(); });
    for (var i = 0; i < parts.length; i += 1) {
      var pair = parts[i].split("=");
      var level = pair[0].trim().toLowerCase();
      var value = parseIso(pair[1]);
      if (RISK_LEVELS.indexOf(level) < 0 || !value) { return null; }
      rule[level] = value;
    }
    return rule;
  }
  function showDueRows() {
    form.querySelectorAll(".due-row").forEach(function (row) {
      row.hidden = dueSame.checked ? row.dataset.level !== "all" : row.dataset.level === "all";
    });
  }
  function showDue(text) {
    var rule = parseRule(text);
    dueNote.textContent = rule === null ? say("due_kept", { rule: text }) : "";
    rule = rule || {};
    dueSame.checked = !!rule.all || (!rule.high && !rule.medium && !rule.low && !text);
    ["all"].concat(RISK_LEVELS).forEach(function (level) {
      var inputs = dueInputs(level);
      var value = rule[level];
      inputs.number.value = value ? value.number : "";
      inputs.unit.value = value ? value.unit : "D";
    });
    showDueRows();
  }
  function writeDue() {
    if (!selected) { return; }
    var rule;
    if (dueSame.checked) {
      rule = isoOf("all");
      if (!rule && dueInputs("all").number.value) { dueNote.textContent = say("due_each"); return; }
    } else {
      var values = RISK_LEVELS.map(isoOf);
      var given = values.filter(Boolean).length;
      if (given && given < RISK_LEVELS.length) { dueNote.textContent = say("due_each"); return; }
      rule = given ? RISK_LEVELS.map(function (level, i) { return level + "=" + values[i]; }).join(";") : "";
    }
    dueNote.textContent = "";
    write(selected, "due", rule || "");
  }
  dueSame.addEventListener("change", function () {
    var from = dueSame.checked ? "high" : "all";  // carry the delay over to the rows shown now
    var source = dueInputs(from);
    (dueSame.checked ? ["all"] : RISK_LEVELS).forEach(function (level) {
      var inputs = dueInputs(level);
      if (!inputs.number.value) { inputs.number.value = source.number.value; inputs.unit.value = source.unit.value; }
    });
    showDueRows();
    writeDue();
  });
  form.querySelectorAll(".due-row input, .due-row select").forEach(function (input) {
    input.addEventListener("change", writeDue);
  });

  // --- the step panel ------------------------------------------------------------------------
  var sectorField = document.getElementById("sector-field");
  function showSector() {  // a partner's; shown too while another step still holds one (to clear it)
    sectorField.hidden = document.getElementById("prop-role").value !== "partner" &&
      !document.getElementById("prop-sector").value;
  }
  function show(element) {
    selected = element && element.type === "bpmn:UserTask" ? element : null;
    form.hidden = !selected;
    empty.hidden = !!selected;
    if (!selected) { return; }
    document.getElementById("prop-id").value = selected.id;
    document.getElementById("prop-id").removeAttribute("aria-invalid");
    document.getElementById("prop-id-error").hidden = true;
    document.getElementById("prop-name").value = selected.businessObject.name || "";
    form.querySelectorAll("[data-prop]").forEach(function (input) {
      var value = read(selected.businessObject, input.dataset.prop);
      if (input.tagName === "SELECT" && value && !input.querySelector("option[value='" + CSS.escape(value) + "']")) {
        var option = document.createElement("option");  // a code the lists do not know: kept, shown as is
        option.value = value;
        option.textContent = value;
        input.appendChild(option);
      }
      input.value = value;
    });
    showSector();
    showDue(read(selected.businessObject, "due"));
  }
  form.querySelectorAll("[data-prop]").forEach(function (input) {
    input.addEventListener("change", function () {
      if (!selected) { return; }
      write(selected, input.dataset.prop, input.value.trim());
      if (input.id === "prop-role") {
        showSector();
        if (input.value !== "partner") { document.getElementById("prop-sector").value = ""; write(selected, "sector", ""); }
      }
    });
  });
  document.getElementById("prop-id").addEventListener("change", function (event) {
    if (!selected) { return; }
    var code = event.target.value.trim();
    var error = document.getElementById("prop-id-error");
    var problem = !/^[a-z][a-z0-9_]{0,62}$/.test(code) ? error.dataset.pattern
      : (code !== selected.id && registry.get(code)) ? error.dataset.taken : "";
    error.textContent = problem;
    error.hidden = !problem;
    event.target.setAttribute("aria-invalid", problem ? "true" : "false");
    if (!problem && code !== selected.id) { modeler.get("modeling").updateProperties(selected, { id: code }); }
  });
  document.getElementById("prop-name").addEventListener("change", function (event) {
    if (selected) { modeler.get("modeling").updateLabel(selected, event.target.value.trim()); }
  });
  modeler.get("eventBus").on("selection.changed", function (event) { show(event.newSelection[0]); });
  // an undo (Ctrl+Z), a label edited on the canvas: the panel follows, unless it is being typed in
  modeler.get("eventBus").on("element.changed", function (event) {
    if (selected && event.element === selected && !form.contains(document.activeElement)) { show(selected); }
  });

  // --- check and deploy: each problem on its element ------------------------------------------
  function locate(id) {
    var element = registry.get(id);
    if (!element) { return; }
    canvas.scrollToElement(element);
    modeler.get("selection").select(element);
  }
  // The element a problem names on the canvas: itself, or for the process the pool that holds it.
  function onCanvas(id) {
    if (!id) { return null; }
    return registry.get(id) || registry.filter(function (el) {
      return el.type === "bpmn:Participant" && el.businessObject.processRef && el.businessObject.processRef.id === id;
    })[0] || null;
  }
  function listItem(problem, kind) {
    var item = document.createElement("li");
    item.className = kind;
    item.dataset.element = problem.element || "";
    item.dataset.code = problem.code || "";
    var element = onCanvas(problem.element);
    if (element) {
      var link = document.createElement("button");
      link.type = "button";
      link.className = "link-button";
      var name = document.createElement("bdi");  // a name the administrator wrote, in its own direction
      name.textContent = element.businessObject.name || problem.element;
      link.appendChild(name);
      link.addEventListener("click", function () { locate(element.id); });
      item.appendChild(link);
      item.appendChild(document.createTextNode(" — "));
    }
    item.appendChild(document.createTextNode(problem.text || problem.message));
    return item;
  }
  function report(answer) {
    registry.getAll().forEach(function (el) { canvas.removeMarker(el.id, "invalid"); });
    overlays.remove({ type: "himaya-problem" });
    var list = document.getElementById("problems");
    list.textContent = "";
    var onElement = {};
    (answer.errors || []).forEach(function (problem) {
      list.appendChild(listItem(problem, "problem"));
      var element = onCanvas(problem.element);
      if (element) { (onElement[element.id] = onElement[element.id] || []).push(problem.text || problem.message); }
    });
    Object.keys(onElement).forEach(function (id) {
      canvas.addMarker(id, "invalid");
      var note = document.createElement("div");
      note.className = "problem-note";
      note.dir = pageDirection;
      note.dataset.element = id;
      note.setAttribute("role", "note");
      onElement[id].forEach(function (text) {
        var line = document.createElement("p");
        line.textContent = text;
        note.appendChild(line);
      });
      // above the element: its context pad (to draw the missing arrow) opens on its right
      overlays.add(id, "himaya-problem", { position: { top: -6, left: 0 }, html: note });
    });
    (answer.warnings || []).forEach(function (warning) { list.appendChild(listItem(warning, "warning")); });
    var result = document.getElementById("result");
    if (!answer.ok) {
      result.textContent = say("problems");
    } else if (answer.version) {
      result.textContent = say(answer.created ? "deployed" : "unchanged", { version: answer.version });
    } else {
      result.textContent = say((answer.warnings || []).length ? "warnings" : "ready");
    }
    result.dataset.state = answer.ok ? "ok" : "invalid";
  }
  function send(url) {
    var result = document.getElementById("result");
    delete result.dataset.state;
    return modeler.saveXML({ format: true }).then(function (saved) {
      return fetch(url, { method: "POST", credentials: "same-origin", body: saved.xml,
                          headers: { "Content-Type": "application/xml", "X-CSRF-Token": csrf } });
    }).then(function (response) { return response.json(); }).then(report).catch(function () {
      result.textContent = say("failed");
      result.dataset.state = "error";
    });
  }
  document.getElementById("check").addEventListener("click", function () { send(container.dataset.check); });
  document.getElementById("deploy").addEventListener("click", function () { send(container.dataset.deploy); });

  fetch(container.dataset.xml, { credentials: "same-origin" })
    .then(function (response) { return response.text(); })
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () { fit(); container.dataset.ready = "true"; })
    .catch(function (error) { container.dataset.ready = "error"; container.textContent = String(error.message || error); });
})();
