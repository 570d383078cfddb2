// GitHub Deployments per preview against the local GitHub server through the real @actions/github
// client: a transient environment per preview Service, success/failure statuses, inactive on close,
// and a warning (not a failure) without permission.
import { getOctokit } from '@actions/github';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGitHubServer, type GitHubServer } from '../../test/github/openapi-server.ts';
import { commentApiFromOctokit, deploymentApiFromOctokit, reportRun } from '../../src/report/index.ts';
import type { Plan } from '../../src/plan/types.ts';
import type { FunctionOutcome } from '../../src/report/outputs.ts';
import { outcomesFor, previewPlan } from '../../test/support/report-fixtures.ts';

const TOKEN = 'ghs_deployments_token';
const REPO = { owner: 'octo-org', name: 'functions' };
const HEAD = 'abcdef0123456789abcdef0123456789abcdef01';
const RUN_URL = 'https://github.com/octo-org/functions/actions/runs/77/attempts/1';

let gh: GitHubServer;
beforeEach(async () => {
  gh = await startGitHubServer({ token: TOKEN, repo: REPO });
  gh.state.addPullRequest({
    number: 9,
    head: { ref: 'feature', sha: HEAD },
    base: { ref: 'main', sha: 'e'.repeat(40) },
  });
  // Required status checks that a deployment would otherwise wait for.
  gh.state.addCommitStatus(HEAD, 'ci/test', 'pending');
});
afterEach(async () => {
  await gh.close();
});

async function report(plan: Plan, outcomes: FunctionOutcome[], runId: number) {
  const octokit = getOctokit(TOKEN, { baseUrl: gh.url });
  const warnings: string[] = [];
  const result = await reportRun({
    github: commentApiFromOctokit(octokit, REPO),
    deployments: deploymentApiFromOctokit(octokit, REPO),
    plan,
    outcomes,
    context: {
      run: { id: runId, attempt: 1 },
      runUrl: RUN_URL,
      repo: REPO,
      commit: HEAD,
      pullRequest: { number: 9, headRef: 'feature' },
      ingressAddress: '',
    },
    sink: {
      setOutput: () => undefined,
      writeSummary: () => Promise.resolve(),
      warning: (message) => warnings.push(message),
    },
    settleMs: 10,
  });
  return { ...result, logged: warnings };
}

describe('GitHub deployments for previews', () => {
  it('records each preview in its own transient environment with its URL, despite pending checks', async () => {
    const plan = previewPlan(9, { hello: 'changed', broken: 'changed', idle: 'unchanged' }, { head: HEAD });
    const outcomes = outcomesFor(plan, {
      failed: { broken: { reason: 'RevisionMissing: image pull failed' } },
    });
    const result = await report(plan, outcomes, 77);

    expect(result.warnings).toEqual([]);
    const creates = gh.callsTo('repos/create-deployment');
    expect(creates.map((r) => r.body)).toEqual([
      expect.objectContaining({
        ref: HEAD,
        environment: 'hello-pr-9',
        required_contexts: [],
        auto_merge: false,
      }),
      expect.objectContaining({ ref: HEAD, environment: 'broken-pr-9', transient_environment: true }),
    ]);
    expect(creates.map((r) => r.status)).toEqual([201, 201]);
    const byEnvironment = Object.fromEntries(
      gh.state.deployments.map((d) => [
        d.environment,
        d.statuses.map((s) => [s.state, s.environmentUrl, s.logUrl]),
      ]),
    );
    expect(byEnvironment).toEqual({
      'hello-pr-9': [['success', 'http://hello-pr-9.previews.example.com', RUN_URL]],
      'broken-pr-9': [['failure', '', RUN_URL]],
    });
    expect(gh.state.deployments.every((d) => !d.productionEnvironment && d.transientEnvironment)).toBe(true);
  });

  it('marks the previews inactive when the pull request closes', async () => {
    const open = previewPlan(9, { hello: 'changed' }, { head: HEAD });
    await report(open, outcomesFor(open), 77);
    const closed = previewPlan(9, { hello: 'unchanged' }, { mode: 'cleanup', head: HEAD });
    await report(closed, outcomesFor(closed), 78);

    const [deployment] = gh.state.deployments;
    expect(deployment?.statuses.map((s) => s.state)).toEqual(['success', 'inactive']);
    expect(gh.callsTo('repos/list-deployments')[0]?.query).toMatchObject({ environment: 'hello-pr-9' });
  });

  it('degrades to one warning without permission, and the comment is still written', async () => {
    gh.failNext('repos/create-deployment', 403);
    const plan = previewPlan(9, { hello: 'changed', world: 'changed' }, { head: HEAD });
    const result = await report(plan, outcomesFor(plan), 77);

    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain('403: Resource not accessible by integration');
    expect(result.logged).toEqual(result.warnings);
    expect(gh.callsTo('repos/create-deployment')).toHaveLength(1);
    expect(gh.state.deployments).toHaveLength(0);
    expect(result.commentId).toBeDefined();
    expect(gh.state.commentsOn(9)).toHaveLength(1);
  });
});
