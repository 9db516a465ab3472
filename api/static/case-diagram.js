// Draws the pathway with bpmn-js and marks this case's steps (completed, open, overdue) and the
// timers it waits on (with their date). The diagram is drawn at a readable scale inside a box
// that scrolls natively (scroll bars, touch, arrow keys once focused, dragging with the mouse);
// the toolbar zooms in and out, shows the whole pathway, or goes back to the current step.
// A plain mouse wheel scrolls the page; Ctrl + wheel zooms the diagram.
(function () {
  "use strict";
  var container = document.getElementById("diagram");
  if (!container || typeof BpmnJS === "undefined") { return; }
  var scroller = container.parentElement;
  var section = container.closest("section") || document;
  var toolbar = section.querySelector(".diagram-toolbar");

  var READABLE = 1;   // bpmn-js draws labels at 11-12 px at scale 1
  var MAX = 2.5;
  var STEP = 1.25;
  var PAD = 30;       // diagram units around the drawing
  var BADGES = { overdue: "!", open: "●", completed: "✓", waiting: "◷" };

  // The navigated viewer, without its own wheel zoom and drag (the box scrolls instead).
  var noop = { toggle: function () {}, isActive: function () { return false; } };
  var viewer = new BpmnJS({
    container: container,
    additionalModules: [{ zoomScroll: ["value", noop], moveCanvas: ["value", noop] }]
  });

  var state = { scale: READABLE, inner: null, minScale: 0.1, focus: null };

  function canvas() { return viewer.get("canvas"); }

  function clamp(scale) { return Math.max(state.minScale, Math.min(MAX, scale)); }

  function fitScale() {
    var inner = state.inner;
    return Math.min(scroller.clientWidth / (inner.width + 2 * PAD),
                    scroller.clientHeight / (inner.height + 2 * PAD));
  }

  // Draw at `scale`, keeping the diagram point `center` (or the current centre) in the middle.
  function layout(scale, center) {
    var inner = state.inner;
    if (!center) { center = visibleCenter(); }
    scale = clamp(scale);
    state.scale = scale;
    var width = Math.round((inner.width + 2 * PAD) * scale);
    var height = Math.round((inner.height + 2 * PAD) * scale);
    container.style.width = width + "px";
    container.style.height = height + "px";
    canvas().resized();
    canvas().viewbox({ x: inner.x - PAD, y: inner.y - PAD, width: width / scale, height: height / scale });
    scroller.scrollLeft = (center.x - inner.x + PAD) * scale - scroller.clientWidth / 2;
    scroller.scrollTop = (center.y - inner.y + PAD) * scale - scroller.clientHeight / 2;
    container.dataset.scale = scale.toFixed(3);
    updateButtons();
  }

  function visibleCenter() {
    var inner = state.inner;
    return {
      x: inner.x - PAD + (scroller.scrollLeft + scroller.clientWidth / 2) / state.scale,
      y: inner.y - PAD + (scroller.scrollTop + scroller.clientHeight / 2) / state.scale
    };
  }

  // The current step: open or overdue tasks first, then the timers the case waits on, then the
  // last completed step, else the start of the pathway.
  function currentFocus(registry) {
    function shapes(kind) {
      return (container.dataset[kind] || "").split(" ").map(function (id) { return id && registry.get(id); })
        .filter(function (shape) { return shape && shape.width !== undefined; });
    }
    var found = shapes("overdue").concat(shapes("open"));
    if (!found.length) { found = shapes("waiting"); }
    if (!found.length) { found = shapes("completed").slice(-1); }
    if (!found.length) {
      found = registry.filter(function (e) { return e.type === "bpmn:StartEvent"; }).slice(0, 1);
    }
    if (!found.length) { return { x: state.inner.x + state.inner.width / 2, y: state.inner.y + state.inner.height / 2 }; }
    // all of them when they fit in the box at the readable scale, else the first (overdue first)
    var left = Math.min.apply(null, found.map(function (e) { return e.x; }));
    var top = Math.min.apply(null, found.map(function (e) { return e.y; }));
    var right = Math.max.apply(null, found.map(function (e) { return e.x + e.width; }));
    var bottom = Math.max.apply(null, found.map(function (e) { return e.y + e.height; }));
    if ((right - left + 80) * READABLE > scroller.clientWidth || (bottom - top + 120) * READABLE > scroller.clientHeight) {
      left = found[0].x; top = found[0].y; right = left + found[0].width; bottom = top + found[0].height;
    }
    return { x: (left + right) / 2, y: (top + bottom) / 2 + 20 };
  }

  function updateButtons() {
    if (!toolbar) { return; }
    toolbar.querySelector("[data-zoom=in]").disabled = state.scale >= MAX - 1e-6;
    toolbar.querySelector("[data-zoom=out]").disabled = state.scale <= state.minScale + 1e-6;
  }

  function zoom(action, at) {
    if (action === "in") { layout(state.scale * STEP, at); }
    else if (action === "out") { layout(state.scale / STEP, at); }
    else if (action === "fit") {
      layout(fitScale(), { x: state.inner.x + state.inner.width / 2, y: state.inner.y + state.inner.height / 2 });
    } else if (action === "reset") { layout(READABLE, state.focus); }
  }

  function mark(registry, overlays) {
    var strongest = {};
    ["completed", "waiting", "open", "overdue"].forEach(function (kind) {
      (container.dataset[kind] || "").split(" ").forEach(function (id) {
        if (id && registry.get(id)) {
          canvas().addMarker(id, kind);
          strongest[id] = kind;
        }
      });
    });
    Object.keys(strongest).forEach(function (id) {
      var badge = document.createElement("span");
      badge.className = "diagram-badge " + strongest[id];
      badge.setAttribute("aria-hidden", "true");
      badge.textContent = BADGES[strongest[id]];
      overlays.add(id, "state", { position: { top: -10, right: 10 }, html: badge, scale: { min: 0.8, max: 1.6 } });
    });
    var timers = {};
    try { timers = JSON.parse(container.dataset.timers || "{}"); } catch (e) { timers = {}; }
    Object.keys(timers).forEach(function (id) {
      var shape = registry.get(id);
      if (!shape) { return; }
      var note = document.createElement("span");
      note.className = "diagram-timer";
      note.setAttribute("lang", document.documentElement.lang || "fr");
      note.setAttribute("dir", document.documentElement.dir || "ltr");
      note.textContent = timers[id];
      // under the event and its label
      overlays.add(id, "timer", { position: { top: shape.height + 44, left: shape.width / 2 - 80 },
                                  html: note, scale: { min: 0.9, max: 1.6 } });
    });
  }

  function bind() {
    if (toolbar) {
      toolbar.hidden = false;
      toolbar.addEventListener("click", function (event) {
        var button = event.target.closest("button[data-zoom]");
        if (button) { zoom(button.dataset.zoom); }
      });
    }
    // Ctrl + wheel zooms around the pointer; a plain vertical wheel scrolls the page (not the
    // box: the page is what the reader is scrolling); Shift + wheel or a sideways swipe moves
    // the diagram left and right.
    scroller.addEventListener("wheel", function (event) {
      if (!event.ctrlKey) {
        if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) { return; }
        event.preventDefault();
        var unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? window.innerHeight : 1;
        window.scrollBy(0, event.deltaY * unit);
        return;
      }
      event.preventDefault();
      var box = scroller.getBoundingClientRect();
      var offset = { x: event.clientX - box.left - scroller.clientWidth / 2,
                     y: event.clientY - box.top - scroller.clientHeight / 2 };
      var c = visibleCenter();
      var at = { x: c.x + offset.x / state.scale, y: c.y + offset.y / state.scale };
      var scale = clamp(event.deltaY < 0 ? state.scale * STEP : state.scale / STEP);
      // the point under the pointer stays under it
      layout(scale, { x: at.x - offset.x / scale, y: at.y - offset.y / scale });
    }, { passive: false });
    scroller.addEventListener("keydown", function (event) {
      if (event.target !== scroller || event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (event.key === "+" || event.key === "=") { zoom("in"); event.preventDefault(); }
      else if (event.key === "-") { zoom("out"); event.preventDefault(); }
      else if (event.key === "0") { zoom("reset"); event.preventDefault(); }
    });
    // Dragging with the mouse moves the diagram (touch scrolls natively).
    var drag = null;
    scroller.addEventListener("pointerdown", function (event) {
      if (event.pointerType !== "mouse" || event.button !== 0) { return; }
      drag = { x: event.clientX, y: event.clientY, left: scroller.scrollLeft, top: scroller.scrollTop };
      scroller.classList.add("dragging");
    });
    window.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      scroller.scrollLeft = drag.left - (event.clientX - drag.x);
      scroller.scrollTop = drag.top - (event.clientY - drag.y);
    });
    window.addEventListener("pointerup", function () { drag = null; scroller.classList.remove("dragging"); });
    var width = scroller.clientWidth;
    window.addEventListener("resize", function () {
      if (scroller.clientWidth === width) { return; }
      width = scroller.clientWidth;
      state.minScale = Math.min(READABLE, fitScale());
      layout(state.scale);
    });
  }

  fetch(container.dataset.xml, { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var registry = viewer.get("elementRegistry");
      canvas().zoom(1);
      state.inner = canvas().viewbox().inner;
      state.minScale = Math.min(READABLE, fitScale());
      mark(registry, viewer.get("overlays"));
      state.focus = currentFocus(registry);
      bind();
      layout(READABLE, state.focus);
      container.dataset.ready = "true";
    })
    .catch(function (error) {
      container.dataset.ready = "error";
      scroller.classList.add("failed");
      container.textContent = container.dataset.error || String(error && error.message || error);
      if (window.console) { window.console.error(error); }
    });
})();
