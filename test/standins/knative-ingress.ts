// The Knative Serving STAND-IN's ingress: a small HTTP proxy on 127.0.0.1 in the place of Knative's
// gateway (kourier). It routes by Host header (routeRequest in knative-serving-dataplane.ts) and
// forwards method, path, query, headers and body to the revision's container on its 127.0.0.1 port,
// streaming the answer back. Unknown host → 404 (as kourier answers); a route whose container does not
// answer (yet) → 503. Thin on purpose: the decisions are in the pure module.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { routeRequest, type IngressDecision, type Route } from './knative-serving-dataplane.ts';

/** Where a revision's container listens, or why it cannot take the request. */
export type Backend = { ok: true; port: number } | { ok: false; reason: string };

export interface IngressOptions {
  /** 0 = any free port */
  port: number;
  routes: () => Map<string, Route>;
  backend: (namespace: string, revision: string) => Backend;
  log: (msg: string) => void;
  random?: () => number;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded; Node frames both connections itself.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function forwardHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  const listed = new Set(
    (headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || listed.has(k)) continue;
    out[k] = v;
  }
  return out;
}

function answer(
  res: http.ServerResponse,
  status: number,
  text: string,
  extra: http.OutgoingHttpHeaders = {},
) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...extra });
  res.end(text + '\n');
}

export interface Ingress {
  server: http.Server;
  address: string;
  close(): Promise<void>;
}

export async function startIngress(opts: IngressOptions): Promise<Ingress> {
  const random = opts.random ?? Math.random;
  const server = http.createServer((req, res) => {
    const decision: IngressDecision = routeRequest(opts.routes(), req.headers.host, random());
    if (decision.kind === 'unknown-host') {
      // kourier's answer for a host no route claims: 404 with an empty body.
      req.resume();
      res.writeHead(404, { 'Content-Length': 0 });
      res.end();
      return;
    }
    if (decision.kind === 'no-target') {
      req.resume();
      answer(res, 503, `no traffic target of ${decision.service} has a percent`);
      return;
    }
    const backend = opts.backend(decision.namespace, decision.revision);
    if (!backend.ok) {
      req.resume();
      answer(res, 503, `revision ${decision.namespace}/${decision.revision}: ${backend.reason}`, {
        'Retry-After': '1',
      });
      return;
    }
    const headers = forwardHeaders(req.headers);
    const remote = req.socket.remoteAddress ?? '127.0.0.1';
    const xff = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = xff ? `${String(xff)}, ${remote}` : remote;
    headers['x-forwarded-proto'] ??= 'http';
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: backend.port,
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.statusMessage, forwardHeaders(up.headers));
        up.pipe(res);
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Not answering yet (refused) or gone: the revision has no ready endpoint.
      answer(res, 503, `revision ${decision.namespace}/${decision.revision}: ${err.code ?? err.message}`, {
        'Retry-After': '1',
      });
    });
    // The client went away before the answer was complete: so does the request to the container.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  server.on('clientError', (_err, socket) => {
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
