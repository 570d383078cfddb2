// The test environment's addresses and credentials for a benchmark (`scripts/test-env/test-env env`).
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** KEY=VALUE lines of `test-env env`; throws naming the first required key that is missing. */
export function testEnvValues(required = []) {
  const text = execFileSync(path.join(root, 'scripts/test-env/test-env'), ['env'], { encoding: 'utf8' });
  const env = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.startsWith('#')) env[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  env.REGISTRY ??= process.env.REGISTRY;
  for (const key of required) {
    if (!env[key])
      throw new Error(`${key} missing: bring the test environment up (scripts/test-env/test-env up)`);
  }
  return env;
}
