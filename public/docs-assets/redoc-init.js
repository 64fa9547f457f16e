// Kept out of the HTML so the docs page can run under a CSP without 'unsafe-inline' scripts.
window.addEventListener('load', function () {
  Redoc.init('/openapi.json', { hideDownloadButton: false }, document.getElementById('redoc'));
});
