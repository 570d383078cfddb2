// Helpers for the deploy integration tests: tiny images pushed straight to the test registry through
// the Docker Registry HTTP API (so each test has its own digests), a function spec, the environment.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { dump, load } from 'js-yaml';
import { connectCluster, type Cluster, type ClusterOptions } from '../../src/deploy/index.js';
import { connectKube, type KubeConnectOptions, type KubeConnection } from '../../src/kube/index.js';

export function need(env: Record<string, string>, key: string): string {
  const v = env[key];
  if (!v) throw new Error(`${key} is missing from the test environment (scripts/test-env/test-env env)`);
  return v;
}

/**
 * A connection (src/kube) and the deploy stage's Cluster on it, as main wires them; close() stops the
 * Cluster, then closes the connection.
 */
export async function connectDeploy(
  options: Omit<KubeConnectOptions, 'secret'> &
    Partial<Pick<KubeConnectOptions, 'secret'>> &
    Omit<ClusterOptions, 'repository'> &
    Partial<Pick<ClusterOptions, 'repository'>>,
): Promise<Cluster & { kube: KubeConnection }> {
  const kube = await connectKube({
    kubeconfig: options.kubeconfig,
    tempDir: options.tempDir,
    secret: options.secret ?? (() => undefined),
    ...(options.env ? { env: options.env } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.debug ? { log: options.debug } : {}),
  });
  try {
    // The repository the test environment's workflow runs belong to (test/support/action-runner.ts).
    const cluster = await connectCluster(kube, { repository: 'octo-org/functions', ...options });
    return Object.assign(Object.create(cluster) as Cluster, {
      kube,
      close: async () => {
        await cluster.close();
        await kube.close();
      },
    });
  } catch (error) {
    await kube.close();
    throw error;
  }
}

export function suffix(): string {
  return randomBytes(3).toString('hex');
}

async function check(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

async function pushBlob(registry: string, repo: string, bytes: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const start = await check(
    await fetch(`http://${registry}/v2/${repo}/blobs/uploads/`, { method: 'POST' }),
    'start blob upload',
  );
  const location = new URL(start.headers.get('location') ?? '', `http://${registry}`);
  location.searchParams.set('digest', digest);
  await check(
    await fetch(location, {
      method: 'PUT',
      body: new Uint8Array(bytes),
      headers: { 'Content-Type': 'application/octet-stream' },
    }),
    'put blob',
  );
  return digest;
}

/**
 * Pushes a minimal OCI image (one config blob, no layers) whose config carries `seed`, so every seed
 * gives another digest. Returns `<registry>/<repo>@sha256:…` — an image by digest, as the build stage
 * hands it to deploy.
 */
export async function pushImage(registry: string, repo: string, seed: string): Promise<string> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { seed } },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const configDigest = await pushBlob(registry, repo, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [],
    }),
  );
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  await check(
    await fetch(`http://${registry}/v2/${repo}/manifests/${seed}`, {
      method: 'PUT',
      body: new Uint8Array(manifest),
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    }),
    'put manifest',
  );
  return `${registry}/${repo}@${digest}`;
}

export { functionSpec } from '../../test/support/function-spec.ts';

/** A registry address that accepts connections and never answers: digest resolution hangs. */
export function blackhole(): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      });
    });
  });
}

/** A registry in front of the real one that answers manifest HEADs only after `delayMs`. */
export function slowRegistry(
  registry: string,
  delayMs: number,
): Promise<{ host: string; close: () => void }> {
  const server = http.createServer((req, res) => {
    const forward = (): void => {
      const up = http.request(
        {
          host: registry.split(':')[0],
          port: Number(registry.split(':')[1] ?? 80),
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (req.method === 'HEAD' && req.url?.includes('/manifests/')) setTimeout(forward, delayMs);
    else forward();
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      });
    });
  });
}

/**
 * A TCP proxy on 127.0.0.1 in front of the API server (TLS passes through untouched): it can drop
 * every open connection (a watch stream breaking mid-wait) and reset the next N new connections
 * (ECONNRESET, as from a load balancer restarting).
 */
export interface TcpProxy {
  url: string;
  dropAll(): number;
  resetNext(n: number): void;
  readonly connections: number;
  close(): void;
}

export function tcpProxy(target: string): Promise<TcpProxy> {
  const t = new URL(target);
  const open = new Set<net.Socket>();
  let reset = 0;
  let connections = 0;
  const server = net.createServer((client) => {
    connections++;
    client.on('error', () => undefined);
    if (reset > 0) {
      reset--;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(Number(t.port || 443), t.hostname);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    open.add(client);
    client.on('close', () => open.delete(client));
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        url: `https://127.0.0.1:${port}`,
        dropAll: () => {
          const n = open.size;
          for (const s of open) s.resetAndDestroy();
          return n;
        },
        resetNext: (n) => {
          reset = n;
        },
        get connections() {
          return connections;
        },
        close: () => {
          for (const s of open) s.destroy();
          server.close();
        },
      });
    });
  });
}

/** The same kubeconfig with another server URL (a proxy) or another user token. */
export function editKubeconfig(
  text: string,
  change: { server?: string; token?: string; user?: string },
): string {
  const doc = load(text) as {
    clusters: Array<{ cluster: { server: string } }>;
    users: Array<{ name: string; user: { token?: string } }>;
    contexts: Array<{ context: { user: string } }>;
  };
  for (const c of doc.clusters) if (change.server) c.cluster.server = change.server;
  for (const u of doc.users) {
    if (change.token) u.user.token = change.token;
    if (change.user) u.name = change.user;
  }
  for (const c of doc.contexts) if (change.user) c.context.user = change.user;
  return dump(doc);
}
