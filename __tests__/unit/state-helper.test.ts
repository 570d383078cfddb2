// The main → post hand-off in the runner's own format: saveRunState appends to GITHUB_STATE, the
// runner passes each entry to the post step as STATE_<name>, and readRunState reads them back.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readRunState, saveRunState } from '../../src/state-helper.js';
import { parseOutputFile } from '../../test/support/runner-files.ts';

const savedEnv = process.env;
let work = '';

afterEach(() => {
  process.env = savedEnv;
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the run state', () => {
  it('round-trips through GITHUB_STATE and the STATE_* variables', () => {
    work = mkdtempSync(path.join(tmpdir(), 'faas-state-'));
    const file = path.join(work, 'state');
    writeFileSync(file, '');
    process.env = { GITHUB_STATE: file };
    const state = { namespace: 'team-a', runId: 'a1b2c3d4e5f6', tempDir: '/runner/_temp/faas-deploy-Ab12' };
    saveRunState(state);

    const saved = parseOutputFile(file);
    expect(saved).toEqual({ namespace: 'team-a', 'run-id': 'a1b2c3d4e5f6', 'temp-dir': state.tempDir });
    expect(readFileSync(file, 'utf8')).not.toMatch(/token|password|kubeconfig/i);

    process.env = Object.fromEntries(Object.entries(saved).map(([name, value]) => [`STATE_${name}`, value]));
    expect(readRunState()).toEqual(state);
  });

  it('is absent when main saved nothing', () => {
    process.env = {};
    expect(readRunState()).toBeUndefined();
  });
});
