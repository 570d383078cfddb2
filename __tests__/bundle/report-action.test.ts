// The outputs and the job summary of dist/index.js, run exactly as a runner runs it: INPUT_* and
// GITHUB_* variables, a real pull_request payload at GITHUB_EVENT_PATH, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY read back, and GITHUB_API_URL pointing at the local GitHub server so any call
// the action makes is seen (and checked against GitHub's OpenAPI description).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventEnv, pullRequestEvent, type Payload } from '../../test/github/events.ts';
import { startGitHubServer, type GitHubServer } from '../../test/github/openapi-server.ts';
import { goFunction, makeRepo, type TestRepo } from '../../test/support/git-repo.ts';
import { parseOutputFile } from '../../test/support/runner-files.ts';

// FAAS_ACTION_BUNDLE runs another build of the action (a bundle made before dist/ is rebuilt).
const action = path.resolve(process.env['FAAS_ACTION_BUNDLE'] ?? 'dist/index.js');
const TOKEN = 'ghs_report_bundle_token';

let gh: GitHubServer;
let repo: TestRepo | undefined;

beforeEach(async () => {
  gh = await startGitHubServer({ token: TOKEN });
});
afterEach(async () => {
  repo?.remove();
  repo = undefined;
  await gh.close();
});

async function runAction(payload: Payload, inputs: Record<string, string>, dir: string) {
  const work = mkdtempSync(path.join(tmpdir(), 'faas-runner-'));
  const files = {
    event: path.join(work, 'event.json'),
    output: path.join(work, 'output'),
    summary: path.join(work, 'summary.md'),
  };
  writeFileSync(files.event, JSON.stringify(payload));
  writeFileSync(files.output, '');
  writeFileSync(files.summary, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    ...eventEnv('pull_request', payload, files.event),
    GITHUB_API_URL: gh.url,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '9001',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_WORKSPACE: dir,
    RUNNER_TEMP: work,
    'INPUT_GITHUB-TOKEN': TOKEN,
    INPUT_COMMENT: 'true',
  };
  for (const [name, value] of Object.entries(inputs))
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, [action], { cwd: dir, env }, (error, out) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: out });
    });
  });
  return {
    code,
    stdout,
    outputs: parseOutputFile(files.output),
    summary: readFileSync(files.summary, 'utf8'),
  };
}

function pullRequestRepo(): { base: string; head: string } {
  repo = makeRepo();
  const base = repo.commit('initial', { ...goFunction('alpha'), ...goFunction('beta') });
  repo.git('checkout', '--quiet', '-b', 'feature');
  const head = repo.commit('change alpha', { 'functions/alpha/util.go': 'package main\n' });
  return { base, head };
}

describe('the action bundle reports', () => {
  it('a pull request in mode plan: all four outputs and the summary table, no comment', async () => {
    const { base, head } = pullRequestRepo();
    const payload = pullRequestEvent('opened', {
      number: 12,
      base: { ref: 'main', sha: base },
      head: { ref: 'feature', sha: head },
    });
    const result = await runAction(
      payload,
      { mode: 'plan', registry: 'registry.example.com/team' },
      repo?.dir ?? '',
    );

    expect(result.stdout).not.toContain('::error');
    expect(result.code).toBe(0);
    expect(Object.keys(result.outputs).sort()).toEqual(['changed', 'comment-id', 'functions', 'urls']);
    expect(JSON.parse(result.outputs['functions'] ?? 'null')).toEqual([
      {
        name: 'alpha',
        service: 'alpha-pr-12',
        action: 'preview',
        status: 'planned',
        image: expect.stringMatching(
          /^registry\.example\.com\/team\/functions\/alpha:ctx-[0-9a-f]{32}$/,
        ) as unknown,
      },
      { name: 'beta', service: 'beta-pr-12', action: 'skip', status: 'skipped', reason: 'unchanged' },
    ]);
    expect(JSON.parse(result.outputs['changed'] ?? 'null')).toEqual(['alpha']);
    expect(JSON.parse(result.outputs['urls'] ?? 'null')).toEqual({});
    expect(result.outputs['comment-id']).toBe('');
    expect(result.summary).toContain('## faas-deploy plan (preview)');
    expect(result.summary).toContain('pull request #12');
    expect(result.summary).toContain(
      '| Function | Service | Action | Status | URL / image | Digest | Build | Updated (UTC) | Note |',
    );
    expect(result.summary).toMatch(
      /\| alpha \| alpha-pr-12 \| preview \| 📝 planned \| `registry\.example\.com/,
    );
    expect(result.summary).toContain('| beta | beta-pr-12 | skip | ⏭️ skipped | — | — | — | — | unchanged |');
    // A plan only: no comment is written, GitHub is not called.
    expect(gh.requests).toEqual([]);
  });

  it('a fork pull request without secrets: no deploy, exit 0, a summary that says why', async () => {
    const { base, head } = pullRequestRepo();
    const payload = pullRequestEvent('opened', {
      number: 13,
      fork: true,
      base: { ref: 'main', sha: base },
      head: { ref: 'feature', sha: head },
    });
    const result = await runAction(
      payload,
      { registry: 'registry.example.com/team', kubeconfig: '' },
      repo?.dir ?? '',
    );

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('::notice::Pull request #13 comes from a fork');
    expect(result.stdout).not.toContain('::error');
    expect(result.summary).toContain('## faas-deploy preview');
    expect(result.summary).toContain(
      '**No preview for this pull request.** #13 (branch feature) comes from a fork',
    );
    expect(result.summary).toContain(
      '| alpha | alpha-pr-13 | skip | ⏭️ skipped | — | — | — | — | pull request from a fork: no secrets to deploy with |',
    );
    const functions = JSON.parse(result.outputs['functions'] ?? 'null') as { status: string }[];
    expect(functions.map((fn) => fn.status)).toEqual(['skipped', 'skipped']);
    expect(JSON.parse(result.outputs['changed'] ?? 'null')).toEqual(['alpha']);
    expect(result.outputs['comment-id']).toBe('');
    expect(gh.requests).toEqual([]);
  });
});
