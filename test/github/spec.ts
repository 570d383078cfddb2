// GitHub's published OpenAPI description (@octokit/openapi, api.github.com.json) loaded once per process
// and turned into a route table. The non-dereferenced file is used: it parses several times faster than
// the .deref.json and its $refs are resolved on demand by schema.ts, per operation.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type JsonSchema = Record<string, unknown>;

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
  'x-multi-segment'?: boolean;
}

interface RawOperation {
  operationId: string;
  description?: string;
  deprecated?: boolean;
  parameters?: Array<OpenApiParameter | { $ref: string }>;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> } | { $ref: string };
  responses?: Record<string, unknown>;
  externalDocs?: { url?: string };
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
  components: {
    schemas: Record<string, JsonSchema>;
    parameters: Record<string, OpenApiParameter>;
    responses: Record<string, unknown>;
    requestBodies?: Record<string, unknown>;
  };
}

export interface Operation {
  operationId: string;
  method: string;
  template: string;
  parameters: OpenApiParameter[];
  requestBody?: { required: boolean; content: Record<string, { schema?: JsonSchema }> };
  responses: Record<string, unknown>;
  docUrl: string;
  deprecated: boolean;
}

type Segment =
  | { kind: 'literal'; value: string }
  | { kind: 'param'; name: string; multi: boolean }
  | { kind: 'pattern'; regex: RegExp; names: string[] };

interface Route {
  template: string;
  segments: Segment[];
  operations: Map<string, Operation>;
}

export interface RouteMatch {
  operation: Operation;
  /** Raw (still percent-encoded) path parameter values. */
  rawParams: Record<string, string>;
  /** Other operations answering the same method and URL (GitHub keeps deprecated aliases). */
  aliases: string[];
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const require = createRequire(import.meta.url);

export const SPEC_FILE = require.resolve('@octokit/openapi/generated/api.github.com.json');

let loaded: { doc: OpenApiDocument; routes: Route[]; byId: Map<string, Operation>; ms: number } | undefined;

function resolveRef(doc: OpenApiDocument, value: unknown): unknown {
  let current = value;
  for (let i = 0; i < 10 && current && typeof current === 'object' && '$ref' in current; i++) {
    const ref = (current as { $ref: string }).$ref;
    if (!ref.startsWith('#/')) throw new Error(`external $ref not supported: ${ref}`);
    current = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], doc);
  }
  return current;
}

function parseSegment(text: string, multiParams: Set<string>): Segment {
  const whole = /^\{([^}]+)\}$/.exec(text);
  if (whole?.[1]) return { kind: 'param', name: whole[1], multi: multiParams.has(whole[1]) };
  if (!text.includes('{')) return { kind: 'literal', value: text };
  const names: string[] = [];
  const source = text.replace(
    /\{([^}]+)\}|([^{]+)/g,
    (_m, name: string | undefined, lit: string | undefined) => {
      if (name) {
        names.push(name);
        return '(.+?)';
      }
      return (lit ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    },
  );
  return { kind: 'pattern', regex: new RegExp(`^${source}$`), names };
}

const RANK: Record<Segment['kind'] | 'multi', number> = { literal: 0, pattern: 1, param: 2, multi: 3 };

function segmentRank(segment: Segment): number {
  return segment.kind === 'param' && segment.multi ? RANK.multi : RANK[segment.kind];
}

function buildRoutes(doc: OpenApiDocument): { routes: Route[]; byId: Map<string, Operation> } {
  const routes: Route[] = [];
  const byId = new Map<string, Operation>();
  for (const [template, item] of Object.entries(doc.paths)) {
    const shared = (item.parameters as RawOperation['parameters']) ?? [];
    const operations = new Map<string, Operation>();
    const multi = new Set<string>();
    for (const method of HTTP_METHODS) {
      const raw = item[method] as RawOperation | undefined;
      if (!raw) continue;
      const parameters = [...shared, ...(raw.parameters ?? [])].map(
        (p) => resolveRef(doc, p) as OpenApiParameter,
      );
      for (const p of parameters) if (p.in === 'path' && p['x-multi-segment']) multi.add(p.name);
      const body = raw.requestBody
        ? (resolveRef(doc, raw.requestBody) as {
            required?: boolean;
            content?: Record<string, { schema?: JsonSchema }>;
          })
        : undefined;
      const operation: Operation = {
        operationId: raw.operationId,
        method: method.toUpperCase(),
        template,
        parameters,
        ...(body ? { requestBody: { required: body.required ?? false, content: body.content ?? {} } } : {}),
        responses: raw.responses ?? {},
        docUrl: raw.externalDocs?.url ?? 'https://docs.github.com/rest',
        deprecated: raw.deprecated === true || /^\*\*Deprecated\*\*/.test(raw.description ?? ''),
      };
      operations.set(operation.method, operation);
      byId.set(operation.operationId, operation);
    }
    const segments = template
      .split('/')
      .slice(1)
      .map((s) => parseSegment(s, multi));
    routes.push({ template, segments, operations });
  }
  return { routes, byId };
}

