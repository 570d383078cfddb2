// Plain HTTPS to the Kubernetes API with the kubeconfig's credentials: one keep-alive connection pool,
// transient failures (connection reset/refused, 429, 5xx) retried with exponential backoff for
// idempotent requests only, and newline-delimited JSON streams for watches. @kubernetes/client-node
// supplies the credentials (tokens, client certificates, exec plugins, in-cluster) per request; the
// requests themselves are ours so that every status code, header and stream event stays visible.
// The deploy stage and the Tekton builder share one instance (src/kube/index.ts).
import { describeError } from '../util/errors.js';
import http from 'node:http';
import https from 'node:https';

export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 4000 };

/** Fills in TLS material and authentication headers for one request. */
export type Authenticate = (options: https.RequestOptions) => Promise<void>;

export interface KubeHttpOptions {
  server: string;
  authenticate: Authenticate;
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout of non-streaming requests. */
  requestTimeoutMs?: number;
  /** Use the agent the authenticator sets (an HTTP(S) proxy from the kubeconfig) instead of our pool. */
  keepAuthenticatorAgent?: boolean;
  /**
   * Called with every credential the authenticator put on a request (a bearer token, basic auth),
   * before the request is sent: exec plugins and auth providers hand out tokens only at request time,
   * and tokens rotate.
   */
  onCredential?: (value: string) => void;
  log?: (message: string) => void;
}

export interface KubeRequest {
  method: 'GET' | 'PATCH' | 'DELETE' | 'POST' | 'PUT';
  /** Path with query string, e.g. /apis/serving.knative.dev/v1/namespaces/x/services?labelSelector=… */
  path: string;
  body?: string;
  contentType?: string;
  /** Safe to send again after a transient failure (GET, DELETE, server-side apply). */
  idempotent: boolean;
  signal?: AbortSignal;
}

export interface KubeResponse {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export type StreamEnd =
  | { kind: 'end' }
  | { kind: 'aborted' }
  | { kind: 'error'; error: Error }
  | { kind: 'http'; status: number; body: string };

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
]);
const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504]);

/** A network failure worth another attempt: the connection broke or could not be made. */
export function isTransientNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined && TRANSIENT_CODES.has(code)) || /socket hang up|timed out/i.test(error.message);
}

export function isTransientStatus(status: number): boolean {
  return TRANSIENT_STATUS.has(status);
}

