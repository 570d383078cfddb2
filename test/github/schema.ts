// OpenAPI 3.0 schemas → JSON Schema (draft 2019-09) for ajv, compiled lazily per operation and cached
// for the life of the process. Only the components an operation reaches are converted.
//
// Two modes:
//  - open: the spec as written (used for request bodies and parameters, and for error responses,
//    which GitHub sends with fields the spec does not list, such as `status`);
//  - closed: additionally, an object may carry no property its schema does not declare
//    (`unevaluatedProperties: false`, placed so that allOf/oneOf compositions still work). Used for
//    the fake's own success responses, so a misspelt or invented field fails the test instead of
//    silently passing.
import { Ajv2019, type ErrorObject, type ValidateFunction } from 'ajv/dist/2019.js';
import { getOperation, resolve, type JsonSchema, type OpenApiParameter } from './spec.ts';

const KEEP = new Set([
  'type',
  'properties',
  'required',
  'items',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'additionalProperties',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'format',
]);

const COMPONENT_REF = '#/components/schemas/';

/** Components registered once per ajv instance, so every operation reuses their compiled code. */
interface SharedComponents {
  ajv: Ajv2019;
  registered: Set<string>;
}

class Converter {
  readonly defs: Record<string, JsonSchema> = {};
  private readonly closed: boolean;
  private readonly shared: SharedComponents | undefined;

  constructor(closed: boolean, shared?: SharedComponents) {
    this.closed = closed;
    this.shared = shared;
  }

  root(schema: JsonSchema): JsonSchema {
    const converted = this.convert(schema, false);
    return Object.keys(this.defs).length > 0 ? { ...converted, $defs: this.defs } : converted;
  }

  private ref(ref: string, openTop: boolean): JsonSchema {
    if (!ref.startsWith(COMPONENT_REF)) return this.convert(resolve({ $ref: ref }) as JsonSchema, openTop);
    const name = ref.slice(COMPONENT_REF.length);
    if (this.shared) {
      const id = `https://fake-github.invalid/schemas/${encodeURIComponent(name)}/${this.closed ? (openTop ? 'open-top' : 'closed') : 'open'}.json`;
      if (!this.shared.registered.has(id)) {
        this.shared.registered.add(id); // before converting: component schemas may be recursive
        this.shared.ajv.addSchema({
          ...this.convert(resolve({ $ref: ref }) as JsonSchema, openTop),
          $id: id,
        });
      }
      return { $ref: id };
    }
    const key = this.closed && openTop ? `${name}~open` : name;
    if (!(key in this.defs)) {
      this.defs[key] = {}; // placeholder first: component schemas may be recursive
      this.defs[key] = this.convert(resolve({ $ref: ref }) as JsonSchema, openTop);
    }
    return { $ref: `#/$defs/${key.replace(/~/g, '~0').replace(/\//g, '~1')}` };
  }

  /** openTop: this schema is a member of a composition whose parent decides about extra properties. */
  convert(schema: JsonSchema, openTop: boolean): JsonSchema {
    if (typeof schema.$ref === 'string') return this.ref(schema.$ref, openTop);
    if (schema.nullable === true) {
      const rest = { ...schema };
      delete rest.nullable;
      return { anyOf: [this.convert(rest, openTop), { type: 'null' }] };
    }
    const out: JsonSchema = {};
    for (const [key, value] of Object.entries(schema)) {
      if (!KEEP.has(key)) continue;
      out[key] = value;
    }
    const properties = schema.properties as Record<string, JsonSchema> | undefined;
    const hasComposition = Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf);
    if (properties) {
      out.properties = Object.fromEntries(
        Object.entries(properties).map(([k, v]) => [k, this.convert(v, false)]),
      );
    }
    if (schema.items && typeof schema.items === 'object')
      out.items = this.convert(schema.items as JsonSchema, false);
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      out.additionalProperties = this.convert(schema.additionalProperties as JsonSchema, false);
    }
    if (schema.not && typeof schema.not === 'object') out.not = this.convert(schema.not as JsonSchema, false);
    if (Array.isArray(schema.allOf))
      out.allOf = (schema.allOf as JsonSchema[]).map((s) => this.convert(s, true));
    for (const key of ['anyOf', 'oneOf'] as const) {
      if (Array.isArray(schema[key])) {
        // Members are closed on their own unless the parent adds properties of its own.
        out[key] = (schema[key] as JsonSchema[]).map((s) => this.convert(s, openTop || Boolean(properties)));
      }
    }
    const objectLike =
      Boolean(properties) || Array.isArray(schema.allOf) || (hasComposition && Boolean(properties));
    if (this.closed && !openTop && objectLike && schema.additionalProperties === undefined) {
      // GitHub lists some required fields without a property schema (label.description): allow them.
      const declared = { ...((out.properties as Record<string, JsonSchema> | undefined) ?? {}) };
      for (const name of (schema.required as string[] | undefined) ?? [])
        if (!(name in declared)) declared[name] = {};
      if (properties) out.properties = declared;
      out.unevaluatedProperties = false;
    }
    return out;
  }
}

