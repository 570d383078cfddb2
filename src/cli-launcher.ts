// The `faas-deploy` executable (dist/cli.js): runs the CLI bundle, dist/cli-main.cjs, with V8's
// code cache of the previous run (src/util/code-cache.ts). The bundle itself starts the command.
import { fileURLToPath } from 'node:url';
import { codeCacheDirectory, runCachedScript } from './util/code-cache.js';
import { temporaryDirectory } from './util/temp-dir.js';

/** The first 16 hex digits of the SHA-256 of dist/cli-main.cjs and dist/cli-yaml.cjs, written in by scripts/build.mjs. */
declare const __FAAS_CLI_MAIN_KEY__: string;

// The cache keeps what a successful `plan` compiled (the command that must start fast), not what
// `--help` or a usage error did.
runCachedScript(
  fileURLToPath(new URL('./cli-main.cjs', import.meta.url)),
  __FAAS_CLI_MAIN_KEY__,
  codeCacheDirectory(process.env, () => temporaryDirectory()),
  () => process.argv[2] === 'plan' && (process.exitCode ?? 0) === 0,
);
