// A function's spec with every field at the value discovery gives a Go function without
// function.yaml, for tests that need one without a repository on disk.
import type { FunctionSpec } from '../../src/plan/types.ts';

export function functionSpec(name: string, overrides: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    name,
    directory: `functions/${name}`,
    runtime: 'go',
    watchdog: 'classic',
    env: {},
    secrets: [],
    scale: {},
    timeoutSeconds: 30,
    resources: {},
    visibility: 'public',
    ...overrides,
  };
}
