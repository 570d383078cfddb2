import { readFileSync } from 'node:fs';
import { byCodeUnits } from '../util/compare.js';
import path from 'node:path';
import type { FunctionManifest, parseManifest } from './manifest.js';
import { detectRuntime, RUNTIME_MARKERS } from './runtime.js';
import { parseDurationSeconds } from '../util/duration.js';
import { isRegularFile, subdirectoryNames } from '../util/fs-probe.js';
import type { FunctionSpec, ManifestProblem, Runtime, Watchdog } from './types.js';

export const MANIFEST_FILE = 'function.yaml';
export const DEFAULT_TIMEOUT_SECONDS = 60;

/** What discovery needs to know about one candidate directory. */
export interface FunctionDirectory {
  /** Relative to the repository root, forward slashes. */
  directory: string;
  /**
   * Names of regular files directly inside it that decide its runtime: function.yaml and the
   * runtime markers, at least up to the first marker present (which is the one detection uses).
   */
  files: ReadonlySet<string>;
  manifestText?: string;
}

/**
 * The file sets of directories without function.yaml, one per runtime marker and one for none:
 * shared, not a new Set per directory (a monorepo has thousands).
 */
const ONLY: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  RUNTIME_MARKERS.map((marker) => [marker, new Set([marker])]),
);
const NOTHING: ReadonlySet<string> = new Set();

/**
 * Reads the candidate directories directly under the functions directory: function.yaml where
 * there is one, and whether each runtime marker is there, in detection order up to the first one
 * found — one lstat each (src/util/fs-probe.ts), about half the cost of listing a directory of
 * twenty files (a function without a manifest costs two system calls). Synchronous on purpose: a
 * monorepo has thousands of them, and a promise per directory costs more than the system calls.
 */
