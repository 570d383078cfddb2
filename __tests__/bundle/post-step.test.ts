// dist/post.js, the action's post step, run as the runner runs it: the main step's state as STATE_*
// variables, the inputs as INPUT_*.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const post = path.resolve('dist/post.js');
let work: string;

beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'faas-post-bundle-'));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

function runPost(env: Record<string, string>): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [post],
      { cwd: work, env: { PATH: process.env['PATH'], HOME: process.env['HOME'], RUNNER_TEMP: work, ...env } },
      (error, stdout) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout });
      },
    );
  });
}

describe('the post step bundle', () => {
  it('does nothing without the main step’s state', async () => {
    const result = await runPost({ INPUT_BUILDER: 'tekton' });
    expect(result.code).toBe(0);
    // One debug line (shown only with step debug logging on), nothing else.
    expect(result.stdout).toBe(
      '::debug::faas-deploy post: the main step saved no state, so there is nothing to clean up.\n',
    );
  });

  it('removes the run’s temp dir a cancelled main step left, and exits 0', async () => {
    const tempDir = path.join(work, 'faas-deploy-Ab12Cd');
    mkdirSync(path.join(tempDir, 'faas-deploy-docker-x'), { recursive: true });
    writeFileSync(path.join(tempDir, 'faas-deploy-docker-x', 'config.json'), '{"auths":{}}');
    const result = await runPost({
      STATE_namespace: 'default',
      'STATE_run-id': 'abcdef012345',
      'STATE_temp-dir': tempDir,
      INPUT_BUILDER: 'kaniko',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Cleanup: removed ${tempDir}`);
    expect(existsSync(tempDir)).toBe(false);
    expect(readdirSync(work)).toEqual([]);
  });
});
