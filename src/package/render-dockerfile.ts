import type { FunctionSpec } from '../plan/types.js';
import { UserError } from '../util/errors.js';
import type { ResolvedBaseImages } from './base-images.js';
import type { ContextEntry } from './build-context.js';
import { fillTemplate, TEMPLATE_VERSION, type TemplateValues } from './template.js';

/**
 * Request timeouts derived from the function's `timeout`: the watchdog's exec timeout ends the
 * function first, its read/write timeouts sit one second above so the timeout answer still goes
 * out, and Knative's timeoutSeconds one more second above that.
 */
export function requestTimeouts(timeoutSeconds: number): {
  exec: string;
  read: string;
  write: string;
  knativeTimeoutSeconds: number;
} {
  const exec = Math.ceil(timeoutSeconds);
  return { exec: `${exec}s`, read: `${exec + 1}s`, write: `${exec + 1}s`, knativeTimeoutSeconds: exec + 2 };
}

/**
 * How long the watchdog keeps answering after SIGTERM before it drains (its `healthcheck_interval`;
 * the watchdogs default it to write_timeout). Knative sends SIGTERM only after its queue-proxy has
 * drained the pod, and counts that wait against terminationGracePeriodSeconds (= timeoutSeconds), so
 * the watchdog should not wait long: 1 s, plus at most write_timeout of draining, ends within
 * timeoutSeconds. It must not be 0, which the watchdogs treat as "wait forever".
 */
export const SHUTDOWN_GRACE = '1s';

/** Where the function's own files go inside a generated build context. */
export const FUNCTION_DIR = 'function';

/** The function's files as the renderer sees them: paths relative to the function directory. */
export type FunctionFiles = readonly Pick<ContextEntry, 'path' | 'kind' | 'data'>[];

function fileOf(files: FunctionFiles, name: string): Buffer | undefined {
  const entry = files.find((f) => f.path === name && f.kind === 'file');
  return entry?.data;
}

function missing(spec: FunctionSpec, what: string): UserError {
  return new UserError(
    `${spec.directory}: runtime "${spec.runtime}" with watchdog "${spec.watchdog}" needs ${what}.`,
    { file: spec.directory },
  );
}

/** `main` of package.json, when there is one and it is a string. */
function packageMain(spec: FunctionSpec, files: FunctionFiles): string | undefined {
  const data = fileOf(files, 'package.json');
  if (!data) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new UserError(`${spec.directory}/package.json is not valid JSON: ${(error as Error).message}`, {
      file: `${spec.directory}/package.json`,
    });
  }
  const main = (parsed as { main?: unknown } | null)?.main;
  return typeof main === 'string' && main !== '' ? main : undefined;
}

/** Whether a module path (package.json main) resolves to a file of the function, as Node resolves it. */
function resolvesTo(files: FunctionFiles, main: string): boolean {
  const clean = main.replace(/^\.\//, '').replace(/\/$/, '');
  return ['', '.js', '.cjs', '.mjs', '.json', '/index.js', '/index.cjs', '/index.mjs'].some(
    (suffix) => fileOf(files, `${clean}${suffix}`) !== undefined,
  );
}

function goValues(spec: FunctionSpec, files: FunctionFiles): TemplateValues {
  if (!fileOf(files, 'go.mod')) throw missing(spec, 'a go.mod');
  const goSum = fileOf(files, 'go.sum') !== undefined;
  return { goSum, noGoSum: !goSum };
}

function nodeValues(spec: FunctionSpec, files: FunctionFiles): TemplateValues {
  const hasPackage = fileOf(files, 'package.json') !== undefined;
  const lock = ['package-lock.json', 'npm-shrinkwrap.json'].find((name) => fileOf(files, name));
  const main = packageMain(spec, files);
  if (main !== undefined && !resolvesTo(files, main)) {
    throw new UserError(
      `${spec.directory}/package.json: "main" names ${main}, which is not in the directory.`,
      {
        file: `${spec.directory}/package.json`,
      },
    );
  }
  if (spec.watchdog === 'classic') {
    if (main === undefined && !fileOf(files, 'index.js')) {
      throw missing(spec, 'an index.js or a "main" in package.json (the program run per request)');
    }
  } else if (main === undefined && !['handler.js', 'handler.mjs', 'index.js'].some((f) => fileOf(files, f))) {
    throw missing(spec, 'a handler.js (or a "main" in package.json) exporting the handler');
  }
  const flags = '--omit=dev --no-audit --no-fund --cache /tmp/npm-cache';
  return {
    npmManifests: hasPackage
      ? [`${FUNCTION_DIR}/package.json`, ...(lock ? [`${FUNCTION_DIR}/${lock}`] : [])].join(' ')
      : '',
    npmInstall: lock ? `npm ci ${flags}` : `npm install --no-package-lock ${flags}`,
  };
}

function pythonValues(spec: FunctionSpec, files: FunctionFiles): TemplateValues {
  const entry = ['handler.py', 'main.py'].find((name) => fileOf(files, name));
  if (spec.watchdog === 'classic' && !entry) throw missing(spec, 'a handler.py or main.py');
  if (spec.watchdog !== 'classic' && !fileOf(files, 'handler.py')) {
    throw missing(spec, 'a handler.py defining handle(event, context)');
  }
  const requirements = fileOf(files, 'requirements.txt') !== undefined;
  const pyproject = !requirements && fileOf(files, 'pyproject.toml') !== undefined;
  return {
    pythonEntry: entry ?? 'handler.py',
    requirementsTxt: requirements,
    pyprojectToml: pyproject,
    pythonDependencies: requirements || pyproject,
  };
}

/**
 * The Dockerfile for one function from its runtime's template. `files` are the function's files
 * (after .dockerignore), which decide the dependency steps (go.sum, a lockfile, requirements.txt)
 * and the program to run; a function without what its runtime needs is a UserError naming it.
 */
export function renderDockerfile(
  spec: FunctionSpec,
  template: { name?: string; text: string },
  images: ResolvedBaseImages,
  files: FunctionFiles,
): string {
  const timeouts = requestTimeouts(spec.timeoutSeconds);
  const common: Record<string, string | boolean> = {
    templateVersion: TEMPLATE_VERSION,
    templateName: template.name ?? `${spec.runtime}/${spec.watchdog}`,
    functionName: spec.name,
    watchdogImage: spec.watchdog === 'classic' ? images.watchdog : images.ofWatchdog,
    execTimeout: timeouts.exec,
    readTimeout: timeouts.read,
    writeTimeout: timeouts.write,
    shutdownGrace: SHUTDOWN_GRACE,
  };
  let specific: TemplateValues;
  switch (spec.runtime) {
    case 'go':
      specific = { builderImage: images.builder, runtimeImage: images.runtime, ...goValues(spec, files) };
      break;
    case 'node':
      specific = { builderImage: images.node, runtimeImage: images.nodeRuntime, ...nodeValues(spec, files) };
      break;
    case 'python':
      specific = {
        builderImage: images.python,
        runtimeImage: images.pythonRuntime,
        ...pythonValues(spec, files),
      };
      break;
    case 'dockerfile':
      throw new Error('A function with runtime "dockerfile" builds with its own Dockerfile, not a template.');
  }
  return fillTemplate(template.text, { ...common, ...specific });
}
