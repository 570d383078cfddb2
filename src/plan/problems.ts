import type { ManifestProblem } from './types.js';

/** `file:line:column: field "x" message`, as the CLI prints and the annotations say. */
export function formatProblem(problem: ManifestProblem): string {
  const where = problem.line
    ? `${problem.file}:${problem.line}${problem.column ? `:${problem.column}` : ''}`
    : problem.file;
  return `${where}: ${problem.field ? `field "${problem.field}" ` : ''}${problem.message}`;
}
