// Starts Swagger UI on the gateway's own OpenAPI document. A file rather than an inline script: the edge's CSP is
// `script-src 'self'`. validatorUrl: null keeps the page from calling validator.swagger.io (nothing leaves the host).
"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    displayRequestDuration: true,
    persistAuthorization: false,
  });
});
