import type { Runtime } from './types.js';

/** The files that name a function's runtime, in the order detection tries them (docs/functions.md, "Which runtime"). */
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

/** Runtime from the files at the top of a function directory, first match wins. */
export function detectRuntime(fileNames: ReadonlySet<string>): Runtime | undefined {
  const marker = RUNTIME_MARKERS.find((name) => fileNames.has(name));
  return marker && RUNTIME_OF[marker];
}
