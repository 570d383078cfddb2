// Change detection and planning on real git repositories, for every event shape faas-deploy
// handles. Each scenario builds an "upstream" repository (the GitHub side: it serves any reachable
// commit, as GitHub does), checks it out as actions/checkout would (a full clone, or depth 1 of one
// commit), and asserts the exact set of functions and actions the plan gives.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getOctokit } from '@actions/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEventInfo } from '../../src/plan/event.js';
import { compareClient, type CompareClient } from '../../src/plan/compare.js';
import { planRepository } from '../../src/plan/index.js';
import type { PlanSettings } from '../../src/plan/plan.js';
import type { Plan } from '../../src/plan/types.js';
import { processRunner } from '../../src/util/exec.js';
import { goFunction, makeRepo, type TestRepo } from '../../test/support/git-repo.js';
import { pullRequestEvent, pushEvent, workflowDispatchEvent } from '../../test/github/events.ts';
import { startGitHubServer, type GitHubServer } from '../../test/github/openapi-server.ts';

const ZERO = '0'.repeat(40);
const settings: PlanSettings = {
  mode: 'auto',
  functionsDir: 'functions',
  deployAllOn: [],
  deployBranches: [],
  functions: undefined,
};

function upstream(): TestRepo {
  const repo = makeRepo('faas-upstream-');
  // GitHub serves any reachable commit by sha; so does this upstream.
  repo.git('config', 'uploadpack.allowReachableSHA1InWant', 'true');
  repo.git('config', 'uploadpack.allowAnySHA1InWant', 'true');
  return repo;
}

const cleanup: string[] = [];

/** actions/checkout: depth 1 of one commit (its default), or the whole history (fetch-depth: 0). */
function checkout(from: TestRepo, sha: string, depth?: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'faas-checkout-'));
  cleanup.push(dir);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
  git('init', '--quiet');
  git('remote', 'add', 'origin', `file://${from.dir}`);
  if (depth === undefined)
    git('fetch', '--quiet', '--no-tags', 'origin', '+refs/heads/*:refs/remotes/origin/*');
  git('fetch', '--quiet', '--no-tags', ...(depth ? [`--depth=${depth}`] : []), 'origin', sha);
  git('checkout', '--quiet', '--detach', sha);
  return dir;
}

interface Run {
  dir: string;
  event: string;
  payload: unknown;
  sha?: string;
  settings?: Partial<PlanSettings>;
  compare?: CompareClient;
}

