import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { byCodeUnits } from '../util/sort.js';
import type { FunctionManifest, parseManifest } from './manifest.js';
import { detectRuntime, RUNTIME_MARKERS } from './runtime.js';
import { parseDurationSeconds } from '../util/duration.js';
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

/** True when `file` is a regular file: not a directory, not a symbolic link (even to a file). */
function isRegularFile(file: string): boolean {
  return lstatSync(file, { throwIfNoEntry: false })?.isFile() === true;
}

/**
 * Reads the candidate directories directly under the functions directory (not symbolic links to
 * directories, nor names starting with a dot), sorted: function.yaml where there is one, and
 * whether each runtime marker is there, in detection order up to the first one found.
 */
export function scanFunctionsDir(repoRoot: string, functionsDir: string): FunctionDirectory[] {
  const root = path.join(repoRoot, functionsDir);
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const names = entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort(byCodeUnits);
  const prefix = functionsDir.split(path.sep).join('/');
  return names.map((name) => {
    const directory = path.join(root, name);
    const manifest = path.join(directory, MANIFEST_FILE);
    const manifestText = isRegularFile(manifest) ? readFileSync(manifest, 'utf8') : undefined;
    const marker = RUNTIME_MARKERS.find((candidate) => isRegularFile(path.join(directory, candidate)));
    const files = new Set<string>();
    if (manifestText !== undefined) files.add(MANIFEST_FILE);
    if (marker) files.add(marker);
    return {
      directory: path.posix.join(prefix, name),
      files,
      ...(manifestText === undefined ? {} : { manifestText }),
    };
  });
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

  for (const candidate of directories) {
    const manifestPath =
      candidate.manifestText === undefined ? undefined : `${candidate.directory}/${MANIFEST_FILE}`;
    let manifest: FunctionManifest = {};
    if (candidate.manifestText !== undefined && manifestPath !== undefined) {
      const parsed = parseRequired(parse)(candidate.manifestText, manifestPath);
      problems.push(...parsed.problems);
      if (!parsed.manifest) continue;
      manifest = parsed.manifest;
    }

    const runtime = manifest.runtime ?? detectRuntime(candidate.files);
    if (!runtime) {
      if (manifestPath !== undefined) {
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
    if (/-pr-[0-9]+$/.test(name)) {
      problems.push({
        file: manifestPath ?? candidate.directory,
        field: 'name',
        message: `function name "${name}" ends in -pr-<N>, the form of preview Services (<name>-pr-<N>): a pull request's preview could take its name; rename the function`,
      });
      continue;
    }
    const clash = byName.get(name);
    if (clash) {
      problems.push({
        file: manifestPath ?? candidate.directory,
        field: 'name',
        message: `function name "${name}" is already used by ${clash.directory}`,
      });
      continue;
    }

    const spec = specFromManifest(
      name,
      candidate.directory,
      runtime,
      defaults.watchdog,
      manifest,
      manifestPath,
    );
    byName.set(name, spec);
    functions.push(spec);
  }
  return { functions, problems };
}

/** A function's spec: its manifest's settings (none without function.yaml), defaults for the rest. */
function specFromManifest(
  name: string,
  directory: string,
  runtime: Runtime,
  watchdog: Watchdog,
  manifest: FunctionManifest,
  manifestPath: string | undefined,
): FunctionSpec {
  return {
    name,
    directory,
    runtime,
    watchdog: manifest.watchdog ?? watchdog,
    ...(manifestPath === undefined ? {} : { manifestPath }),
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
