// Digest resolution for the Knative Serving STAND-IN: what the revision reconciler does with
// go-containerregistry (a HEAD of the manifest, 10 s timeout), with the error texts that library writes,
// so that the ContainerMissing message has the real shape.
//
// Only registries on this machine (127.0.0.0/8, localhost, [::1]) are contacted; they are spoken to over
// plain HTTP first and over TLS (without verification: a loopback test registry) when they answer
// plain HTTP with 400. Any other registry fails resolution with an explanatory error, and the
// registries Knative skips by default (kind.local, ko.local, dev.local) are not resolved at all.
import http from 'node:http';
import https from 'node:https';
import type { DigestAnswer } from './knative-serving-logic.ts';

export const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

const SKIPPED_REGISTRIES = new Set(['kind.local', 'ko.local', 'dev.local']);

export interface ImageRef {
  registry: string; // host[:port]
  repository: string;
  reference: string; // tag or sha256:<hex>
  isDigest: boolean;
}

/** Parses an image reference the way docker/distribution does (default registry docker.io, tag latest). */
export function parseImageRef(image: string): ImageRef {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let registry = 'index.docker.io';
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag = 'latest';
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (registry === 'index.docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  return { registry, repository: rest, reference: digest ?? tag, isDigest: digest !== undefined };
}

function repoString(ref: ImageRef): string {
  return `${ref.registry === 'index.docker.io' ? 'index.docker.io' : ref.registry}/${ref.repository}`;
}

export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.split(':')[0];
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host ?? '');
}

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Reads credentials for a registry host out of a .dockerconfigjson document. */
export function credentialsFromDockerConfig(
  dockerConfigJson: string,
  registry: string,
): RegistryCredentials | undefined {
  let parsed: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    parsed = JSON.parse(dockerConfigJson) as typeof parsed;
  } catch {
    return undefined;
  }
  for (const [key, entry] of Object.entries(parsed.auths ?? {})) {
    const host = key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    if (host !== registry) continue;
    if (entry.username !== undefined && entry.password !== undefined) {
      return { username: entry.username, password: entry.password };
    }
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i > 0) return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
    }
  }
  return undefined;
}

interface Answer {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(url: URL, method: string, headers: Record<string, string>, deadline: number): Promise<Answer> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const remaining = Math.max(1, deadline - Date.now());
    const req = mod.request(url, { method, headers, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
      res.on('error', reject);
    });
    req.setTimeout(remaining, () => req.destroy(new Error('context deadline exceeded')));
    req.on('error', reject);
    req.end();
  });
}

function goMethod(method: string): string {
  return method.charAt(0) + method.slice(1).toLowerCase(); // net/http's error prefix: Head "<url>": ...
}

/**
 * Resolves an image reference to `<registry>/<repo>@sha256:…`. The error texts follow
 * go-containerregistry (transport/error.go) so that the Revision message looks like the real one.
 */
export async function resolveDigest(
  image: string,
  creds?: RegistryCredentials,
  timeoutMs = 10_000,
): Promise<DigestAnswer> {
  const ref = parseImageRef(image);
  if (SKIPPED_REGISTRIES.has(ref.registry)) return { ok: true, digest: image };
  if (!isLoopbackRegistry(ref.registry)) {
    return {
      ok: false,
      error: `the Knative stand-in only resolves registries on this machine (127.0.0.1, localhost), not ${ref.registry}`,
    };
  }
  const deadline = Date.now() + timeoutMs;
  let scheme = 'http';
  const pingUrl = (): URL => new URL(`${scheme}://${ref.registry}/v2/`);
  let ping: Answer;
  try {
    ping = await send(pingUrl(), 'GET', {}, deadline);
    if (ping.status === 400 && /HTTPS server/i.test(ping.body)) {
      scheme = 'https';
      ping = await send(pingUrl(), 'GET', {}, deadline);
    }
  } catch (err) {
    return { ok: false, error: `Get "${pingUrl().toString()}": ${errText(err)}` };
  }

  let authorization: string | undefined;
  if (ping.status === 401) {
    const challenge = header(ping.headers, 'www-authenticate');
    if (/^basic/i.test(challenge)) {
      if (creds)
        authorization = 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
    } else if (/^bearer/i.test(challenge)) {
      const params = Object.fromEntries(
        [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]?.toLowerCase() ?? '', m[2] ?? '']),
      );
      const tokenUrl = new URL(params['realm'] ?? '');
      if (params['service']) tokenUrl.searchParams.set('service', params['service']);
      tokenUrl.searchParams.set('scope', `repository:${ref.repository}:pull`);
      const headers: Record<string, string> = {};
      if (creds)
        headers['Authorization'] =
          'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
      try {
        const tok = await send(tokenUrl, 'GET', headers, deadline);
        if (tok.status !== 200) {
          return {
            ok: false,
            error: `GET ${tokenUrl.toString()}: unexpected status code ${tok.status} ${tok.statusText}`,
          };
        }
        const body = JSON.parse(tok.body) as { token?: string; access_token?: string };
        authorization = `Bearer ${body.token ?? body.access_token ?? ''}`;
      } catch (err) {
        return { ok: false, error: `Get "${tokenUrl.toString()}": ${errText(err)}` };
      }
    }
  }

  const url = new URL(`${scheme}://${ref.registry}/v2/${ref.repository}/manifests/${ref.reference}`);
  const headers: Record<string, string> = { Accept: MANIFEST_ACCEPT };
  if (authorization) headers['Authorization'] = authorization;
  let res: Answer;
  try {
    res = await send(url, 'HEAD', headers, deadline);
  } catch (err) {
    return { ok: false, error: `${goMethod('HEAD')} "${url.toString()}": ${errText(err)}` };
  }
  if (res.status !== 200) {
    return {
      ok: false,
      error: `HEAD ${url.toString()}: unexpected status code ${res.status} ${res.statusText} (HEAD responses have no body, use GET for details)`,
    };
  }
  const digest = header(res.headers, 'docker-content-digest');
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    return { ok: false, error: `HEAD ${url.toString()}: response has no Docker-Content-Digest header` };
  }
  if (ref.isDigest && digest !== ref.reference) {
    return {
      ok: false,
      error: `manifest digest: "${digest}" does not match requested digest: "${ref.reference}"`,
    };
  }
  return { ok: true, digest: `${repoString(ref)}@${digest}` };
}

function header(headers: http.IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

function errText(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && (err as { code?: string }).code === 'ECONNREFUSED') {
    const e = err as { address?: string; port?: number };
    return `dial tcp ${e.address ?? ''}:${e.port ?? ''}: connect: connection refused`;
  }
  return err instanceof Error ? err.message : String(err);
}
