// The README's inputs and outputs tables must say what action.yml says, and the code must read
// exactly the inputs action.yml declares.
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { readInputs } from '../../../src/inputs.js';

interface ActionYml {
  inputs: Record<string, { description: string; default?: string }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string; post?: string; 'post-if'?: string };
}

const action = load(readFileSync('action.yml', 'utf8')) as ActionYml;
const readme = readFileSync('README.md', 'utf8');

/** Rows of the Markdown table under a heading, as arrays of cell texts (backticks removed). */
function tableUnder(heading: string): string[][] {
  const section = readme.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| ---'))
    .slice(1)
    .map((line) =>
      line
        .slice(2, -2)
        .split(/ \| /)
        .map((cell) =>
          cell
            .trim()
            .replace(/^`(.*)`$/, '$1')
            .replace(/\\\|/g, '|'),
        ),
    );
}

describe('README.md and action.yml', () => {
  it('runs on node24 from dist/index.js, with the post step dist/post.js run whatever main did', () => {
    // No post-if: the default, always(), so a cancelled or failed run is cleaned up too.
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js', post: 'dist/post.js' });
  });

  it('lists every input with the default and description of action.yml, in the same order', () => {
    const rows = tableUnder('Inputs');
    expect(rows.map((row) => row[0])).toEqual(Object.keys(action.inputs));
    for (const [name, defaultValue, description] of rows) {
      const input = action.inputs[name ?? ''];
      expect(defaultValue, `default of ${name ?? ''}`).toBe(input?.default ?? '');
      expect(description, `description of ${name ?? ''}`).toBe(input?.description.replace(/\n/g, ' ').trim());
    }
  });

  it('lists every output with the description of action.yml', () => {
    const rows = tableUnder('Outputs');
    expect(rows.map((row) => row[0])).toEqual(Object.keys(action.outputs));
    for (const [name, description] of rows) {
      expect(description).toBe(action.outputs[name ?? '']?.description.replace(/\n/g, ' ').trim());
    }
  });

  it('has exactly the inputs and outputs the README documents', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(
      [
        'functions-dir',
        'functions',
        'deploy-all-on',
        'deploy-branches',
        'mode',
        'registry',
        'registry-username',
        'registry-password',
        'builder',
        'kaniko-image',
        'base-images',
        'watchdog',
        'kubeconfig',
        'namespace',
        'preview-namespace',
        'preview-ttl',
        'tekton-service-account',
        'registry-secret',
        'image-pull-secret',
        'wait-timeout',
        'concurrency',
        'ingress-address',
        'ingress-service',
        'github-token',
        'comment',
      ].sort(),
    );
    expect(Object.keys(action.outputs).sort()).toEqual(['changed', 'comment-id', 'functions', 'urls']);
  });

  it('reads exactly the inputs action.yml declares, and accepts every default', () => {
    const asked = new Set<string>();
    readInputs({
      get: (name) => {
        asked.add(name);
        const value = action.inputs[name]?.default ?? '';
        // Expressions are evaluated by the runner; give what it would give.
        return value
          .replace('${{ github.repository_owner }}', 'Octo-Org')
          .replace('${{ github.token }}', 'ghs_x');
      },
      secret: () => undefined,
    });
    expect([...asked].sort()).toEqual(Object.keys(action.inputs).sort());
  });
});
