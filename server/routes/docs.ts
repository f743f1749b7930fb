// /openapi.json (OpenAPI 3.1, generated from the schemas that validate requests) and /docs:
// a self-contained HTML page that renders it with a few lines of inline script. No CDN,
// no external asset: the reference works on an air-gapped machine.

import type { OpenAPIHono } from '@hono/zod-openapi';
import { VERSION } from '../context.ts';
import type { AppEnv } from '../http.ts';

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tessera API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#fafafa}
header{background:#1d2330;color:#fff;padding:14px 24px}header a{color:#9cd}
main{max-width:980px;margin:0 auto;padding:16px 24px}
h2{border-bottom:1px solid #ccd;margin-top:32px}
details{background:#fff;border:1px solid #dde;border-radius:6px;margin:8px 0;padding:6px 12px}
summary{cursor:pointer}code,pre{font:13px ui-monospace,monospace}
pre{background:#f2f3f7;padding:8px;overflow:auto;border-radius:4px}
.m{display:inline-block;min-width:58px;font-weight:700;font-family:ui-monospace,monospace}
.get{color:#1769aa}.post{color:#2e7d32}.put{color:#b26a00}.delete{color:#b71c1c}
.lock{color:#888;font-size:12px}
</style></head><body>
<header><strong>tessera</strong> API reference &middot; <a href="/openapi.json">openapi.json</a></header>
<main id="root">Loading /openapi.json&hellip;</main>
<script>
(async function () {
  const root = document.getElementById('root');
  const doc = await (await fetch('/openapi.json')).json();
  const el = (tag, attrs, ...kids) => { const e = document.createElement(tag); Object.assign(e, attrs || {}); for (const k of kids) e.append(k); return e; };
  const resolve = (s) => (s && s.$ref ? doc.components.schemas[s.$ref.split('/').pop()] : s);
  const json = (v) => el('pre', {}, JSON.stringify(v, null, 2));
  root.textContent = '';
  root.append(el('h1', {}, doc.info.title + ' ' + doc.info.version), el('p', {}, doc.info.description || ''));
  const byTag = {};
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
    const tag = (op.tags && op.tags[0]) || 'other'; (byTag[tag] = byTag[tag] || []).push({ path, method, op });
  }
  for (const [tag, ops] of Object.entries(byTag)) {
    root.append(el('h2', {}, tag));
    for (const { path, method, op } of ops) {
      const d = el('details');
      d.append(el('summary', {}, el('span', { className: 'm ' + method }, method.toUpperCase()), ' ', el('code', {}, path), ' \\u2014 ', op.summary || '',
        op.security ? el('span', { className: 'lock' }, '  (API token)') : ''));
      if (op.description) d.append(el('p', {}, op.description));
      if (op.parameters && op.parameters.length) d.append(el('h4', {}, 'Parameters'), json(op.parameters.map((p) => ({ name: p.name, in: p.in, required: !!p.required, schema: p.schema, description: p.description }))));
      if (op.requestBody) for (const [type, media] of Object.entries(op.requestBody.content)) d.append(el('h4', {}, 'Request body (' + type + ')'), json(resolve(media.schema)));
      for (const [code, res] of Object.entries(op.responses || {})) {
        d.append(el('h4', {}, 'Response ' + code + ': ' + (res.description || '')));
        for (const media of Object.values(res.content || {})) d.append(json(resolve(media.schema)));
      }
      root.append(d);
    }
  }
  root.append(el('h2', {}, 'Schemas'), json(doc.components && doc.components.schemas));
})().catch((e) => { document.getElementById('root').textContent = 'Could not load /openapi.json: ' + e; });
</script></body></html>`;

export function mountDocs(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API token (tsr_...) with scope admin or auditor',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'tessera',
      version: VERSION,
      description:
        'Attestation service for confidential computing (AMD SEV-SNP, Intel TDX and SGX): challenges, evidence appraisal, EAR attestation results, policies, reference values and a hash-chained audit log. Every error is RFC 9457 problem+json with a stable `code`.',
    },
  });
  app.get('/docs', (c) => c.html(DOCS_HTML));
}
