import { load, YAMLException } from 'js-yaml';
import type { ErrorObject } from 'ajv';
import schema from '../../schemas/function.schema.json' with { type: 'json' };
import { validateManifestSchema } from './schema-validator.js';
import { lineAndColumn, yamlPathOffsets } from './yaml-positions.js';
import { parseDurationSeconds } from '../util/duration.js';
import type { ManifestProblem, Runtime, Visibility, Watchdog } from './types.js';

/** function.yaml as written by the user, after schema validation. */
export interface FunctionManifest {
  name?: string;
  runtime?: Runtime;
  watchdog?: Watchdog;
  env?: Record<string, string | number | boolean>;
  secrets?: string[];
  scale?: { min?: number; max?: number; target?: number };
  concurrency?: number;
  timeout?: string | number;
  resources?: { cpu?: string; memory?: string };
  visibility?: Visibility;
}

/** Environment variables Knative's webhook rejects (serving k8s_validation.go). */
const KNATIVE_RESERVED_ENV = new Set(['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION']);

/** Knative's default max-revision-timeout-seconds. */
export const MAX_TIMEOUT_SECONDS = 600;

/** What a pattern asks for, in words, by field. */
const PATTERN_MEANING: Record<string, string> = {
  '/timeout': 'must be a duration such as 30s, 2m or 1m30s',
  '/resources/cpu': 'must be a CPU quantity such as 250m or 1',
  '/resources/memory': 'must be a memory quantity such as 128Mi or 1Gi',
  '/secrets/*': 'must be the name of a Kubernetes Secret (lowercase letters, digits, "-" and ".")',
};

function describe(error: ErrorObject): { pointer: string; message: string } {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const field = String(params['additionalProperty']);
      const parent = error.instancePath;
      const allowed = Object.keys(
        parent === ''
          ? schema.properties
          : ((schema.properties as Record<string, { properties?: object }>)[parent.slice(1)]?.properties ??
              {}),
      );
      return {
        pointer: `${parent}/${field}`,
        message: `unknown field "${field}"; expected one of ${allowed.join(', ')}`,
      };
    }
    case 'enum':
      return {
        pointer: error.instancePath,
        message: `must be one of ${(params['allowedValues'] as unknown[]).join(', ')}`,
      };
    case 'pattern':
      if (error.instancePath === '/name') {
        return {
          pointer: error.instancePath,
          message:
            'must be a DNS-1035 label: lowercase letters, digits and "-", starting with a letter and ending with a letter or digit',
        };
      }
      return {
        pointer: error.instancePath,
        message:
          PATTERN_MEANING[error.instancePath.replace(/\/\d+$/, '/*')] ??
          `must match ${String(params['pattern'])}`,
      };
    case 'maxLength':
      if (error.instancePath === '/name') {
        return {
          pointer: error.instancePath,
          message: `must be at most ${String(params['limit'])} characters, so that the preview Service <name>-pr-<N> plus Knative's revision suffix fits in 63`,
        };
      }
      return { pointer: error.instancePath, message: error.message ?? 'is too long' };
    case 'propertyNames':
      return {
        pointer: error.instancePath,
        message: 'has an invalid key (environment variable names: A-Z, 0-9, _)',
      };
    default:
      return { pointer: error.instancePath, message: error.message ?? error.keyword };
  }
}

function fieldName(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : part))
    .join('.')
    .replace(/\.\[/g, '[');
}

/**
 * Parses and validates the text of a function.yaml. Problems name the file, the field and the line.
 */
export function parseManifest(
  text: string,
  file: string,
): { manifest?: FunctionManifest; problems: ManifestProblem[] } {
  let data: unknown;
  try {
    data = load(text, { filename: file });
  } catch (error) {
    if (error instanceof YAMLException) {
      const mark = error.mark;
      return {
        problems: [
          {
            file,
            ...(mark ? { line: mark.line + 1, column: mark.column + 1 } : {}),
            message: `is not valid YAML: ${error.reason}`,
          },
        ],
      };
    }
    throw error;
  }
  if (data === undefined || data === null) return { manifest: {}, problems: [] };
  if (typeof data !== 'object' || Array.isArray(data)) {
    return { problems: [{ file, line: 1, message: 'must be a mapping of fields (name, runtime, env, …)' }] };
  }

  // Positions cost a second pass over the text: only a manifest with a problem needs them.
  let offsets: Map<string, number> | undefined;
  const locate = (pointer: string): { line?: number; column?: number } => {
    offsets ??= yamlPathOffsets(text);
    for (let path = pointer; ; path = path.slice(0, path.lastIndexOf('/'))) {
      const offset = offsets.get(path);
      if (offset !== undefined) return lineAndColumn(text, offset);
      if (path === '') return {};
    }
  };

  const problems: ManifestProblem[] = validateManifestSchema(data).map((error) => {
    const { pointer, message } = describe(error);
    return { file, field: fieldName(pointer) || undefined, ...locate(pointer), message };
  });

  const manifest = data as FunctionManifest;
  if (problems.length === 0 && manifest.timeout !== undefined) {
    const seconds = parseDurationSeconds(String(manifest.timeout));
    if (seconds === undefined || seconds < 1 || seconds > MAX_TIMEOUT_SECONDS) {
      problems.push({
        file,
        field: 'timeout',
        ...locate('/timeout'),
        message: `must be a duration from 1s to ${MAX_TIMEOUT_SECONDS / 60}m (Knative's max-revision-timeout-seconds); got "${String(manifest.timeout)}"`,
      });
    }
  }
  for (const key of Object.keys(manifest.env ?? {})) {
    if (problems.length === 0 && KNATIVE_RESERVED_ENV.has(key)) {
      problems.push({
        file,
        field: `env.${key}`,
        ...locate(`/env/${key}`),
        message: `is reserved by Knative (${[...KNATIVE_RESERVED_ENV].join(', ')}) and would be rejected`,
      });
    }
  }
  if (problems.length === 0 && manifest.scale?.min !== undefined && manifest.scale.max) {
    if (manifest.scale.min > manifest.scale.max) {
      problems.push({
        file,
        field: 'scale.min',
        ...locate('/scale/min'),
        message: 'must not exceed scale.max',
      });
    }
  }
  return problems.length > 0 ? { problems } : { manifest, problems };
}

export { formatProblem } from './problems.js';
