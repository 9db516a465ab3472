// Draws the pathway with bpmn-js and marks this case's steps (completed, open, overdue).
(function () {
  var container = document.getElementById("diagram");
  if (!container || typeof BpmnJS === "undefined") { return; }
  var viewer = new BpmnJS({ container: container });
  fetch(container.dataset.xml, { credentials: "same-origin" })
    .then(function (response) { return response.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      ["completed", "open", "overdue"].forEach(function (kind) {
        (container.dataset[kind] || "").split(" ").forEach(function (id) {
          if (id && registry.get(id)) { canvas.addMarker(id, kind); }
        });
      });
      canvas.zoom("fit-viewport");
      container.dataset.ready = "true";
    })
    .catch(function (error) {
      container.dataset.ready = "error";
      container.textContent = String(error && error.message || error);
    });
})();
