import {
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { Script } from 'node:vm';

/**
 * Runs a CommonJS bundle with V8's code cache taken *after* the run, for the CLI (issue #4).
 *
 * Node's own compile cache (module.enableCompileCache) stores the code V8 has when it compiles a
 * module, before it runs: the top level only. Every function a `faas-deploy plan` calls is then
 * compiled again on every run, ~8 ms of it. `vm.Script#createCachedData()` at exit holds every
 * function compiled so far, so the next run starts with them all compiled.
 *
 * The cache is one file per bundle content (`key`), Node version and architecture, in a directory
 * of this user's. V8 refuses a cache made by another V8 or with other flags (cachedDataRejected),
 * and a refused or missing cache is written anew at exit; writing is atomic (a temporary file
 * renamed into place). A cache file is only read when it is a regular file of this user's that
 * nobody else may write: code from it runs as ours.
 */
export interface CachedScriptRun {
  /** The bundle's module.exports. */
  exports: unknown;
  /** How the code cache was used: "off", "missing", "rejected" or "used". */
  cache: 'off' | 'missing' | 'rejected' | 'used';
}

/** Where the CLI keeps its code cache: NODE_DISABLE_COMPILE_CACHE=1 turns it off, NODE_COMPILE_CACHE moves it. */
export function codeCacheDirectory(env: NodeJS.ProcessEnv, tmpdir: () => string): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE === '1') return undefined;
  if (env.NODE_COMPILE_CACHE) return path.join(env.NODE_COMPILE_CACHE, 'faas-deploy');
  return path.join(tmpdir(), `faas-deploy-compile-cache-${process.getuid?.() ?? 'user'}`);
}

/** The file's bytes when it is a regular file of ours that only we may write, else undefined. */
function readTrusted(file: string): Buffer | undefined {
  let fd;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    const uid = process.getuid?.();
    if (!stat.isFile() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0)
      return undefined;
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeAtomically(file: string, data: Buffer): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(temporary, data, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, file);
  } catch {
    // The cache only saves time: a read-only or full disk must not fail the command.
    try {
      rmSync(temporary, { force: true });
    } catch {
      // Nothing was written.
    }
  }
}

/** The CommonJS module wrapper, as Node's own loader applies it. */
const WRAPPER = ['(function (exports, require, module, __filename, __dirname) { ', '\n})'] as const;

/**
 * Compiles and runs `file` (a CommonJS bundle) with the code cache of `cacheDir` under `key`.
 * `key` names the file's content (V8 itself only compares the length); the file's size and
 * modification time are added to it. The bundle may require a sibling bundle (`./<name>.cjs`,
 * beside it), which runs the same way, with a cache file of its own, once.
 */
export function runCachedScript(
  file: string,
  key: string,
  cacheDir: string | undefined,
  /**
   * Asked at exit whether this run's code is worth keeping. A cache is only written when there is
   * none (or V8 refused it) and is then used as it is, so it should come from a run that compiled
   * what the usual command needs, not from `--help`.
   */
  worthKeeping: () => boolean = () => true,
): CachedScriptRun {
  const fd = openSync(file, 'r');
  let source: string;
  let stamp: string;
  try {
    // Size and modification time too: a bundle edited in place keeps its build's key.
    const stat = fstatSync(fd);
    stamp = `${stat.size.toString(36)}-${Math.trunc(stat.mtimeMs).toString(36)}`;
    source = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const cacheFile =
    cacheDir === undefined
      ? undefined
      : path.join(
          cacheDir,
          `${path.basename(file)}-${key}-${stamp}-${process.version}-${process.arch}.cache`,
        );
  const cachedData = cacheFile === undefined ? undefined : readTrusted(cacheFile);
  const script = new Script(`${WRAPPER[0]}${source}${WRAPPER[1]}`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const cache =
    cacheFile === undefined
      ? 'off'
      : !cachedData
        ? 'missing'
        : script.cachedDataRejected
          ? 'rejected'
          : 'used';
  if (cacheFile !== undefined && cache !== 'used') {
    // At exit the cache holds every function the run compiled.
    process.once('exit', () => {
      if (worthKeeping()) writeAtomically(cacheFile, script.createCachedData());
    });
  }
  const module = { exports: {} as unknown };
  const run = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void;
  run(module.exports, bundleRequire(file, key, cacheDir, worthKeeping), module, file, path.dirname(file));
  return { exports: module.exports, cache };
}

/** Sibling bundles already run, by path. */
const siblings = new Map<string, unknown>();

/**
 * Node's require for `file`, but a sibling bundle (`./<name>.cjs`) goes through runCachedScript and
 * a built-in module comes straight from process.getBuiltinModule: the bundles only require those,
 * and Node's CommonJS loader (createRequire and a lookup per call) costs ~0.5 ms of a CLI start.
 * Anything else, and require.resolve, require.cache and the rest, are Node's own, made on first use.
 */
function bundleRequire(
  file: string,
  key: string,
  cacheDir: string | undefined,
  worthKeeping: () => boolean,
): NodeJS.Require {
  let node: NodeJS.Require | undefined;
  const nodeRequire = (): NodeJS.Require =>
    (node ??= process.getBuiltinModule('node:module').createRequire(file));
  const required = (id: string): unknown => {
    if (/^\.\/[\w.-]+\.cjs$/.test(id)) {
      const sibling = path.join(path.dirname(file), id);
      if (!siblings.has(sibling)) {
        siblings.set(sibling, runCachedScript(sibling, key, cacheDir, worthKeeping).exports);
      }
      return siblings.get(sibling);
    }
    // undefined for anything that is not a built-in module (node:module's isBuiltin costs a load).
    return process.getBuiltinModule(id) ?? nodeRequire()(id);
  };
  for (const property of ['resolve', 'cache', 'main', 'extensions'] as const) {
    Object.defineProperty(required, property, { get: () => nodeRequire()[property], enumerable: true });
  }
  return required as NodeJS.Require;
}
