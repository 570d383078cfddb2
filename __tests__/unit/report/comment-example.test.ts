// docs/pr-comment-example.md is what the report stage renders for its example run: regenerate it
// with `node scripts/render-comment-example.mjs` when the comment changes on purpose.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeState } from '../../../src/report/state.ts';
import { exampleDocument } from '../../../test/support/report-example.ts';

describe('docs/pr-comment-example.md', () => {
  const doc = readFileSync('docs/pr-comment-example.md', 'utf8');

  it('matches the comment the report stage renders', () => {
    expect(doc).toBe(exampleDocument());
  });

  it('shows one ready, one failed and one unchanged function', () => {
    expect(decodeState(doc)?.rows.map((row) => [row.name, row.status])).toEqual([
      ['echo', 'ready'],
      ['hello', 'ready'],
      ['resize', 'failed'],
    ]);
    expect(doc).toContain('| echo | ✅ ready (unchanged since `5e1f0c2`) |');
    expect(doc).toContain('| resize | ❌ failed: build failed: go build exited with status 1 |');
    expect(readFileSync('docs/pr-comment-example.png').subarray(1, 4).toString()).toBe('PNG');
  });
});
