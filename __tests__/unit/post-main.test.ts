// The post step as the runner drives it: the state main saved arrives as STATE_* variables, the
// inputs as INPUT_*; the cleanup itself (src/post/cleanup.ts) is recorded, so what is checked here
// is what runPost hands it and when it does nothing.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { cleanupRun } from '../../src/post/cleanup.js';
import { runPost } from '../../src/post-main.js';
import { processRunner } from '../../src/util/exec.js';

const savedEnv = process.env;
let work: string;
let stdout: string[];

type Call = Parameters<typeof cleanupRun>;

function recorder(impl: (...args: Call) => Promise<void> = () => Promise.resolve()) {
  const calls: Call[] = [];
  const cleanup: typeof cleanupRun = async (...args) => {
    calls.push(args);
    await impl(...args);
  };
  return { calls, cleanup };
}

beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'faas-post-'));
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  process.env = savedEnv;
  process.exitCode = undefined;
  rmSync(work, { recursive: true, force: true });
});

function postEnv(state: Record<string, string>, inputs: Record<string, string> = {}): void {
  process.env = {
    PATH: savedEnv['PATH'],
    HOME: savedEnv['HOME'],
    RUNNER_TEMP: work,
    ...Object.fromEntries(Object.entries(state).map(([name, value]) => [`STATE_${name}`, value])),
    ...Object.fromEntries(
      Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value]),
    ),
  };
}

const STATE = { namespace: 'team-a', 'run-id': '0123456789ab', 'temp-dir': '/tmp/runner/faas-deploy-x1' };

describe('runPost', () => {
  it('does nothing when main saved no state (it never got as far as creating anything)', async () => {
    const { calls, cleanup } = recorder();
    postEnv({}, { builder: 'tekton', kubeconfig: 'not read' });
    await runPost({ cleanup });
    expect(calls).toEqual([]);
    expect(stdout.join('')).not.toMatch(/^::(warning|error)/m);
    expect(process.exitCode).toBeUndefined();
  });

  it('does nothing with part of the state only', async () => {
    const { calls, cleanup } = recorder();
    postEnv({ namespace: 'team-a', 'temp-dir': '/tmp/x' });
    await runPost({ cleanup });
    expect(calls).toEqual([]);
  });

  it('hands the saved state to the cleanup; builder kaniko: no cluster connection', async () => {
    const { calls, cleanup } = recorder();
    postEnv(STATE, { builder: 'kaniko' });
    await runPost({ cleanup });
    expect(calls).toHaveLength(1);
    const [state, deps] = calls[0] as Call;
    expect(state).toEqual({
      namespace: 'team-a',
      runId: '0123456789ab',
      tempDir: '/tmp/runner/faas-deploy-x1',
    });
    expect(deps.kube).toBeUndefined();
    expect(deps.runner).toBe(processRunner);
    expect(stdout.join('')).not.toContain('::warning::');
    deps.log('Cleanup: removed /tmp/runner/faas-deploy-x1');
    deps.warn?.('Cleanup: could not remove x');
    expect(stdout.join('')).toContain('Cleanup: removed /tmp/runner/faas-deploy-x1\n');
    expect(stdout.join('')).toContain('::warning::Cleanup: could not remove x');
  });

  it('builder tekton: connects with input kubeconfig, and closes and removes what the connection wrote', async () => {
    const kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:9" } }]',
      'users: [{ name: builder, user: { token: post-step-token } }]',
      'contexts: [{ name: x, context: { cluster: c, user: builder } }]',
      'current-context: x',
    ].join('\n');
    let seenDuring: string[] = [];
    let close: { mock: { calls: unknown[] } } | undefined;
    const { calls, cleanup } = recorder((_state, deps) => {
      seenDuring = readdirSync(work);
      if (deps.kube) close = vi.spyOn(deps.kube, 'close');
      return Promise.resolve();
    });
    postEnv(STATE, { builder: 'tekton', kubeconfig });
    await runPost({ cleanup });
    expect(calls).toHaveLength(1);
    const [state, deps] = calls[0] as Call;
    expect(state.runId).toBe('0123456789ab');
    expect(deps.kube?.server).toBe('https://127.0.0.1:9');
    expect(deps.kube?.user).toBe('builder');
    expect(close?.mock.calls).toHaveLength(1);
    // The kubeconfig file lived in a directory of the post step's own, gone afterwards.
    expect(seenDuring).toHaveLength(1);
    expect(readdirSync(work)).toEqual([]);
    expect(stdout.join('')).toContain('::add-mask::post-step-token');
  });

  it('a cluster it cannot connect to is a warning; the rest of the cleanup still runs', async () => {
    const { calls, cleanup } = recorder();
    postEnv(STATE, { builder: 'tekton', kubeconfig: 'not: [a kubeconfig' });
    await runPost({ cleanup });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[1].kube).toBeUndefined();
    expect(stdout.join('')).toMatch(/^::warning::Cleanup: cannot connect to the cluster/m);
    expect(process.exitCode).toBeUndefined();
    expect(readdirSync(work)).toEqual([]);
  });

  it('never fails the job: a cleanup that throws is a warning', async () => {
    const { cleanup } = recorder(() => Promise.reject(new Error('docker went away')));
    postEnv(STATE, { builder: 'kaniko' });
    await runPost({ cleanup });
    expect(stdout.join('')).toContain('::warning::Cleanup failed: docker went away');
    expect(process.exitCode).toBeUndefined();
  });
});
