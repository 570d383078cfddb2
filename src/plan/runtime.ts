import type { Runtime } from './types.js';

/** The files that name a function's runtime, in the order detection tries them (DESIGN.md §2). */
export const RUNTIME_MARKERS = [
  'go.mod',
  'package.json',
  'requirements.txt',
  'pyproject.toml',
  'handler.py',
  'main.py',
  'Dockerfile',
] as const;

const RUNTIME_OF: Readonly<Record<(typeof RUNTIME_MARKERS)[number], Runtime>> = {
  'go.mod': 'go',
  'package.json': 'node',
  'requirements.txt': 'python',
  'pyproject.toml': 'python',
  'handler.py': 'python',
  'main.py': 'python',
  Dockerfile: 'dockerfile',
};

/** Runtime from the files at the top of a function directory, first match wins (DESIGN.md §2). */
export function detectRuntime(fileNames: ReadonlySet<string>): Runtime | undefined {
  // Indexed: called once per function of the repository, no iterator objects.
  for (let i = 0; i < RUNTIME_MARKERS.length; i++) {
    const marker = RUNTIME_MARKERS[i];
    if (marker !== undefined && fileNames.has(marker)) return RUNTIME_OF[marker];
  }
  return undefined;
}