// ---- a trimmed copy of the spec, cached on disk ------------------------------------------------------
// The 13 MB description is mostly prose and examples; what validation needs is ~3 MB and parses about
// four times faster. The copy lives in node_modules/.cache, keyed by the spec file's size and mtime.

type Json = Record<string, unknown>;
const SCHEMA_CHILD = ['items', 'additionalProperties', 'not'];
const SCHEMA_LIST = ['allOf', 'anyOf', 'oneOf'];
const SCHEMA_NOISE = new Set(['description', 'example', 'examples', 'title', 'externalDocs', 'xml']);

function trimSchema(schema: unknown): unknown {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema as Json)) {
    if (SCHEMA_NOISE.has(key) || (key.startsWith('x-') && key !== 'x-multi-segment')) continue;
    if (key === 'properties' && value && typeof value === 'object') {
      out[key] = Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, trimSchema(v)]));
    } else if (SCHEMA_CHILD.includes(key)) out[key] = trimSchema(value);
    else if (SCHEMA_LIST.includes(key) && Array.isArray(value)) out[key] = value.map(trimSchema);
    else out[key] = value;
  }
  return out;
}

function trimContent(content: unknown): Json | undefined {
  if (!content || typeof content !== 'object') return undefined;
  return Object.fromEntries(
    Object.entries(content as Record<string, Json>).map(([type, media]) => [
      type,
      { schema: trimSchema(media.schema) },
    ]),
  );
}

function trimResponse(response: unknown): Json {
  const r = response as Json;
  if (typeof r.$ref === 'string') return { $ref: r.$ref };
  const content = trimContent(r.content);
  return content ? { content } : {};
}

function trimParameter(parameter: unknown): Json {
  const p = parameter as Json;
  if (typeof p.$ref === 'string') return { $ref: p.$ref };
  const out: Json = { name: p.name, in: p.in, schema: trimSchema(p.schema) };
  if (p.required !== undefined) out.required = p.required;
  if (p['x-multi-segment'] !== undefined) out['x-multi-segment'] = p['x-multi-segment'];
  return out;
}

function trimBody(body: unknown): Json | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Json;
  if (typeof b.$ref === 'string') return { $ref: b.$ref };
  return { required: b.required ?? false, content: trimContent(b.content) ?? {} };
}

export function trimSpec(doc: OpenApiDocument): OpenApiDocument {
  const paths: Record<string, Json> = {};
  for (const [template, item] of Object.entries(doc.paths)) {
    const trimmed: Json = {};
    for (const [key, value] of Object.entries(item)) {
      if (key === 'parameters' && Array.isArray(value)) trimmed[key] = value.map(trimParameter);
      if (!HTTP_METHODS.includes(key)) continue;
      const op = value as RawOperation;
      trimmed[key] = {
        operationId: op.operationId,
        deprecated: op.deprecated === true || /^\*\*Deprecated\*\*/.test(op.description ?? ''),
        ...(op.parameters ? { parameters: op.parameters.map(trimParameter) } : {}),
        ...(op.requestBody ? { requestBody: trimBody(op.requestBody) } : {}),
        responses: Object.fromEntries(
          Object.entries(op.responses ?? {}).map(([k, v]) => [k, trimResponse(v)]),
        ),
        ...(op.externalDocs?.url ? { externalDocs: { url: op.externalDocs.url } } : {}),
      };
    }
    paths[template] = trimmed;
  }
  const c = doc.components;
  return {
    paths,
    components: {
      schemas: Object.fromEntries(
        Object.entries(c.schemas).map(([k, v]) => [k, trimSchema(v) as JsonSchema]),
      ),
      parameters: Object.fromEntries(
        Object.entries(c.parameters).map(([k, v]) => [k, trimParameter(v) as unknown as OpenApiParameter]),
      ),
      responses: Object.fromEntries(Object.entries(c.responses).map(([k, v]) => [k, trimResponse(v)])),
    },
  };
}

