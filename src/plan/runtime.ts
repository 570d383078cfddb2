import type { Runtime } from './types.js';

/** Runtime from the files at the top of a function directory, first match wins (DESIGN.md §2). */
export function detectRuntime(fileNames: ReadonlySet<string>): Runtime | undefined {
  if (fileNames.has('go.mod')) return 'go';
  if (fileNames.has('package.json')) return 'node';
  for (const marker of ['requirements.txt', 'pyproject.toml', 'handler.py', 'main.py']) {
    if (fileNames.has(marker)) return 'python';
  }
  if (fileNames.has('Dockerfile')) return 'dockerfile';
  return undefined;
}
