import { Hono } from 'hono';
import { protect, PUBLIC } from '../accounts';
import type { AppEnv } from '../../env';

// The documentation pages load their scripts from this worker's own static assets (public/), so they
// render with no network beyond the API itself.
export const docsRoutes = new Hono<AppEnv>();

const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join('; ');

function page(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
${head}
</head>
<body>
${body}
</body>
</html>`;
}

const SWAGGER = page(
  'Edgeway API — Swagger UI',
  '<link rel="stylesheet" href="/vendor/swagger-ui/swagger-ui.css">',
  '<div id="swagger-ui"></div>\n<script src="/vendor/swagger-ui/swagger-ui-bundle.js"></script>\n<script src="/docs-assets/swagger-init.js"></script>',
);

const REDOC = page(
  'Edgeway API — ReDoc',
  '<style>body{margin:0;padding:0}</style>',
  '<div id="redoc"></div>\n<script src="/vendor/redoc/redoc.standalone.js"></script>\n<script src="/docs-assets/redoc-init.js"></script>',
);

docsRoutes.get('/docs', protect(PUBLIC), (c) =>
  c.html(SWAGGER, 200, { 'Content-Security-Policy': DOCS_CSP, 'Cache-Control': 'no-cache' }),
);
docsRoutes.get('/redoc', protect(PUBLIC), (c) =>
  c.html(REDOC, 200, { 'Content-Security-Policy': DOCS_CSP, 'Cache-Control': 'no-cache' }),
);
