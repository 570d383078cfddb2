// run() as the runner drives it, in this process: INPUT_* variables, the event payload at
// GITHUB_EVENT_PATH, and the GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_STATE files, read back
// afterwards; the log is what @actions/core writes to stdout. A real git repository is the checkout.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/main.js';
import { eventEnv, pullRequestEvent, pushEvent, type Payload } from '../../test/github/events.ts';
import { goFunction, makeRepo, type TestRepo } from '../../test/support/git-repo.ts';
import { parseOutputFile } from '../../test/support/runner-files.ts';

// One directory for the whole file: @actions/core keeps the summary file's path once it has
// written to it, as it may in a runner's one process per step.
let work: string;
let repo: TestRepo;
let stdout: string[];
const savedEnv = process.env;

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'faas-main-'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  repo = makeRepo();
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
  repo.remove();
});

interface Run {
  failed: boolean;
  log: string;
  outputs: Record<string, string>;
  summary: string;
  state: Record<string, string>;
  runnerTemp: string;
}

/** Runs run() with a runner's environment for the event; only PATH and HOME come from outside. */
async function runAction(
  eventName: 'push' | 'pull_request',
  payload: Payload,
  inputs: Record<string, string>,
) {
  const files = {
    event: path.join(work, 'event.json'),
    output: path.join(work, 'output'),
    summary: path.join(work, 'summary.md'),
    state: path.join(work, 'state'),
  };
  const runnerTemp = mkdtempSync(path.join(work, 'runner-temp-'));
  writeFileSync(files.event, JSON.stringify(payload));
  for (const file of [files.output, files.summary, files.state]) writeFileSync(file, '');
  const env: NodeJS.ProcessEnv = {
    PATH: savedEnv['PATH'],
    HOME: savedEnv['HOME'],
    ...eventEnv(eventName, payload, files.event),
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_STATE: files.state,
    GITHUB_WORKSPACE: repo.dir,
    RUNNER_TEMP: runnerTemp,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  process.env = env;
  await run();
  const result: Run = {
    failed: process.exitCode === 1,
    log: stdout.join(''),
    outputs: parseOutputFile(files.output),
    summary: readFileSync(files.summary, 'utf8'),
    state: parseOutputFile(files.state),
    runnerTemp,
  };
  process.env = savedEnv;
  return result;
}

/** The titles of the log groups, in order. */
const groups = (log: string): string[] => [...log.matchAll(/^::group::(.*)$/gm)].map((m) => m[1] ?? '');

describe('run()', () => {
  it('plans a push in mode plan: outputs, summary and log groups, nothing saved for a post step', async () => {
    const before = repo.commit('initial', { ...goFunction('alpha'), ...goFunction('beta') });
    const after = repo.commit('change alpha', { 'functions/alpha/util.go': 'package main\n' });
    const result = await runAction('push', pushEvent({ before, after }), {
      mode: 'plan',
      registry: 'registry.example.com/team',
      'github-token': 'ghs_plan_token',
    });

    expect(result.failed).toBe(false);
    expect(result.log).not.toContain('::error');
    expect(groups(result.log)).toEqual(['Plan', 'Package', 'Report']);
    expect(JSON.parse(result.outputs['functions'] ?? 'null')).toEqual([
      {
        name: 'alpha',
        service: 'alpha',
        action: 'deploy',
        status: 'planned',
        image: expect.stringMatching(
          /^registry\.example\.com\/team\/functions\/alpha:ctx-[0-9a-f]{32}$/,
        ) as unknown,
      },
      { name: 'beta', service: 'beta', action: 'skip', status: 'skipped', reason: 'unchanged' },
    ]);
    expect(JSON.parse(result.outputs['changed'] ?? 'null')).toEqual(['alpha']);
    expect(result.outputs['comment-id']).toBe('');
    expect(result.summary).toContain('## faas-deploy plan (deploy)');
    expect(result.log).toContain('Planned 2 function(s): alpha → deploy, beta → skip.');
    // The token is masked before anything is logged, and appears nowhere else.
    expect(result.log.split('\n').filter((line) => line.includes('ghs_plan_token'))).toEqual([
      '::add-mask::ghs_plan_token',
    ]);
    expect(result.state).toEqual({});
    expect(readdirSync(result.runnerTemp)).toEqual([]);
  });

  it('stops a fork pull request without secrets cleanly: every function skipped, the summary says why', async () => {
    const base = repo.commit('initial', { ...goFunction('alpha'), ...goFunction('beta') });
    repo.git('checkout', '--quiet', '-b', 'feature');
    const head = repo.commit('change alpha', { 'functions/alpha/util.go': 'package main\n' });
    const payload = pullRequestEvent('opened', {
      number: 13,
      fork: true,
      base: { ref: 'main', sha: base },
      head: { ref: 'feature', sha: head },
    });
    const result = await runAction('pull_request', payload, {
      registry: 'registry.example.com/team',
      kubeconfig: '',
      'github-token': 'ghs_read_only',
    });

    expect(result.failed).toBe(false);
    expect(result.log).toContain('::notice::Pull request #13 comes from a fork');
    expect(result.log).not.toContain('::error');
    // Nothing is packaged or built: the plan, then the report.
    expect(groups(result.log)).toEqual(['Plan', 'Report']);
    expect(result.summary).toContain(
      '**No preview for this pull request.** #13 (branch feature) comes from a fork',
    );
    const functions = JSON.parse(result.outputs['functions'] ?? 'null') as {
      status: string;
      reason?: string;
    }[];
    expect(functions.map((fn) => [fn.status, fn.reason])).toEqual([
      ['skipped', 'pull request from a fork: no secrets to deploy with'],
      ['skipped', 'unchanged'],
    ]);
    expect(JSON.parse(result.outputs['changed'] ?? 'null')).toEqual(['alpha']);
    expect(result.state).toEqual({});
  });

  it('fails with every problem as an annotation on its file and line', async () => {
    const sha = repo.commit('initial', {
      ...goFunction('alpha'),
      'functions/alpha/function.yaml': 'runtime: go\ntimeout: forever\n',
    });
    const result = await runAction('push', pushEvent({ before: sha, after: sha }), { mode: 'plan' });
    expect(result.failed).toBe(true);
    expect(result.log).toContain(
      '::error title=Invalid function,file=functions/alpha/function.yaml,line=2,col=1::',
    );
    expect(result.log).toContain(
      '::error::1 problem(s) in the functions under functions/; see the annotations.',
    );
    expect(result.outputs).toEqual({});
  });

  it('a deploy saves names and paths for the post step, never a secret, and removes its temp dir itself', async () => {
    const before = repo.commit('initial', goFunction('alpha'));
    const after = repo.commit('change alpha', { 'functions/alpha/util.go': 'package main\n' });
    const kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:9" } }]',
      'users: [{ name: u, user: { token: kube-token-not-for-state } }]',
      'contexts: [{ name: x, context: { cluster: c, user: u } }]',
      'current-context: x',
    ].join('\n');
    // Nothing listens at the server: the reconcile's list call fails, after the state is saved.
    const result = await runAction('push', pushEvent({ before, after }), {
      mode: 'deploy',
      registry: '',
      'registry-password': 'registry-secret-not-for-state',
      kubeconfig,
      namespace: 'team-a',
    });

    expect(result.failed).toBe(true);
    expect(result.log).toMatch(/::error::.*127\.0\.0\.1:9/);
    expect(Object.keys(result.state).sort()).toEqual(['namespace', 'run-id', 'temp-dir']);
    expect(result.state['namespace']).toBe('team-a');
    expect(result.state['run-id']).toMatch(/^[0-9a-f]{12}$/);
    const tempDir = result.state['temp-dir'] ?? '';
    expect(path.dirname(tempDir)).toBe(result.runnerTemp);
    expect(path.basename(tempDir)).toMatch(/^faas-deploy-/);
    expect(existsSync(tempDir)).toBe(false);
    expect(readdirSync(result.runnerTemp)).toEqual([]);
    const state = readFileSync(path.join(work, 'state'), 'utf8');
    for (const secret of ['kube-token-not-for-state', 'registry-secret-not-for-state']) {
      expect(state).not.toContain(secret);
      expect(result.log).toContain(`::add-mask::${secret}`);
    }
  });

  it('gives every run an id of its own', async () => {
    const sha = repo.commit('initial', goFunction('alpha'));
    const ids = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const result = await runAction('push', pushEvent({ before: sha, after: sha }), {
        mode: 'deploy',
        kubeconfig: 'not: [a kubeconfig',
      });
      expect(result.failed).toBe(true);
      ids.add(result.state['run-id'] ?? '');
    }
    expect(ids.size).toBe(2);
  });
});
