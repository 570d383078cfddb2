// A small REST client over a KubeConfig, shared by the controller stand-ins and the bootstrap script.
// client-node's typed APIs do not cover /status of custom resources or server-side apply of arbitrary
// objects with our own field manager in one call; this does plain requests with the kubeconfig's TLS
// material and credentials, and a watch loop around client-node's Watch that reconnects.
import https from 'node:https';
import { KubeConfig, Watch } from '@kubernetes/client-node';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<Record<string, unknown>>;
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
  [key: string]: unknown;
}

export class KubeApiError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(method: string, path: string, status: number, body: string) {
    super(`${method} ${path}: HTTP ${status}: ${body.slice(0, 500)}`);
    this.status = status;
    this.body = body;
  }
}

export class KubeRest {
  readonly kc: KubeConfig;
  readonly server: string;

  constructor(kc: KubeConfig) {
    this.kc = kc;
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server;
  }

  static fromFile(path: string): KubeRest {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new KubeRest(kc);
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; text: string }> {
    // applyToHTTPSOptions adds the bearer token (if any) to these headers.
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    const opts: https.RequestOptions = { method, headers };
    await this.kc.applyToHTTPSOptions(opts);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const url = new URL(this.server + path);
    return await new Promise((resolve, reject) => {
      const req = https.request(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: timed out after 30 s`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Like request(), but throws KubeApiError on a non-2xx answer and parses the JSON body. */
  async call<T = KubeObject>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const res = await this.request(method, path, body, contentType);
    if (res.status < 200 || res.status > 299) throw new KubeApiError(method, path, res.status, res.text);
    return (res.text ? JSON.parse(res.text) : {}) as T;
  }

  /** GET that answers undefined for 404. */
  async get<T = KubeObject>(path: string): Promise<T | undefined> {
    const res = await this.request('GET', path);
    if (res.status === 404) return undefined;
    if (res.status < 200 || res.status > 299) throw new KubeApiError('GET', path, res.status, res.text);
    return JSON.parse(res.text) as T;
  }

  /** Server-side apply (force) of a whole object at its path. */
  async apply<T = KubeObject>(path: string, obj: unknown, fieldManager: string): Promise<T> {
    const q = `?fieldManager=${encodeURIComponent(fieldManager)}&force=true`;
    return await this.call<T>('PATCH', path + q, obj, 'application/apply-patch+yaml');
  }

  async delete(path: string): Promise<void> {
    const res = await this.request('DELETE', path);
    if (res.status !== 404 && (res.status < 200 || res.status > 299)) {
      throw new KubeApiError('DELETE', path, res.status, res.text);
    }
  }
}

/** Path of a namespaced custom resource collection or object. */
export function resourcePath(
  group: string,
  version: string,
  namespace: string,
  plural: string,
  name?: string,
): string {
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  return `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}${name ? '/' + encodeURIComponent(name) : ''}`;
}

export type WatchEvent<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T };

/**
 * List, then watch from the list's resourceVersion; on every end of the stream (server timeout,
 * client-node's 30 s inactivity abort, network error) watch again from the last resourceVersion seen,
 * and list again after 410 Gone. Objects of the initial list arrive as ADDED. Runs until signal aborts.
 */
export async function listAndWatch<T extends KubeObject>(
  rest: KubeRest,
  collectionPath: string,
  onEvent: (ev: WatchEvent<T>) => void,
  signal: AbortSignal,
  log: (msg: string) => void,
  onListed?: () => void,
): Promise<void> {
  const watch = new Watch(rest.kc);
  let resourceVersion: string | undefined;
  while (!signal.aborted) {
    try {
      if (resourceVersion === undefined) {
        const list = await rest.call<{ metadata: { resourceVersion: string }; items: T[] }>(
          'GET',
          collectionPath,
        );
        for (const item of list.items) onEvent({ type: 'ADDED', object: item });
        resourceVersion = list.metadata.resourceVersion;
        onListed?.();
      }
      const ended = await new Promise<unknown>((resolve) => {
        let controller: AbortController | undefined;
        const onAbort = (): void => controller?.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        watch
          .watch(
            collectionPath,
            { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 25 },
            (type: string, obj: T & { code?: number }) => {
              if (type === 'ERROR') {
                // 410 Gone: our resourceVersion is too old; list again.
                if (obj.code === 410) resourceVersion = undefined;
                log(`watch ${collectionPath}: ERROR event ${JSON.stringify(obj).slice(0, 300)}`);
                controller?.abort();
                return;
              }
              const rv = (obj.metadata as T['metadata'] | undefined)?.resourceVersion;
              if (rv) resourceVersion = rv;
              if (type === 'BOOKMARK') return;
              onEvent({ type: type as WatchEvent<T>['type'], object: obj });
            },
            (err: unknown) => {
              signal.removeEventListener('abort', onAbort);
              resolve(err);
            },
          )
          .then((c) => {
            controller = c;
          })
          .catch((err: unknown) => {
            resolve(err);
          });
      });
      if (ended !== null && ended !== undefined && !isTimeout(ended) && !isAborted(signal)) {
        log(`watch ${collectionPath} ended: ${errorText(ended)}; reconnecting`);
        await sleep(500);
      }
    } catch (err) {
      if (isAborted(signal)) break;
      log(`list/watch ${collectionPath} failed: ${errorText(err)}; retrying in 1 s`);
      resourceVersion = undefined;
      await sleep(1000);
    }
  }
}

// A function, so that TypeScript does not narrow signal.aborted across awaits.
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs jobs one at a time per key (one reconcile per object at once), latest object wins. */
export class KeyedQueue<T> {
  private readonly pending = new Map<string, T>();
  private readonly running = new Set<string>();
  private readonly work: (key: string, item: T) => Promise<void>;
  private readonly log: (msg: string) => void;

  constructor(work: (key: string, item: T) => Promise<void>, log: (msg: string) => void) {
    this.work = work;
    this.log = log;
  }

  push(key: string, item: T): void {
    this.pending.set(key, item);
    if (!this.running.has(key)) void this.drain(key);
  }

  private async drain(key: string): Promise<void> {
    this.running.add(key);
    try {
      for (let item = this.pending.get(key); item !== undefined; item = this.pending.get(key)) {
        this.pending.delete(key);
        try {
          await this.work(key, item);
        } catch (err) {
          this.log(`${key}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        }
      }
    } finally {
      this.running.delete(key);
    }
  }
}
