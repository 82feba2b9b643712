/* Starts Swagger UI on /docs (an external file, because the CSP refuses inline scripts). */
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  // deepLinking off: it puts a link inside each operation's summary button (nested controls, axe-core)
  window.SwaggerUIBundle({ url: root.dataset.openapi, domNode: root, deepLinking: false });
});
