// The pathway modeler: bpmn-js, a small panel for Himaya's user-task properties, check and deploy.
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
  var container = document.getElementById("canvas");
  if (!container || typeof BpmnJS === "undefined") { return; }
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var modeler = new BpmnJS({ container: container, moddleExtensions: { spiffworkflow: SPIFF } });
  window.himayaModeler = modeler;
  var form = document.getElementById("panel-form");
  var empty = document.getElementById("panel-empty");
  var selected = null;

  function propertiesOf(bo, create) {
    var moddle = modeler.get("moddle");
    var ext = bo.extensionElements;
    if (!ext && create) { ext = moddle.create("bpmn:ExtensionElements", { values: [] }); }
    if (!ext) { return null; }
    var props = (ext.values || []).filter(function (v) { return v.$type === "spiffworkflow:Properties"; })[0];
    if (!props && create) {
      props = moddle.create("spiffworkflow:Properties", { properties: [] });
      ext.values = (ext.values || []).concat([props]);
      props.$parent = ext;
    }
    return props ? { ext: ext, props: props } : null;
  }
  function read(bo, name) {
    var found = propertiesOf(bo, false);
    var prop = found && (found.props.properties || []).filter(function (p) { return p.name === name; })[0];
    return prop ? prop.value : "";
  }
  function write(element, name, value) {
    var bo = element.businessObject;
    var found = propertiesOf(bo, true);
    var list = found.props.properties || (found.props.properties = []);
    var prop = list.filter(function (p) { return p.name === name; })[0];
    if (!value) {
      found.props.properties = list.filter(function (p) { return p.name !== name; });
    } else if (prop) {
      prop.value = value;
    } else {
      prop = modeler.get("moddle").create("spiffworkflow:Property", { name: name, value: value });
      prop.$parent = found.props;
      list.push(prop);
    }
    modeler.get("modeling").updateProperties(element, { extensionElements: found.ext });
  }
  function show(element) {
    selected = element && element.type === "bpmn:UserTask" ? element : null;
    form.hidden = !selected;
    empty.hidden = !!selected;
    if (!selected) { return; }
    document.getElementById("panel-id").textContent = selected.id + " — " + (selected.businessObject.name || "");
    form.querySelectorAll("[data-prop]").forEach(function (input) {
      input.value = read(selected.businessObject, input.dataset.prop);
    });
  }
  form.querySelectorAll("[data-prop]").forEach(function (input) {
    input.addEventListener("change", function () { if (selected) { write(selected, input.dataset.prop, input.value.trim()); } });
  });
  modeler.get("eventBus").on("selection.changed", function (event) { show(event.newSelection[0]); });

  function report(answer) {
    var canvas = modeler.get("canvas");
    var registry = modeler.get("elementRegistry");
    registry.getAll().forEach(function (el) { canvas.removeMarker(el.id, "invalid"); });
    var list = document.getElementById("problems");
    list.textContent = "";
    (answer.errors || []).forEach(function (problem) {
      if (problem.element && registry.get(problem.element)) { canvas.addMarker(problem.element, "invalid"); }
      var item = document.createElement("li");
      item.dataset.element = problem.element || "";
      item.textContent = (problem.element ? problem.element + ": " : "") + problem.message;
      list.appendChild(item);
    });
    document.getElementById("result").textContent = answer.ok
      ? (answer.version ? "Version " + answer.version + (answer.created ? " ✓" : " (=)") : "OK ✓") : "✗";
    document.getElementById("result").dataset.state = answer.ok ? "ok" : "invalid";
  }
  function send(url) {
    return modeler.saveXML({ format: true }).then(function (saved) {
      return fetch(url, { method: "POST", credentials: "same-origin", body: saved.xml,
                          headers: { "Content-Type": "application/xml", "X-CSRF-Token": csrf } });
    }).then(function (response) { return response.json(); }).then(report);
  }
  document.getElementById("check").addEventListener("click", function () { send(container.dataset.check); });
  document.getElementById("deploy").addEventListener("click", function () { send(container.dataset.deploy); });

  fetch(container.dataset.xml, { credentials: "same-origin" })
    .then(function (response) { return response.text(); })
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () {
      // Fit the diagram, then leave the palette's width free on its side so that it covers nothing.
      var canvas = modeler.get("canvas");
      canvas.zoom("fit-viewport");
      var box = canvas.viewbox(), palette = container.querySelector(".djs-palette");
      var free = (palette ? palette.getBoundingClientRect().width + 16 : 0) / box.scale;
      var rtl = document.documentElement.dir === "rtl";
      canvas.viewbox({ x: rtl ? box.x : box.x - free, y: box.y, width: box.width + free, height: box.height });
      container.dataset.ready = "true";
    })
    .catch(function (error) { container.dataset.ready = "error"; container.textContent = String(error.message || error); });
})();