function readTrimmedSpec(): OpenApiDocument {
  const stat = statSync(SPEC_FILE);
  const root = dirname(fileURLToPath(import.meta.url));
  const cacheDir = join(root, '..', '..', 'node_modules', '.cache', 'faas-deploy-github');
  const cacheFile = join(cacheDir, `api.github.com.${stat.size}.${Math.floor(stat.mtimeMs)}.trimmed.json`);
  try {
    return JSON.parse(readFileSync(cacheFile, 'utf8')) as OpenApiDocument;
  } catch {
    const trimmed = trimSpec(JSON.parse(readFileSync(SPEC_FILE, 'utf8')) as OpenApiDocument);
    try {
      mkdirSync(cacheDir, { recursive: true });
      // Parallel test workers may race here: write aside, then rename atomically.
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(trimmed));
      renameSync(tmp, cacheFile);
    } catch {
      // A read-only checkout only loses the speed-up.
    }
    return trimmed;
  }
}

function spec(): { doc: OpenApiDocument; routes: Route[]; byId: Map<string, Operation>; ms: number } {
  if (!loaded) {
    const started = performance.now();
    const doc = readTrimmedSpec();
    const { routes, byId } = buildRoutes(doc);
    loaded = { doc, routes, byId, ms: performance.now() - started };
  }
  return loaded;
}

/** Reads and indexes the spec once per process; `ms` is what that took. */
export function loadSpec(): { doc: OpenApiDocument; ms: number; operations: ReadonlyMap<string, Operation> } {
  const { doc, ms, byId } = spec();
  return { doc, ms, operations: byId };
}

export function getOperation(operationId: string): Operation {
  const op = loadSpec().operations.get(operationId);
  if (!op) throw new Error(`unknown operationId ${operationId}`);
  return op;
}

export function resolve(value: unknown): unknown {
  return resolveRef(loadSpec().doc, value);
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  const walk = (si: number, pi: number): boolean => {
    if (si === segments.length) return pi === parts.length;
    const segment = segments[si];
    const part = parts[pi];
    if (!segment || part === undefined) return false;
    switch (segment.kind) {
      case 'literal':
        return segment.value === part && walk(si + 1, pi + 1);
      case 'pattern': {
        const m = segment.regex.exec(part);
        if (!m) return false;
        segment.names.forEach((name, i) => (params[name] = m[i + 1] ?? ''));
        return walk(si + 1, pi + 1);
      }
      case 'param':
        if (part === '') return false;
        if (!segment.multi) {
          params[segment.name] = part;
          return walk(si + 1, pi + 1);
        }
        // A multi-segment parameter (a ref such as feature/x, a file path) takes as few segments as
        // the rest of the template allows, longest first so a trailing literal can still match.
        for (let end = parts.length; end > pi; end--) {
          params[segment.name] = parts.slice(pi, end).join('/');
          if (walk(si + 1, end)) return true;
        }
        return false;
    }
  };
  return walk(0, 0) ? params : undefined;
}

function compareSpecificity(a: Route, b: Route): number {
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const sa = a.segments[i];
    const sb = b.segments[i];
    const d = (sa ? segmentRank(sa) : 0) - (sb ? segmentRank(sb) : 0);
    if (d !== 0) return d;
  }
  return b.segments.length - a.segments.length;
}

function literals(route: Route): string {
  return route.segments.map((s) => (s.kind === 'literal' ? s.value : '*')).join('/');
}

/**
 * Finds the operation for a request. Returns `undefined` when no template matches the path, and
 * `{ methodNotAllowed: true }` when templates match but none has the method (GitHub answers 404 then).
 * Literal segments win over templated ones, as in GitHub's router.
 */
export function matchRoute(
  method: string,
  pathname: string,
): RouteMatch | { methodNotAllowed: true } | undefined {
  const { routes } = spec();
  const parts = pathname.split('/').slice(1);
  let anyPath = false;
  const candidates: Array<{ route: Route; params: Record<string, string>; operation: Operation }> = [];
  for (const route of routes) {
    const params = matchSegments(route.segments, parts);
    if (!params) continue;
    anyPath = true;
    const operation = route.operations.get(method);
    if (operation) candidates.push({ route, params, operation });
  }
  if (!anyPath) return undefined;
  candidates.sort((a, b) => compareSpecificity(a.route, b.route));
  const [first] = candidates;
  if (!first) return { methodNotAllowed: true };
  // GitHub keeps deprecated operations as aliases of newer ones on the same URL (compare-commits and
  // compare-commits-with-basehead); report the current one when both templates share their literals.
  const equivalent = candidates.filter((c) => literals(c.route) === literals(first.route));
  const best = first.operation.deprecated
    ? (equivalent.find((c) => !c.operation.deprecated) ?? first)
    : first;
  return {
    operation: best.operation,
    rawParams: best.params,
    aliases: equivalent.filter((c) => c !== best).map((c) => c.operation.operationId),
  };
}
