// Vitest global setup for the integration project: brings the real test environment up (or finds it
// up) and hands its addresses and credentials to the tests. A test that needs the environment fails
// when it cannot start; nothing is skipped.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const script = fileURLToPath(new URL('../../scripts/test-env/test-env', import.meta.url));

export function parseEnvLines(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.startsWith('#')) env[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return env;
}

export default function setup(project: TestProject): void {
  execFileSync(script, ['up'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const env = parseEnvLines(execFileSync(script, ['env'], { encoding: 'utf8' }));
  project.provide('testEnv', env);
}

declare module 'vitest' {
  export interface ProvidedContext {
    testEnv: Record<string, string>;
  }
}