async function plan(run: Run): Promise<Plan> {
  const result = await planRepository({
    repoRoot: run.dir,
    settings: { ...settings, ...run.settings },
    defaultWatchdog: 'classic',
    event: readEventInfo(run.event, run.payload, run.sha ? { sha: run.sha } : {}),
    runner: processRunner,
    ...(run.compare ? { compare: run.compare } : {}),
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.plan;
}

const actions = (p: Plan) => Object.fromEntries(p.functions.map((fn) => [fn.service, fn.action]));

let github: GitHubServer;
let compare: CompareClient;
beforeAll(async () => {
  github = await startGitHubServer({
    token: 'ghs_scenarios',
    repo: { owner: 'octo-org', name: 'functions' },
  });
  const octokit = getOctokit('ghs_scenarios', { baseUrl: github.url });
  compare = compareClient('octo-org', 'functions', (request) =>
    octokit.rest.repos.compareCommitsWithBasehead(request),
  );
});
afterAll(async () => {
  await github.close();
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

describe('push', () => {
  it('1. deploys the one function a push changed', async () => {
    const up = upstream();
    const before = up.commit('three', {
      ...goFunction('alpha'),
      ...goFunction('beta'),
      ...goFunction('gamma'),
    });
    const after = up.commit('alpha', { 'functions/alpha/util.go': 'package main\n' });
    const p = await plan({
      dir: checkout(up, after),
      event: 'push',
      payload: pushEvent({ before, after }),
    });
    expect(actions(p)).toEqual({ alpha: 'deploy', beta: 'skip', gamma: 'skip' });
    expect([p.base, p.head]).toEqual([before, after]);
  });

  it('2. deploys every function touched by any of several pushed commits', async () => {
    const up = upstream();
    const before = up.commit('three', {
      ...goFunction('alpha'),
      ...goFunction('beta'),
      ...goFunction('gamma'),
    });
    up.commit('alpha', { 'functions/alpha/a.go': 'package main\n' });
    up.commit('readme', { 'README.md': 'hi\n' });
    const after = up.commit('gamma', { 'functions/gamma/g.go': 'package main\n' });
    const p = await plan({
      dir: checkout(up, after),
      event: 'push',
      payload: pushEvent({ before, after }),
    });
    expect(actions(p)).toEqual({ alpha: 'deploy', beta: 'skip', gamma: 'deploy' });
  });

  it('3. deploys what a merge commit brought in', async () => {
    const up = upstream();
    const before = up.commit('two', { ...goFunction('alpha'), ...goFunction('beta') });
    up.git('checkout', '--quiet', '-b', 'feature');
    up.commit('beta on feature', { 'functions/beta/b.go': 'package main\n' });
    up.git('checkout', '--quiet', 'main');
    up.commit('readme on main', { 'README.md': 'x\n' });
    up.git('merge', '--quiet', '--no-ff', '-m', 'merge feature', 'feature');
    const after = up.git('rev-parse', 'HEAD');
    const p = await plan({
      dir: checkout(up, after),
      event: 'push',
      payload: pushEvent({ before, after }),
    });
    expect(actions(p)).toEqual({ alpha: 'skip', beta: 'deploy' });
  });

  it('4. deploys nothing when only files outside the functions changed', async () => {
    const up = upstream();
    const before = up.commit('one', goFunction('alpha'));
    const after = up.commit('docs', { 'docs/index.md': '# docs\n', 'functions/README.md': 'fns\n' });
    const p = await plan({
      dir: checkout(up, after),
      event: 'push',
      payload: pushEvent({ before, after }),
    });
    expect(actions(p)).toEqual({ alpha: 'skip' });
  });

  it('5. deletes the Service of a function whose directory the push removed', async () => {
    const up = upstream();
    const before = up.commit('two', { ...goFunction('alpha'), ...goFunction('beta') });
    up.git('rm', '-r', '--quiet', 'functions/beta');
    const after = up.commit('remove beta');
    const p = await plan({
      dir: checkout(up, after),
      event: 'push',
      payload: pushEvent({ before, after }),
    });
    expect(actions(p)).toEqual({ alpha: 'skip', beta: 'delete' });
  });

  it('6. a renamed function directory: the old Service goes, the new one deploys', async () => {
    const up = upstream();
    const before = up.commit('two', { ...goFunction('alpha'), ...goFunction('oldname') });
    up.git('mv', 'functions/oldname', 'functions/newname');
    const after = up.commit('rename');
    const p = await plan({
      dir: checkout(up, after),
      event: 'push',
      payload: pushEvent({ before, after }),
    });
    expect(actions(p)).toEqual({ alpha: 'skip', oldname: 'delete', newname: 'deploy' });
  });

  it('7. a removed function named in its function.yaml: the Service of that name is deleted', async () => {
    const up = upstream();
    const before = up.commit('two', {
      ...goFunction('alpha'),
      ...goFunction('dir-b', { 'function.yaml': 'name: billing\n' }),
    });
    up.git('rm', '-r', '--quiet', 'functions/dir-b');
    const after = up.commit('remove');
    const p = await plan({
      dir: checkout(up, after),
      event: 'push',
      payload: pushEvent({ before, after }),
    });
    expect(actions(p)).toEqual({ alpha: 'skip', billing: 'delete' });
  });

  it('8. a file matching deploy-all-on makes every function changed, and says so', async () => {
    const up = upstream();
    const before = up.commit('two', {
      ...goFunction('alpha'),
      ...goFunction('beta'),
      'lib/util.go': 'package lib\n',
    });
    const after = up.commit('lib', { 'lib/util.go': 'package lib // changed\n' });
    const p = await plan({
      dir: checkout(up, after),
      event: 'push',
      payload: pushEvent({ before, after }),
      settings: { deployAllOn: ['lib/**', 'templates/**'] },
    });
    expect(actions(p)).toEqual({ alpha: 'deploy', beta: 'deploy' });
    expect(p.notes).toContain('Every function counts as changed: lib/util.go matches deploy-all-on.');
  });

  it('9. a change to function.yaml alone redeploys the function', async () => {
    const up = upstream();
    const before = up.commit('two', { ...goFunction('alpha'), ...goFunction('beta') });
    const after = up.commit('scale', { 'functions/beta/function.yaml': 'scale: { min: 1 }\n' });
    const p = await plan({
      dir: checkout(up, after),
      event: 'push',
      payload: pushEvent({ before, after }),
    });
    expect(actions(p)).toEqual({ alpha: 'skip', beta: 'deploy' });
  });

  it('10. file names with spaces, quotes, Unicode and a leading dash reach git only as data', async () => {
    const up = upstream();
    const before = up.commit('two', { ...goFunction('alpha'), ...goFunction('beta') });
    const after = up.commit('odd names', {
      'functions/beta/--output=pwned': 'x\n',
      'functions/beta/a "quoted" name.txt': 'x\n',
      'functions/beta/ünïcödé 文件.txt': 'x\n',
      'functions/beta/-rf': 'x\n',
    });
    const p = await plan({
      dir: checkout(up, after),
      event: 'push',
      payload: pushEvent({ before, after }),
    });
    expect(actions(p)).toEqual({ alpha: 'skip', beta: 'deploy' });
  });

  it('11. a new branch (before all zeros) is compared with its merge base with the default branch', async () => {
    const up = upstream();
    up.commit('two', { ...goFunction('alpha'), ...goFunction('beta') });
    up.git('checkout', '--quiet', '-b', 'release/1');
    const after = up.commit('beta', { 'functions/beta/b.go': 'package main\n' });
    up.git('checkout', '--quiet', 'main');
    up.commit('alpha moves on main', { 'functions/alpha/a.go': 'package main\n' });
    const p = await plan({
      dir: checkout(up, after, 1),
      event: 'push',
      payload: pushEvent({ before: ZERO, after, ref: 'refs/heads/release/1' }),
      settings: { deployBranches: ['release/*'] },
    });
    expect(actions(p)).toEqual({ alpha: 'skip', beta: 'deploy' });
    expect(p.notes[0]).toBe('A new branch: compared with its merge base with main.');
  });

  it('12. a push to a branch that does not deploy plans nothing and says why', async () => {
    const up = upstream();
    const before = up.commit('one', goFunction('alpha'));
    const after = up.commit('alpha', { 'functions/alpha/a.go': 'package main\n' });
    const p = await plan({
      dir: checkout(up, after),
      event: 'push',
      payload: pushEvent({ before, after, ref: 'refs/heads/experiment' }),
    });
    expect(p.dryRun).toBe(true);
    expect(actions(p)).toEqual({ alpha: 'skip' });
    expect(p.notes.join(' ')).toContain('neither the default branch nor in deploy-branches');
  });

  it('13. a force push whose old tip is still served is compared tree to tree', async () => {
    const up = upstream();
    up.commit('three', { ...goFunction('alpha'), ...goFunction('beta'), ...goFunction('gamma') });
    const base = up.git('rev-parse', 'HEAD');
    const before = up.commit('beta (to be dropped)', { 'functions/beta/b.go': 'package main\n' });
    up.git('tag', 'keep-old-tip', before);
    up.git('reset', '--quiet', '--hard', base);
    const after = up.commit('gamma instead', { 'functions/gamma/g.go': 'package main\n' });
    const p = await plan({
      dir: checkout(up, after, 1),
      event: 'push',
      payload: pushEvent({ before, after, forced: true }),
    });
    // beta must go back to what main now has; gamma changed; alpha is untouched.
    expect(actions(p)).toEqual({ alpha: 'skip', beta: 'deploy', gamma: 'deploy' });
    expect(p.notes[0]).toContain('A force push: compared with the tree of the previous tip');
  });

  it('14. a force push whose old tip is gone deploys every function and says so', async () => {
    const up = upstream();
    const before = up.commit('two', { ...goFunction('alpha'), ...goFunction('beta') });
    const after = up.commit('alpha', { 'functions/alpha/a.go': 'package main\n' });
    const gone = 'f'.repeat(40);
    const p = await plan({
      dir: checkout(up, after, 1),
      event: 'push',
      payload: pushEvent({ before: gone, after, forced: true }),
    });
    expect(before).not.toBe(gone);
    expect(actions(p)).toEqual({ alpha: 'deploy', beta: 'deploy' });
    expect(p.notes[0]).toBe(
      'A force push whose previous tip ffffffffffff is no longer reachable: every function counts as changed.',
    );
  });

  it('15. a push that deletes the branch deploys nothing', async () => {
    const up = upstream();
    const sha = up.commit('one', goFunction('alpha'));
    const p = await plan({
      dir: checkout(up, sha),
      event: 'push',
      payload: pushEvent({ before: sha, after: ZERO }),
      sha,
    });
    expect(actions(p)).toEqual({ alpha: 'skip' });
  });

  it('16. a shallow clone (depth 1) fetches the previous tip on demand', async () => {
    const up = upstream();
    const before = up.commit('two', { ...goFunction('alpha'), ...goFunction('beta') });
    up.commit('c1', { 'functions/alpha/a.go': 'package main\n' });
    const after = up.commit('c2', { 'README.md': 'x\n' });
    const dir = checkout(up, after, 1);
    const p = await plan({ dir, event: 'push', payload: pushEvent({ before, after }) });
    expect(actions(p)).toEqual({ alpha: 'deploy', beta: 'skip' });
    expect(execFileSync('git', ['cat-file', '-t', before], { cwd: dir, encoding: 'utf8' }).trim()).toBe(
      'commit',
    );
  });

  it('17. a shallow clone that cannot fetch uses the compare API', async () => {
    const up = upstream();
    const before = up.commit('two', { ...goFunction('alpha'), ...goFunction('beta') });
    const after = up.commit('beta', { 'functions/beta/b.go': 'package main\n' });
    const dir = checkout(up, after, 1);
    execFileSync('git', ['remote', 'set-url', 'origin', `file://${dir}/no-such-remote`], { cwd: dir });
    github.state.setCompare({ base: before, head: after, commits: [after], files: ['functions/beta/b.go'] });
    const p = await plan({ dir, event: 'push', payload: pushEvent({ before, after }), compare });
    expect(actions(p)).toEqual({ alpha: 'skip', beta: 'deploy' });
    expect(p.notes[0]).toContain("the changed files come from GitHub's compare API");
    expect(github.callsTo('repos/compare-commits-with-basehead').at(-1)?.path).toBe(
      `/repos/octo-org/functions/compare/${before}...${after}`,
    );
  });

  it('18. the compare API listing its 300-file maximum makes every function changed, saying why', async () => {
    const up = upstream();
    const before = up.commit('two', { ...goFunction('alpha'), ...goFunction('beta') });
    const after = up.commit('many', { 'functions/beta/b.go': 'package main\n' });
    const dir = checkout(up, after, 1);
    execFileSync('git', ['remote', 'remove', 'origin'], { cwd: dir });
    github.state.setCompare({
      base: before,
      head: after,
      commits: [after],
      files: Array.from({ length: 300 }, (_, i) => `docs/page-${i}.md`),
    });
    const p = await plan({ dir, event: 'push', payload: pushEvent({ before, after }), compare });
    expect(actions(p)).toEqual({ alpha: 'deploy', beta: 'deploy' });
    expect(p.notes[0]).toContain("GitHub's compare API lists at most 300 files");
  });

  it('19. no history and a compare API that answers 404: every function, and why', async () => {
    const up = upstream();
    const before = up.commit('one', goFunction('alpha'));
    const after = up.commit('alpha', { 'functions/alpha/a.go': 'package main\n' });
    const dir = checkout(up, after, 1);
    execFileSync('git', ['remote', 'remove', 'origin'], { cwd: dir });
    const p = await plan({
      dir,
      event: 'push',
      payload: pushEvent({ before: 'e'.repeat(40), after }),
      compare,
    });
    expect(before).toBeTruthy();
    expect(actions(p)).toEqual({ alpha: 'deploy' });
    expect(p.notes[0]).toMatch(/could not be fetched, and GitHub's compare API answered 404/);
  });
});

describe('pull_request', () => {
  /** main with three functions; a PR branch changing beta; main then moves on, changing alpha. */
  function prRepo() {
    const up = upstream();
    up.commit('three', { ...goFunction('alpha'), ...goFunction('beta'), ...goFunction('gamma') });
    up.git('checkout', '--quiet', '-b', 'feature');
    up.commit('beta 1', { 'functions/beta/b.go': 'package main\n' });
    const head = up.commit('beta 2', { 'functions/beta/c.go': 'package main\n' });
    up.git('checkout', '--quiet', 'main');
    for (let i = 0; i < 60; i++) up.commit(`main ${i}`, { 'functions/alpha/a.go': `package main // ${i}\n` });
    const base = up.git('rev-parse', 'HEAD');
    return { up, base, head };
  }

  it.each(['opened', 'synchronize', 'reopened'] as const)(
    '20-22. %s: previews only what the PR changed, though its base moved on',
    async (action) => {
      const { up, base, head } = prRepo();
      const p = await plan({
        dir: checkout(up, head),
        event: 'pull_request',
        payload: pullRequestEvent(action, { number: 42, base: { sha: base }, head: { sha: head } }),
      });
      expect(p.mode).toBe('preview');
      expect(actions(p)).toEqual({ 'alpha-pr-42': 'skip', 'beta-pr-42': 'preview', 'gamma-pr-42': 'skip' });
    },
  );

  it('23. a shallow checkout deepens until the merge base appears', async () => {
    const { up, base, head } = prRepo();
    const dir = checkout(up, head, 1);
    const p = await plan({
      dir,
      event: 'pull_request',
      payload: pullRequestEvent('synchronize', { number: 5, base: { sha: base }, head: { sha: head } }),
    });
    expect(actions(p)).toEqual({ 'alpha-pr-5': 'skip', 'beta-pr-5': 'preview', 'gamma-pr-5': 'skip' });
    expect(p.base).toBe(up.git('merge-base', base, head));
  });

  it('24. closed: every preview of the PR is deleted', async () => {
    const { up, base, head } = prRepo();
    const p = await plan({
      dir: checkout(up, head),
      event: 'pull_request',
      payload: pullRequestEvent('closed', {
        number: 42,
        base: { sha: base },
        head: { sha: head },
        merged: true,
      }),
    });
    expect(p.mode).toBe('cleanup');
    expect(actions(p)).toEqual({ 'alpha-pr-42': 'delete', 'beta-pr-42': 'delete', 'gamma-pr-42': 'delete' });
  });

  it('25. labeled: plans only', async () => {
    const { up, base, head } = prRepo();
    const p = await plan({
      dir: checkout(up, head),
      event: 'pull_request',
      payload: {
        ...pullRequestEvent('synchronize', { number: 42, base: { sha: base }, head: { sha: head } }),
        action: 'labeled',
      },
    });
    expect(p.dryRun).toBe(true);
    expect(Object.values(actions(p))).toEqual(['skip', 'skip', 'skip']);
  });

  it('26. a PR that removes a function deletes that preview', async () => {
    const up = upstream();
    const base = up.commit('two', { ...goFunction('alpha'), ...goFunction('beta') });
    up.git('checkout', '--quiet', '-b', 'feature');
    up.git('rm', '-r', '--quiet', 'functions/beta');
    const head = up.commit('drop beta');
    const p = await plan({
      dir: checkout(up, head),
      event: 'pull_request',
      payload: pullRequestEvent('synchronize', { number: 9, base: { sha: base }, head: { sha: head } }),
    });
    expect(actions(p)).toEqual({ 'alpha-pr-9': 'skip', 'beta-pr-9': 'delete' });
  });

  it('27. no history to be had: the compare API gives the PR diff', async () => {
    const { up, base, head } = prRepo();
    const dir = checkout(up, head, 1);
    execFileSync('git', ['remote', 'remove', 'origin'], { cwd: dir });
    github.state.setCompare({
      base,
      head,
      commits: [head],
      files: ['functions/beta/b.go', 'functions/beta/c.go'],
    });
    const p = await plan({
      dir,
      event: 'pull_request',
      payload: pullRequestEvent('opened', { number: 3, base: { sha: base }, head: { sha: head } }),
      compare,
    });
    expect(actions(p)).toEqual({ 'alpha-pr-3': 'skip', 'beta-pr-3': 'preview', 'gamma-pr-3': 'skip' });
  });
});

describe('workflow_dispatch', () => {
  function dispatchRepo() {
    const up = upstream();
    const sha = up.commit('three', { ...goFunction('alpha'), ...goFunction('beta'), ...goFunction('gamma') });
    return { dir: checkout(up, sha), sha };
  }

  it('28. input functions "alpha,gamma" deploys exactly those', async () => {
    const { dir, sha } = dispatchRepo();
    const p = await plan({
      dir,
      sha,
      event: 'workflow_dispatch',
      payload: workflowDispatchEvent(),
      settings: { functions: ['alpha', 'gamma'] },
    });
    expect(actions(p)).toEqual({ alpha: 'deploy', beta: 'skip', gamma: 'deploy' });
  });

  it('29. "all" deploys every function', async () => {
    const { dir, sha } = dispatchRepo();
    const p = await plan({
      dir,
      sha,
      event: 'workflow_dispatch',
      payload: workflowDispatchEvent(),
      settings: { functions: 'all' },
    });
    expect(actions(p)).toEqual({ alpha: 'deploy', beta: 'deploy', gamma: 'deploy' });
  });

  it("30. without the action input, the event's own functions input decides", async () => {
    const { dir, sha } = dispatchRepo();
    const p = await plan({
      dir,
      sha,
      event: 'workflow_dispatch',
      payload: workflowDispatchEvent({ inputs: { functions: 'beta' } }),
    });
    expect(actions(p)).toEqual({ alpha: 'skip', beta: 'deploy', gamma: 'skip' });
  });
});