/** A self-contained JSON Schema (components under $defs), e.g. to inspect what the server checks. */
export function toJsonSchema(schema: JsonSchema, closed: boolean): JsonSchema {
  return new Converter(closed).root(schema);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function newAjv(coerce: boolean): Ajv2019 {
  const ajv = new Ajv2019({
    strict: false,
    allErrors: true,
    unicodeRegExp: false,
    coerceTypes: coerce ? 'array' : false,
    code: { optimize: false }, // compiles ~35% faster; validation speed does not matter here
  });
  ajv.addFormat('date-time', (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)));
  ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
  // GitHub sends "" for unset URL fields declared `format: uri` (deployment status target_url).
  ajv.addFormat('uri', (s: string) => {
    if (s === '') return true;
    if (!/^[a-z][a-z0-9+.-]*:/i.test(s)) return false;
    try {
      new URL(s);
      return true;
    } catch {
      return false;
    }
  });
  ajv.addFormat('uri-template', true);
  ajv.addFormat('email', /^[^\s@]+@[^\s@]+$/);
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  return ajv;
}

let plain: SharedComponents | undefined;
let coercing: SharedComponents | undefined;
const cache = new Map<string, ValidateFunction>();
export const compileStats = { compiled: 0, ms: 0 };

function compile(key: string, schema: JsonSchema, closed: boolean, coerce = false): ValidateFunction {
  let fn = cache.get(key);
  if (!fn) {
    const started = performance.now();
    const shared = coerce
      ? (coercing ??= { ajv: newAjv(true), registered: new Set() })
      : (plain ??= { ajv: newAjv(false), registered: new Set() });
    fn = shared.ajv.compile(new Converter(closed, shared).root(schema));
    compileStats.compiled++;
    compileStats.ms += performance.now() - started;
    cache.set(key, fn);
  }
  return fn;
}

export interface SchemaError {
  /** JSON pointer into the validated value, '' for the root. */
  path: string;
  keyword: string;
  message: string;
  params: Record<string, unknown>;
  value?: unknown;
}

function collect(fn: ValidateFunction, data: unknown): SchemaError[] {
  if (fn(data)) return [];
  return (fn.errors ?? []).map((e: ErrorObject) => ({
    path: e.instancePath,
    keyword: e.keyword,
    message: e.message ?? e.keyword,
    params: e.params as Record<string, unknown>,
    value: pointer(data, e.instancePath),
  }));
}

function pointer(data: unknown, path: string): unknown {
  if (!path) return data;
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>(
      (node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined),
      data,
    );
}

export function formatErrors(errors: SchemaError[]): string {
  return errors
    .map(
      (e) =>
        `${e.path || '/'} ${e.message}${e.keyword === 'unevaluatedProperties' ? `: ${String(e.params.unevaluatedProperty)}` : ''}`,
    )
    .join('; ');
}

/** Validates a value against one component schema (`#/components/schemas/<name>`). */
export function validateComponent(
  name: string,
  value: unknown,
  opts: { closed?: boolean } = {},
): SchemaError[] {
  const closed = opts.closed ?? true;
  const fn = compile(`component:${name}:${closed}`, { $ref: `${COMPONENT_REF}${name}` }, closed);
  return collect(fn, value);
}

export function requestBodySchema(operationId: string): JsonSchema | undefined {
  return getOperation(operationId).requestBody?.content['application/json']?.schema;
}

export function validateRequestBody(operationId: string, body: unknown): SchemaError[] {
  const schema = requestBodySchema(operationId);
  if (!schema) return [];
  return collect(compile(`request:${operationId}`, schema, false), body);
}

/**
 * Validates and coerces parameters of one location ('path' or 'query'); strings become integers and
 * booleans the way GitHub reads them. Mutates `values` (coercion, defaults) and returns the errors.
 */
export function validateParameters(
  operationId: string,
  location: 'path' | 'query',
  values: Record<string, unknown>,
): SchemaError[] {
  const params = getOperation(operationId).parameters.filter((p: OpenApiParameter) => p.in === location);
  const schema: JsonSchema = {
    type: 'object',
    properties: Object.fromEntries(params.map((p) => [p.name, p.schema ?? {}])),
    required: params.filter((p) => p.required).map((p) => p.name),
  };
  const fn = compile(`params:${operationId}:${location}`, schema, false, true);
  return collect(fn, values);
}

interface ResponseObject {
  content?: Record<string, { schema?: JsonSchema }>;
}

/** The documented response for a status, or undefined when the operation does not document it. */
export function responseSpec(operationId: string, status: number): ResponseObject | undefined {
  const responses = getOperation(operationId).responses;
  const raw = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
  return raw === undefined ? undefined : (resolve(raw) as ResponseObject);
}

/**
 * Checks a response the fake is about to send against the operation's documented response.
 * 2xx statuses must be documented and, unless `closed: false`, may not carry undeclared properties.
 * Error statuses GitHub may send for any operation (401, 403, 404, 5xx…) and does not always document
 * are checked against `basic-error`.
 */
export function validateResponse(
  operationId: string,
  status: number,
  body: unknown,
  opts: { closed?: boolean } = {},
): SchemaError[] {
  const spec = responseSpec(operationId, status);
  const success = status >= 200 && status < 300;
  if (!spec) {
    if (success || status < 400) {
      return [
        {
          path: '',
          keyword: 'status',
          message: `status ${status} is not documented for ${operationId}`,
          params: {},
        },
      ];
    }
    return validateComponent('basic-error', body, { closed: false });
  }
  const schema = spec.content?.['application/json']?.schema;
  if (!schema) {
    if (body === undefined || body === '') return [];
    // Documented without content (create-deployment's 409), yet GitHub sends its usual error body.
    if (status >= 400) return validateComponent('basic-error', body, { closed: false });
    return [
      { path: '', keyword: 'content', message: `status ${status} of ${operationId} has no body`, params: {} },
    ];
  }
  const closed = success && (opts.closed ?? true);
  return collect(compile(`response:${operationId}:${status}:${closed}`, schema, closed), body);
}
