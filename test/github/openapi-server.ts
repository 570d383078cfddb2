// A local GitHub REST API for tests, checked against GitHub's OpenAPI description.
//
//   const gh = await startGitHubServer({ token: 'ghs_test', repo: { owner: 'octo-org', name: 'functions' } });
//   gh.state.addPullRequest({ number: 7, head: { ref: 'feature', sha }, base: { ref: 'main', sha: base } });
//   const octokit = getOctokit('ghs_test', { baseUrl: gh.url });
//   ...
//   gh.callsTo('issues/create-comment')      // recorded requests
//   await gh.close()                         // throws if the fake ever answered outside the schema
//
// Every request is routed with the spec's path templates, authenticated, and validated (path and query
// parameters with GitHub's coercion, the JSON body against the operation's requestBody schema) before
// a handler runs; operations without a handler get 501 naming the operationId. Every response the fake
// sends is validated against the operation's response schema (success bodies in closed mode: no
// undeclared fields); a mismatch is answered with 500 and recorded in `schemaViolations`.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorBody, handlers, type HandlerContext, type Reply } from './handlers.ts';
import { Urls, type BodyFormat } from './objects.ts';
import {
  formatErrors,
  validateParameters,
  validateRequestBody,
  validateResponse,
  type SchemaError,
} from './schema.ts';
import { loadSpec, matchRoute, type Operation } from './spec.ts';
import { GITHUB_ACTIONS_BOT, GitHubState, type Actor } from './state.ts';

export interface GitHubServerOptions {
  /** The only token accepted (`token X`, `Bearer X`, or Basic with X as password). Default 'ghs_test'. */
  token?: string;
  repo?: {
    owner?: string;
    name?: string;
    id?: number;
    defaultBranch?: string;
    private?: boolean;
    ownerType?: 'User' | 'Organization';
  };
  /** Identity of the token; default github-actions[bot], as for a workflow's GITHUB_TOKEN. */
  actor?: Actor;
  /** Web root for html_url fields. Default https://github.com. */
  serverUrl?: string;
  /** Delay before each handler runs, in ms; per operationId with `setLatency`. */
  latencyMs?: number;
  /** How many requests may be inside a handler (including its latency) at once. Default unlimited. */
  concurrency?: number;
  /** Success bodies may not carry fields their schema does not declare. Default true. */
  strictResponses?: boolean;
  /** Clock for created_at/updated_at. */
  now?: () => Date;
}

export interface RecordedRequest {
  method: string;
  /** Path as sent, without the query string. */
  path: string;
  /** Raw query parameters as sent (last value wins for repeated keys). */
  query: Record<string, string>;
  /** Parsed JSON body, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
  headers: Record<string, string>;
  operationId?: string;
  /** Other operationIds answering the same URL (compare-commits for compare-commits-with-basehead). */
  aliases: string[];
  /** Decoded, coerced path parameters. */
  params: Record<string, unknown>;
  /** 0 while the request is still being handled. */
  status: number;
  response?: unknown;
}

export interface Gate {
  /** Requests held so far. */
  readonly held: number;
  /** Resolves once `n` requests are held. */
  waitFor(n: number): Promise<void>;
  /** Lets held and future requests through and removes the gate. */
  release(): void;
}

export interface InjectedFailure {
  operationId: string;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  times: number;
}

export interface GitHubServer {
  url: string;
  state: GitHubState;
  requests: RecordedRequest[];
  schemaViolations: string[];
  /** Requests that reached the given operation (or one of its aliases). */
  callsTo(operationId: string): RecordedRequest[];
  /**
   * The next matching request (after authentication and validation) is answered with `status` and
   * `body` instead of reaching its handler. The default body is GitHub's for that status, e.g. 403
   * "Resource not accessible by integration". Throws at once if `body` does not fit the operation's
   * documented response for that status.
   */
  failNext(
    operationId: string,
    status: number,
    body?: unknown,
    opts?: { times?: number; headers?: Record<string, string> },
  ): void;
  /** `operationId` '*' sets the default for every operation. */
  setLatency(operationId: string, ms: number): void;
  /** Holds matching requests (after validation, before the handler) until released; `releaseAt` releases once that many wait. */
  gate(operationId: string, opts?: { releaseAt?: number }): Gate;
  /** Throws if any response failed its schema. */
  assertNoViolations(): void;
  close(): Promise<void>;
}

const SUPPORTED_API_VERSIONS = ['2022-11-28', '2026-03-10'];
const DOCS = 'https://docs.github.com/rest';

const DEFAULT_MESSAGES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Bad credentials',
  403: 'Resource not accessible by integration',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  422: 'Validation Failed',
  429: 'API rate limit exceeded',
  500: 'Server Error',
  502: 'Server Error',
  503: 'Service Unavailable',
};

