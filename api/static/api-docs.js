// Starts Swagger UI on /api/v1/docs from a static file, so that the page needs no inline script
// (the Content-Security-Policy allows scripts of this site only). The spec's URL and the options
// come from the container's data attributes.
(function () {
  var container = document.getElementById("swagger-ui-container");
  if (!container || typeof SwaggerUIBundle === "undefined") { return; }
  var config = { url: container.dataset.specUrl, dom_id: "#swagger-ui-container" };
  var options = JSON.parse(container.dataset.config || "{}");
  Object.keys(options).forEach(function (name) { config[name] = options[name]; });
  window.ui = SwaggerUIBundle(config);
  container.dataset.ready = "true";
})();
