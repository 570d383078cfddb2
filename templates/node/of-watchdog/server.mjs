// Server scaffold of faas-deploy's node/of-watchdog template: serves the function's handler on the
// address of upstream_url, behind the OpenFaaS of-watchdog (mode=http), which starts this program
// once and proxies every request to it.
//
// The handler: `module.exports = async (event, context) => body` (or `export default`, or a
// function named `handle`). event: { method, path, query, rawQuery, headers, body: Buffer, text(),
// json() }. context: status(code) and headers({ name: value }), both chainable. The return value is
// the response body: a string, a Buffer/Uint8Array, undefined/null for none, anything else as JSON.
// A thrown error gives a 500; its stack goes to the log, not to the caller.
import { Buffer } from 'node:buffer';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout } from 'node:timers';
import { pathToFileURL } from 'node:url';

const appDir = '/home/app';

/** Watchdog-style duration: whole seconds or a Go duration such as 1500ms, 2s, 1m. */
function duration(value, fallbackMs) {
  if (/^\d+$/.test(value ?? '')) return Number(value) * 1000;
  const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...(value ?? '').matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) return fallbackMs;
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0);
}

/** package.json "main", else handler.js (.mjs, .cjs), else index.js: the module to load. */
function handlerFile() {
  let main;
  try {
    main = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')).main;
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  if (typeof main !== 'string' || main === '') {
    for (const name of ['handler.js', 'handler.mjs', 'handler.cjs']) {
      if (existsSync(path.join(appDir, name))) return path.join(appDir, name);
    }
  }
  return createRequire(path.join(appDir, 'package.json')).resolve(appDir);
}

const loaded = await import(pathToFileURL(handlerFile()).href);
const handler = [loaded.default, loaded.handle, loaded.default?.handle].find((f) => typeof f === 'function');
if (!handler) {
  throw new Error(`${handlerFile()} exports no handler: use module.exports = async (event, context) => …`);
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function encode(result, headers) {
  const has = (name) => Object.keys(headers).some((key) => key.toLowerCase() === name);
  if (result === undefined || result === null) return Buffer.alloc(0);
  if (typeof result === 'string') {
    if (!has('content-type')) headers['Content-Type'] = 'text/plain; charset=utf-8';
    return Buffer.from(result, 'utf8');
  }
  if (result instanceof Uint8Array) {
    if (!has('content-type')) headers['Content-Type'] = 'application/octet-stream';
    return Buffer.from(result.buffer, result.byteOffset, result.byteLength);
  }
  if (!has('content-type')) headers['Content-Type'] = 'application/json';
  return Buffer.from(JSON.stringify(result), 'utf8');
}

async function serve(request, response) {
  const url = new URL(request.url ?? '/', 'http://function.invalid');
  const body = await readBody(request);
  const event = {
    method: request.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    rawQuery: url.search.slice(1),
    headers: request.headers,
    body,
    text: () => body.toString('utf8'),
    json: () => JSON.parse(body.toString('utf8')),
  };
  let status = 200;
  const headers = {};
  const context = {
    status(code) {
      status = code;
      return context;
    },
    headers(values) {
      Object.assign(headers, values);
      return context;
    },
  };
  let payload;
  try {
    payload = encode(await handler(event, context), headers);
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('Internal Server Error\n');
    return;
  }
  response.writeHead(status, { ...headers, 'Content-Length': String(payload.length) });
  response.end(payload);
}

const readyPath = process.env.ready_path || '/_/ready';
const writeTimeoutMs = duration(process.env.write_timeout, 10_000);
const server = createServer((request, response) => {
  if (request.url === readyPath) {
    response.writeHead(200, { 'Content-Type': 'text/plain' });
    response.end('OK');
    return;
  }
  serve(request, response).catch((error) => {
    console.error(error);
    if (!response.headersSent) response.writeHead(500);
    response.end();
  });
});
// The watchdog bounds every request; the server does not cut requests or idle connections itself.
server.requestTimeout = 0;
server.keepAliveTimeout = 0;

let upstream;
try {
  upstream = new URL(process.env.upstream_url ?? 'http://127.0.0.1:8082');
} catch {
  upstream = new URL('http://127.0.0.1:8082');
}
server.listen(Number(upstream.port || 80), upstream.hostname);

// After SIGTERM the watchdog routes requests here for healthcheck_interval more; serve them, then
// finish the requests in flight for at most write_timeout and exit 0.
process.once('SIGTERM', () => {
  setTimeout(() => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), writeTimeoutMs).unref();
  }, duration(process.env.healthcheck_interval, writeTimeoutMs));
});