class Semaphore {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

class GateImpl implements Gate {
  held = 0;
  released = false;
  readonly operationId: string;
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  private readonly releasers: Array<() => void> = [];
  private readonly releaseAt: number | undefined;
  private readonly onRelease: () => void;

  constructor(operationId: string, releaseAt: number | undefined, onRelease: () => void) {
    this.operationId = operationId;
    this.releaseAt = releaseAt;
    this.onRelease = onRelease;
  }

  hold(): Promise<void> {
    if (this.released) return Promise.resolve();
    this.held++;
    const p = new Promise<void>((resolve) => this.releasers.push(resolve));
    const reached = this.waiters.filter((w) => this.held >= w.n);
    this.waiters = this.waiters.filter((w) => this.held < w.n);
    for (const w of reached) w.resolve();
    if (this.releaseAt !== undefined && this.held >= this.releaseAt) this.release();
    return p;
  }
  waitFor(n: number): Promise<void> {
    if (this.held >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
  release(): void {
    this.released = true;
    for (const r of this.releasers.splice(0)) r();
    this.onRelease();
  }
}

function mediaFormat(accept: string): BodyFormat | { unsupported: string } {
  for (const part of accept.split(',')) {
    const type = (part.split(';')[0] ?? '').trim().toLowerCase();
    // octokit's mediaType.format sends application/vnd.github.v3.full (no +json); GitHub answers JSON.
    const m = /^application\/vnd\.github(?:\.v3)?(?:\.(raw|text|html|full))?(?:\+json)?$/.exec(type);
    if (m) return (m[1] as BodyFormat | undefined) ?? 'raw';
    const other = /^application\/vnd\.github(?:\.v3)?\.(diff|patch|sha|object|base64)/.exec(type);
    if (other) return { unsupported: type };
  }
  return 'raw';
}

function invalidRequestMessage(errors: SchemaError[], where: 'body' | 'query'): string {
  const lines = errors.map((e) => {
    const field = e.path ? e.path.slice(1).replace(/\//g, '/properties/') : '';
    switch (e.keyword) {
      case 'required':
        return `"${String(e.params.missingProperty)}" wasn't supplied.`;
      case 'additionalProperties':
        return `"${String(e.params.additionalProperty)}" is not a permitted key.`;
      case 'type':
        return `For '${where === 'body' ? 'properties/' : ''}${field}', ${JSON.stringify(e.value)} is not ${/^[aeiou]/.test(String(e.params.type)) ? 'an' : 'a'} ${String(e.params.type)}.`;
      case 'enum':
        return `For '${where === 'body' ? 'properties/' : ''}${field}', ${JSON.stringify(e.value)} is not a member of ${JSON.stringify(e.params.allowedValues)}.`;
      default:
        return `For '${field || 'body'}', ${JSON.stringify(e.value)} ${e.message}.`;
    }
  });
  return `Invalid request.\n\n${[...new Set(lines)].join('\n')}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      chunks.push(c);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

function authorize(header: string | undefined, token: string): 'ok' | 'missing' | 'bad' {
  if (!header) return 'missing';
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  switch (scheme.toLowerCase()) {
    case 'token':
    case 'bearer':
      return value === token ? 'ok' : 'bad';
    case 'basic': {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      return decoded.slice(decoded.indexOf(':') + 1) === token ? 'ok' : 'bad';
    }
    default:
      return 'bad';
  }
}

export async function startGitHubServer(options: GitHubServerOptions = {}): Promise<GitHubServer> {
  loadSpec();
  const token = options.token ?? 'ghs_test';
  const clock = options.now ?? (() => new Date());
  const state = new GitHubState(
    {
      owner: options.repo?.owner ?? 'octo-org',
      name: options.repo?.name ?? 'functions',
      id: options.repo?.id ?? 812_345_678,
      ownerId: 9_919_001,
      ownerType: options.repo?.ownerType ?? 'Organization',
      defaultBranch: options.repo?.defaultBranch ?? 'main',
      private: options.repo?.private ?? false,
    },
    options.actor ?? GITHUB_ACTIONS_BOT,
    clock,
  );
  const strict = options.strictResponses ?? true;
  const requests: RecordedRequest[] = [];
  const schemaViolations: string[] = [];
  const failures: InjectedFailure[] = [];
  const latency = new Map<string, number>();
  if (options.latencyMs) latency.set('*', options.latencyMs);
  const gates: GateImpl[] = [];
  const semaphore = new Semaphore(options.concurrency ?? Number.POSITIVE_INFINITY);
  let rateUsed = 0;
  // The API root is known once the server listens.
  const urls = new Urls('', options.serverUrl ?? 'https://github.com', state);

  const matches = (rec: RecordedRequest, operationId: string): boolean =>
    rec.operationId === operationId || rec.aliases.includes(operationId);

  const send = (
    res: ServerResponse,
    rec: RecordedRequest,
    reply: Reply,
    apiVersion: string,
    head: boolean,
  ): void => {
    rec.status = reply.status;
    rec.response = reply.body;
    rateUsed++;
    const headers: Record<string, string> = {
      'x-github-api-version-selected': apiVersion,
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': randomUUID().toUpperCase().slice(0, 23),
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(Math.max(0, 5000 - rateUsed)),
      'x-ratelimit-reset': String(Math.floor(clock().getTime() / 1000) + 3600),
      'x-ratelimit-used': String(rateUsed),
      'x-ratelimit-resource': 'core',
      ...reply.headers,
    };
    if (reply.body === undefined || reply.status === 204) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    const text = JSON.stringify(reply.body);
    headers['content-type'] = 'application/json; charset=utf-8';
    headers['content-length'] = String(Buffer.byteLength(text));
    res.writeHead(reply.status, headers).end(head ? undefined : text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const head = method === 'HEAD';
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
    );
    let parsedBody: unknown;
    let bodyIsJson = true;
    if (raw !== '') {
      try {
        parsedBody = JSON.parse(raw);
      } catch {
        parsedBody = raw;
        bodyIsJson = false;
      }
    }
    const rec: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: parsedBody,
      headers,
      aliases: [],
      params: {},
      status: 0,
    };
    requests.push(rec);
    const apiVersion = headers['x-github-api-version'] || '2022-11-28';
    const fail = (status: number, message: string, docUrl = DOCS): Reply => ({
      status,
      body: errorBody(status, message, docUrl),
    });
    send(
      res,
      rec,
      await decide(req, url, rec, { method, head, headers, apiVersion, parsedBody, bodyIsJson, fail }),
      apiVersion,
      head,
    );
  };

  interface Incoming {
    method: string;
    head: boolean;
    headers: Record<string, string>;
    apiVersion: string;
    parsedBody: unknown;
    bodyIsJson: boolean;
    fail: (status: number, message: string, docUrl?: string) => Reply;
  }

  /** Everything between reading the request and sending the answer: routing, checks, the handler. */
  const decide = async (
    req: IncomingMessage,
    url: URL,
    rec: RecordedRequest,
    inc: Incoming,
  ): Promise<Reply> => {
    const { method, head, headers, apiVersion, parsedBody, bodyIsJson, fail } = inc;
    const auth = authorize(req.headers.authorization, token);
    if (auth === 'bad') return fail(401, 'Bad credentials');
    if (!SUPPORTED_API_VERSIONS.includes(apiVersion)) {
      return fail(
        400,
        `API version ${apiVersion} is not supported. Supported versions: ${SUPPORTED_API_VERSIONS.join(', ')}.`,
      );
    }

    // GitHub's Link headers use /repositories/{id}/…; those URLs must work like /repos/{owner}/{repo}/….
    let pathname = url.pathname;
    const byId = /^\/repositories\/(\d+)(\/.*)?$/.exec(pathname);
    if (byId) {
      if (Number(byId[1]) !== state.repo.id || !byId[2]) return fail(404, 'Not Found');
      pathname = `/repos/${state.repo.owner}/${state.repo.name}${byId[2]}`;
    }
    const match = matchRoute(head ? 'GET' : method, pathname);
    if (!match || 'methodNotAllowed' in match) return fail(404, 'Not Found');
    const op: Operation = match.operation;
    rec.operationId = op.operationId;
    rec.aliases = match.aliases;
    if (auth === 'missing') return fail(401, 'Requires authentication', op.docUrl);

    // Path parameters: a value of the wrong type does not match GitHub's route.
    let params: Record<string, unknown>;
    try {
      params = Object.fromEntries(
        Object.entries(match.rawParams).map(([k, v]) => [k, decodeURIComponent(v)]),
      );
    } catch {
      return fail(404, 'Not Found', op.docUrl);
    }
    if (validateParameters(op.operationId, 'path', params).length > 0)
      return fail(404, 'Not Found', op.docUrl);
    rec.params = params;
    if (
      typeof params.owner === 'string' &&
      typeof params.repo === 'string' &&
      (params.owner.toLowerCase() !== state.repo.owner.toLowerCase() ||
        params.repo.toLowerCase() !== state.repo.name.toLowerCase())
    ) {
      return fail(404, 'Not Found', op.docUrl);
    }

    const known = new Set(op.parameters.filter((p) => p.in === 'query').map((p) => p.name));
    const query: Record<string, unknown> = {};
    for (const [k, v] of url.searchParams) if (known.has(k)) query[k] = v;
    const queryErrors = validateParameters(op.operationId, 'query', query);
    if (queryErrors.length > 0) return fail(422, invalidRequestMessage(queryErrors, 'query'), op.docUrl);

    let body: Record<string, unknown> = {};
    if (op.requestBody) {
      if (!bodyIsJson) return fail(400, 'Problems parsing JSON', op.docUrl);
      const value = parsedBody === undefined ? {} : parsedBody;
      const schema = op.requestBody.content['application/json']?.schema;
      if (
        schema &&
        (typeof value !== 'object' || value === null || Array.isArray(value)) &&
        !('$ref' in schema) &&
        schema.type === 'object'
      ) {
        return fail(400, 'Body should be a JSON object', op.docUrl);
      }
      const bodyErrors = validateRequestBody(op.operationId, value);
      if (bodyErrors.length > 0) return fail(422, invalidRequestMessage(bodyErrors, 'body'), op.docUrl);
      body = value as Record<string, unknown>;
    }

    const format = mediaFormat(headers.accept ?? '');
    if (typeof format === 'object') {
      return fail(
        501,
        `The fake GitHub does not implement media type ${format.unsupported} (${op.operationId})`,
        op.docUrl,
      );
    }

    const failure = failures.find((f) => matches(rec, f.operationId));
    if (failure) {
      if (--failure.times <= 0) failures.splice(failures.indexOf(failure), 1);
      return {
        status: failure.status,
        body:
          failure.body ?? errorBody(failure.status, DEFAULT_MESSAGES[failure.status] ?? 'Error', op.docUrl),
        ...(failure.headers ? { headers: failure.headers } : {}),
      };
    }

    for (const g of gates) if (!g.released && matches(rec, g.operationId)) await g.hold();

    const result = await semaphore.run(async (): Promise<Reply> => {
      const delay = latency.get(op.operationId) ?? latency.get('*') ?? 0;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      const handler = handlers[op.operationId];
      if (!handler) {
        return {
          status: 501,
          body: errorBody(
            501,
            `The fake GitHub does not implement ${op.operationId} (${method} ${op.template})`,
            op.docUrl,
          ),
        };
      }
      const linkPath = pathname.replace(/^\/repos\/[^/]+\/[^/]+/, `/repositories/${state.repo.id}`);
      const ctx: HandlerContext = {
        op,
        params,
        query,
        rawQuery: url.searchParams,
        body,
        state,
        urls,
        format,
        linkPath,
      };
      return handler(ctx);
    });

    if (result.status !== 501) {
      const errors = validateResponse(op.operationId, result.status, result.body, { closed: strict });
      if (errors.length > 0) {
        const message = `${op.operationId} ${result.status}: ${formatErrors(errors)}`;
        schemaViolations.push(message);
        return fail(
          500,
          `The fake GitHub built a response outside the OpenAPI schema: ${message}`,
          op.docUrl,
        );
      }
    }
    return result;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      schemaViolations.push(`internal error: ${message}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      res.end(
        JSON.stringify({
          message: `The fake GitHub failed: ${message}`,
          documentation_url: DOCS,
          status: '500',
        }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  urls.api = baseUrl;

  const gh: GitHubServer = {
    url: baseUrl,
    state,
    requests,
    schemaViolations,
    callsTo: (operationId) => requests.filter((r) => matches(r, operationId)),
    failNext(operationId, status, body, opts = {}) {
      const op = loadSpec().operations.get(operationId);
      if (!op) throw new Error(`failNext: unknown operationId ${operationId}`);
      const effective = body ?? errorBody(status, DEFAULT_MESSAGES[status] ?? 'Error', op.docUrl);
      const errors = validateResponse(operationId, status, effective, { closed: false });
      if (errors.length > 0)
        throw new Error(`failNext: body does not fit ${operationId} ${status}: ${formatErrors(errors)}`);
      failures.push({
        operationId,
        status,
        body: effective,
        times: opts.times ?? 1,
        ...(opts.headers ? { headers: opts.headers } : {}),
      });
    },
    setLatency(operationId, ms) {
      latency.set(operationId, ms);
    },
    gate(operationId, opts = {}) {
      if (!loadSpec().operations.has(operationId))
        throw new Error(`gate: unknown operationId ${operationId}`);
      const g: GateImpl = new GateImpl(operationId, opts.releaseAt, () => {
        const i = gates.indexOf(g);
        if (i >= 0) gates.splice(i, 1);
      });
      gates.push(g);
      return g;
    },
    assertNoViolations() {
      if (schemaViolations.length > 0) {
        throw new Error(
          `fake GitHub answered outside the OpenAPI description:\n${schemaViolations.join('\n')}`,
        );
      }
    },
    async close() {
      for (const g of [...gates]) g.release();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((e) => {
          if (e) reject(e);
          else resolve();
        }),
      );
      gh.assertNoViolations();
    },
  };
  return gh;
}