/** Delay before attempt `attempt` (1 = first retry): exponential with full jitter, or Retry-After. */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterHeader?: string): number {
  const retryAfter = retryAfterHeader !== undefined ? Number(retryAfterHeader) : Number.NaN;
  if (Number.isFinite(retryAfter) && retryAfter >= 0) return Math.min(retryAfter * 1000, 10_000);
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return cap / 2 + Math.random() * (cap / 2);
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class KubeHttp {
  readonly server: string;
  private readonly authenticate: Authenticate;
  private readonly policy: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private readonly keepAuthenticatorAgent: boolean;
  private readonly onCredential: (value: string) => void;
  private readonly log: (message: string) => void;
  private agent: http.Agent | undefined;
  /** Retries done so far (transient failures survived), for the log and the tests. */
  retries = 0;

  constructor(options: KubeHttpOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.authenticate = options.authenticate;
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.keepAuthenticatorAgent = options.keepAuthenticatorAgent ?? false;
    this.onCredential = options.onCredential ?? (() => undefined);
    this.log = options.log ?? (() => undefined);
  }

  /** Options for one request: credentials fresh from the kubeconfig (tokens may rotate), our pool. */
  private async options(
    method: string,
    headers: Record<string, string | number>,
  ): Promise<https.RequestOptions> {
    const options: https.RequestOptions = { method, headers: { ...headers } };
    await this.authenticate(options);
    const authorization = (options.headers as Record<string, unknown>)['Authorization'];
    if (typeof authorization === 'string') this.onCredential(authorization.replace(/^\S+\s+/, ''));
    if (typeof options.auth === 'string' && options.auth !== '') this.onCredential(options.auth);
    // A client key an exec plugin returned: its PEM lines, as kubeconfigSecrets masks a file's.
    const key: unknown = options.key;
    if (typeof key === 'string' || Buffer.isBuffer(key)) {
      for (const line of key.toString().split('\n')) {
        if (line.trim().length >= 4 && !line.startsWith('-----')) this.onCredential(line.trim());
      }
    }
    if (!this.keepAuthenticatorAgent) {
      if (!this.agent) {
        const tls = {
          keepAlive: true,
          maxSockets: 32,
          ...(options.ca ? { ca: options.ca } : {}),
          ...(options.cert ? { cert: options.cert } : {}),
          ...(options.key ? { key: options.key } : {}),
          ...(options.rejectUnauthorized !== undefined
            ? { rejectUnauthorized: options.rejectUnauthorized }
            : {}),
          ...(options.servername ? { servername: options.servername } : {}),
        };
        this.agent = this.server.startsWith('http:') ? new http.Agent(tls) : new https.Agent(tls);
      }
      options.agent = this.agent;
    }
    return options;
  }

  private send(request: KubeRequest): Promise<KubeResponse> {
    return this.options(request.method, {
      Accept: 'application/json',
      ...(request.body !== undefined
        ? {
            'Content-Type': request.contentType ?? 'application/json',
            'Content-Length': Buffer.byteLength(request.body),
          }
        : {}),
    }).then(
      (options) =>
        new Promise<KubeResponse>((resolve, reject) => {
          const url = new URL(this.server + request.path);
          const mod = url.protocol === 'http:' ? http : https;
          const req = mod.request(
            url,
            { ...options, ...(request.signal ? { signal: request.signal } : {}) },
            (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () => {
                resolve({
                  status: res.statusCode ?? 0,
                  body: Buffer.concat(chunks).toString('utf8'),
                  headers: res.headers,
                });
              });
              res.on('error', reject);
            },
          );
          req.setTimeout(this.requestTimeoutMs, () => {
            req.destroy(
              Object.assign(
                new Error(`${request.method} ${url.pathname}: timed out after ${this.requestTimeoutMs} ms`),
                {
                  code: 'ETIMEDOUT',
                },
              ),
            );
          });
          req.on('error', reject);
          if (request.body !== undefined) req.write(request.body);
          req.end();
        }),
    );
  }

  /**
   * Sends a request and answers whatever status the server gave. Transient failures are retried
   * with backoff when the request is idempotent; a non-idempotent request is sent once.
   */
  async request(request: KubeRequest): Promise<KubeResponse> {
    const attempts = request.idempotent ? this.policy.attempts : 1;
    for (let attempt = 1; ; attempt++) {
      let outcome: { response: KubeResponse } | { error: unknown };
      try {
        outcome = { response: await this.send(request) };
      } catch (error) {
        if (request.signal?.aborted) throw abortError(request.signal);
        outcome = { error };
      }
      const transient =
        'response' in outcome
          ? isTransientStatus(outcome.response.status)
          : isTransientNetworkError(outcome.error);
      if (!transient || attempt >= attempts) {
        if ('error' in outcome) throw outcome.error;
        return outcome.response;
      }
      const retryAfter = 'response' in outcome ? outcome.response.headers['retry-after'] : undefined;
      const delay = backoffDelay(
        this.policy,
        attempt,
        typeof retryAfter === 'string' ? retryAfter : undefined,
      );
      this.retries++;
      this.log(
        `${request.method} ${request.path.split('?')[0] ?? ''}: ${
          'response' in outcome ? `HTTP ${outcome.response.status}` : describeError(outcome.error)
        }; retry ${attempt} of ${attempts - 1} in ${Math.round(delay)} ms`,
      );
      await sleep(delay, request.signal);
    }
  }

  /**
   * Opens a streaming GET (a watch) and calls onLine with every parsed JSON line until the server
   * ends the stream, the connection breaks, nothing arrives for idleTimeoutMs, or signal aborts.
   * Never throws for stream ends: the caller decides whether to reconnect.
   */
  async stream(
    path: string,
    onLine: (value: unknown) => void,
    signal: AbortSignal,
    idleTimeoutMs: number,
  ): Promise<StreamEnd> {
    if (signal.aborted) return { kind: 'aborted' };
    let options: https.RequestOptions;
    try {
      options = await this.options('GET', { Accept: 'application/json' });
    } catch (error) {
      return { kind: 'error', error: error instanceof Error ? error : new Error(String(error)) };
    }
    return await new Promise<StreamEnd>((resolve) => {
      let settled = false;
      const finish = (end: StreamEnd): void => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        signal.removeEventListener('abort', onAbort);
        resolve(end);
      };
      const url = new URL(this.server + path);
      const mod = url.protocol === 'http:' ? http : https;
      const req = mod.request(url, options, (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            finish({
              kind: 'http',
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
          res.on('error', (error) => {
            finish({ kind: 'error', error });
          });
          return;
        }
        res.setEncoding('utf8');
        let buffered = '';
        res.on('data', (chunk: string) => {
          armIdle();
          buffered += chunk;
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line === '') continue;
            try {
              onLine(JSON.parse(line) as unknown);
            } catch (error) {
              req.destroy(error instanceof Error ? error : new Error(String(error)));
              return;
            }
          }
        });
        res.on('end', () => {
          finish({ kind: 'end' });
        });
        res.on('error', (error) => {
          finish(signal.aborted ? { kind: 'aborted' } : { kind: 'error', error });
        });
        res.on('close', () => {
          finish(signal.aborted ? { kind: 'aborted' } : { kind: 'end' });
        });
      });
      let idle: NodeJS.Timeout | undefined;
      const armIdle = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => {
          req.destroy(new Error(`watch stream idle for ${idleTimeoutMs} ms`));
        }, idleTimeoutMs);
      };
      const onAbort = (): void => {
        req.destroy();
        finish({ kind: 'aborted' });
      };
      signal.addEventListener('abort', onAbort, { once: true });
      armIdle();
      req.on('error', (error) => {
        finish(signal.aborted ? { kind: 'aborted' } : { kind: 'error', error });
      });
      req.end();
    });
  }

  close(): void {
    this.agent?.destroy();
  }
}