export function scanFunctionsDir(repoRoot: string, functionsDir: string): FunctionDirectory[] {
  const root = path.join(repoRoot, functionsDir);
  let listed;
  try {
    listed = subdirectoryNames(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  // path.posix.join(prefix, name) for every name, normalised once: a directory entry is one plain
  // segment, so it normalises exactly as the placeholder "_" does.
  const head = path.posix.join(functionsDir.split(path.sep).join('/'), '_').slice(0, -1);
  const names: string[] = [];
  for (let i = 0; i < listed.length; i++) {
    const name = listed[i] ?? '';
    if (name.charCodeAt(0) !== 0x2e /* . */) names.push(name);
  }
  names.sort(byCodeUnits);
  // Indexed loops, no iterator objects: this runs once per function, and in a monorepo of a
  // thousand functions every allocation shows (as scavenges).
  const found: FunctionDirectory[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i] ?? '';
    const directory = `${root}${path.sep}${name}${path.sep}`;
    const manifest = `${directory}${MANIFEST_FILE}`;
    const manifestText = isRegularFile(manifest) ? readFileSync(manifest, 'utf8') : undefined;
    let marker: string | undefined;
    for (let m = 0; m < RUNTIME_MARKERS.length; m++) {
      const candidate = RUNTIME_MARKERS[m] ?? '';
      if (isRegularFile(`${directory}${candidate}`)) {
        marker = candidate;
        break;
      }
    }
    if (manifestText === undefined) {
      found.push({ directory: `${head}${name}`, files: (marker && ONLY.get(marker)) || NOTHING });
    } else {
      const files = new Set([MANIFEST_FILE]);
      if (marker) files.add(marker);
      found.push({ directory: `${head}${name}`, files, manifestText });
    }
  }
  return found;
}

function parseRequired(parse: typeof parseManifest | undefined): typeof parseManifest {
  if (!parse)
    throw new Error('buildFunctionSpecs needs the manifest parser for a directory with function.yaml.');
  return parse;
}

/** The manifest parser (JSON Schema validation included), loaded only when some function has a function.yaml. */
export async function manifestParserFor(
  directories: readonly FunctionDirectory[],
): Promise<typeof parseManifest | undefined> {
  if (!directories.some((directory) => directory.manifestText !== undefined)) return undefined;
  return (await import('./manifest.js')).parseManifest;
}

export interface DiscoveryResult {
  functions: FunctionSpec[];
  problems: ManifestProblem[];
}

/**
 * Turns candidate directories into function specs: a directory is a function when it holds a
 * function.yaml or a recognised runtime. Invalid manifests and duplicate names are problems.
 */
export function buildFunctionSpecs(
  directories: readonly FunctionDirectory[],
  defaults: { watchdog: Watchdog },
  /** The function.yaml parser; loaded by the caller only when some directory has a manifest. */
  parse?: typeof parseManifest,
): DiscoveryResult {
  const functions: FunctionSpec[] = [];
  const problems: ManifestProblem[] = [];
  const byName = new Map<string, FunctionSpec>();

  for (let i = 0; i < directories.length; i++) {
    const candidate = directories[i];
    if (!candidate) continue;
    const manifestPath =
      candidate.manifestText === undefined ? '' : `${candidate.directory}/${MANIFEST_FILE}`;
    let manifest: FunctionManifest = NO_MANIFEST;
    if (candidate.manifestText !== undefined) {
      const parsed = parseRequired(parse)(candidate.manifestText, manifestPath);
      problems.push(...parsed.problems);
      if (!parsed.manifest) continue;
      manifest = parsed.manifest;
    }

    const runtime = manifest.runtime ?? detectRuntime(candidate.files);
    if (!runtime) {
      if (candidate.manifestText !== undefined) {
        problems.push({
          file: manifestPath,
          field: 'runtime',
          message:
            'is missing and no runtime could be detected (go.mod, package.json, requirements.txt, pyproject.toml, handler.py, main.py or Dockerfile)',
        });
      }
      continue;
    }

    const name = manifest.name ?? candidate.directory.slice(candidate.directory.lastIndexOf('/') + 1);
    if (manifest.name === undefined && (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 39)) {
      problems.push({
        file: candidate.directory,
        field: 'name',
        message: `directory name "${name}" is not a valid function name (DNS-1035 label of at most 39 characters); rename the directory or set "name" in ${MANIFEST_FILE}`,
      });
      continue;
    }
    const clash = byName.get(name);
    if (clash) {
      problems.push({
        file: candidate.manifestText !== undefined ? manifestPath : candidate.directory,
        field: 'name',
        message: `function name "${name}" is already used by ${clash.directory}`,
      });
      continue;
    }

    const spec: FunctionSpec =
      candidate.manifestText === undefined
        ? defaultSpec(name, candidate.directory, runtime, defaults.watchdog)
        : specFromManifest(name, candidate.directory, runtime, defaults.watchdog, manifest, manifestPath);
    byName.set(name, spec);
    functions.push(spec);
  }
  return { functions, problems };
}

// The empty fields of every default spec, shared (frozen: nothing downstream may change a spec)
// rather than four new objects per function; and the empty manifest of a directory without one.
const NO_MANIFEST: FunctionManifest = Object.freeze({});
const NO_ENV: FunctionSpec['env'] = Object.freeze({});
const NO_SECRETS = Object.freeze([]) as unknown as FunctionSpec['secrets'];
const NO_SCALE: FunctionSpec['scale'] = Object.freeze({});
const NO_RESOURCES: FunctionSpec['resources'] = Object.freeze({});

function specFromManifest(
  name: string,
  directory: string,
  runtime: Runtime,
  watchdog: Watchdog,
  manifest: FunctionManifest,
  manifestPath: string,
): FunctionSpec {
  return {
    name,
    directory,
    runtime,
    watchdog: manifest.watchdog ?? watchdog,
    manifestPath,
    env: Object.fromEntries(Object.entries(manifest.env ?? {}).map(([key, value]) => [key, String(value)])),
    secrets: manifest.secrets ?? [],
    scale: manifest.scale ?? {},
    ...(manifest.concurrency === undefined ? {} : { concurrency: manifest.concurrency }),
    timeoutSeconds:
      manifest.timeout === undefined
        ? DEFAULT_TIMEOUT_SECONDS
        : (parseDurationSeconds(String(manifest.timeout)) ?? DEFAULT_TIMEOUT_SECONDS),
    resources: manifest.resources ?? {},
    visibility: manifest.visibility ?? 'public',
  };
}

/**
 * A function without function.yaml: every field at its default. The same object specFromManifest
 * makes from an empty manifest, written out because most functions of a monorepo take this path.
 */
function defaultSpec(name: string, directory: string, runtime: Runtime, watchdog: Watchdog): FunctionSpec {
  return {
    name,
    directory,
    runtime,
    watchdog,
    env: NO_ENV,
    secrets: NO_SECRETS,
    scale: NO_SCALE,
    timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
    resources: NO_RESOURCES,
    visibility: 'public',
  };
}
