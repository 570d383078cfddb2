// The sticky pull request comment against the local GitHub server (test/github), through the real
// @actions/github client: created once, edited in place, found on any page, one comment when runs
// race, a warning (not a failure) without permission, the closed state, hostile branch names.
import { getOctokit } from '@actions/github';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGitHubServer, type GitHubServer } from '../../test/github/openapi-server.ts';
import { pullRequestEvent } from '../../test/github/events.ts';
import type { Plan } from '../../src/plan/types.ts';
import {
  commentApiFromOctokit,
  reportRun,
  type CommentApi,
  type ReportContext,
  type ReportSink,
} from '../../src/report/index.ts';
import type { FunctionOutcome } from '../../src/report/outputs.ts';
import { COMMENT_MARKER, decodeState } from '../../src/report/state.ts';
import { DIGEST, outcomesFor, previewPlan } from '../../test/support/report-fixtures.ts';
import { bundleReportStep, runReportStep } from '../../test/support/report-runner.ts';

const TOKEN = 'ghs_report_test_token';
const REPO = { owner: 'octo-org', name: 'functions' };
const PR = 7;
const COMMIT_1 = '1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const COMMIT_2 = '2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

interface MemorySink extends ReportSink {
  outputs: Record<string, string>;
  summaries: string[];
  warnings: string[];
}

function memorySink(): MemorySink {
  const sink: MemorySink = {
    outputs: {},
    summaries: [],
    warnings: [],
    setOutput(name, value) {
      sink.outputs[name] = value;
    },
    writeSummary(markdown) {
      sink.summaries.push(markdown);
      return Promise.resolve();
    },
    warning(message) {
      sink.warnings.push(message);
    },
  };
  return sink;
}

let gh: GitHubServer;

beforeEach(async () => {
  gh = await startGitHubServer({ token: TOKEN, repo: REPO });
  gh.state.addPullRequest({
    number: PR,
    head: { ref: 'feature', sha: COMMIT_2 },
    base: { ref: 'main', sha: 'c'.repeat(40) },
  });
});

afterEach(async () => {
  await gh.close();
});

/** A CommentApi over a fresh octokit client, as each workflow run builds its own. */
function api(): CommentApi {
  return commentApiFromOctokit(getOctokit(TOKEN, { baseUrl: gh.url }), REPO);
}

function context(runId: number, commit: string, extra: Partial<ReportContext> = {}): ReportContext {
  return {
    run: { id: runId, attempt: 1 },
    runUrl: `https://github.com/${REPO.owner}/${REPO.name}/actions/runs/${runId}/attempts/1`,
    serverUrl: 'https://github.com',
    repo: REPO,
    commit,
    pullRequest: { number: PR, headRef: 'feature' },
    ingressAddress: '203.0.113.10',
    now: new Date('2025-06-01T12:34:56Z'),
    ...extra,
  };
}

async function report(
  runId: number,
  commit: string,
  plan: Plan,
  outcomes: FunctionOutcome[],
  extra: Partial<ReportContext> = {},
): Promise<{ commentId?: number; sink: MemorySink; warnings: string[] }> {
  const sink = memorySink();
  const result = await reportRun({
    github: api(),
    plan: { ...plan, head: commit },
    outcomes,
    context: context(runId, commit, extra),
    sink,
    settleMs: 30,
  });
  return { ...result, sink };
}

const comments = () => gh.state.commentsOn(PR);
const onlyComment = () => {
  const list = comments().filter((c) => c.body.startsWith(COMMENT_MARKER));
  expect(list).toHaveLength(1);
  const [comment] = list;
  if (!comment) throw new Error('no comment with the marker');
  return comment;
};

describe('the pull request comment', () => {
  it('is created on the first run with a row, curl examples in both forms and hidden state', async () => {
    const plan = previewPlan(PR, { hello: 'changed', broken: 'changed', idle: 'unchanged' });
    const outcomes = outcomesFor(plan, {
      failed: {
        broken: {
          reason: 'RevisionFailed: Container failed with: exec /usr/bin/fwatchdog: exec format error',
          logTail: 'step 1/9\nstep 2/9\nerror: go build failed: undefined: Handle',
        },
      },
    });
    const result = await report(100, COMMIT_1, plan, outcomes);

    expect(gh.callsTo('issues/create-comment')).toHaveLength(1);
    const comment = onlyComment();
    expect(result.commentId).toBe(comment.id);
    expect(result.sink.outputs['comment-id']).toBe(String(comment.id));
    expect(result.warnings).toEqual([]);
    const body = comment.body;
    expect(body.startsWith(COMMENT_MARKER)).toBe(true);
    expect(body).toContain(
      `| hello | ✅ ready | <http://hello-pr-7.previews.example.com> | \`sha256:${DIGEST('hello').slice(7, 19)}\` | 42s | 2025-06-01 12:34 |`,
    );
    expect(body).toMatch(
      /\| broken \| ❌ failed: RevisionFailed: Container failed with: exec \/usr\/bin\/fwatchdog/,
    );
    expect(body).toContain("curl -d 'hello' http://hello-pr-7.previews.example.com\n");
    expect(body).toContain(
      'curl -H "Host: hello-pr-7.previews.example.com" http://203.0.113.10 -d \'hello\'',
    );
    expect(body).not.toContain('Host: broken-pr-7');
    expect(body).toContain('error: go build failed: undefined: Handle');
    expect(body).toContain('1 function that this pull request does not change has no preview.');
    expect(body).toContain('commit `1111111`');
    const state = decodeState(body);
    expect(state?.run).toEqual({ id: 100, attempt: 1 });
    expect(state?.rows.map((row) => [row.name, row.status])).toEqual([
      ['hello', 'ready'],
      ['broken', 'failed'],
    ]);
    // The summary links the comment and carries the same rows.
    expect(result.sink.summaries[0]).toContain(
      `Pull request comment: <https://github.com/octo-org/functions/pull/7#issuecomment-${comment.id}>`,
    );
    expect(result.sink.summaries[0]).toContain('| hello | hello-pr-7 | preview | ✅ ready |');
  });

  it('is edited in place by the next run, keeping unchanged functions from its state', async () => {
    const first = previewPlan(PR, { hello: 'changed', world: 'changed' });
    const firstRun = await report(100, COMMIT_1, first, outcomesFor(first));
    const second = previewPlan(PR, { hello: 'changed', world: 'unchanged' });
    const secondOutcomes = outcomesFor(second).map((o) =>
      o.name === 'hello' ? { ...o, buildSeconds: 7, updatedAt: '2025-06-02T08:00:00Z' } : o,
    );
    const secondRun = await report(101, COMMIT_2, second, secondOutcomes, {
      now: new Date('2025-06-02T08:00:30Z'),
    });

    expect(gh.callsTo('issues/create-comment')).toHaveLength(1);
    expect(gh.callsTo('issues/update-comment')).toHaveLength(1);
    const comment = onlyComment();
    expect(secondRun.commentId).toBe(firstRun.commentId);
    expect(comment.id).toBe(firstRun.commentId);
    expect(comment.body).toContain('commit `2222222`');
    expect(comment.body).toContain('| hello | ✅ ready | <http://hello-pr-7.previews.example.com> |');
    expect(comment.body).toContain('| 7s | 2025-06-02 08:00 |');
    // world: the row of the first run, its time and build, marked unchanged since the first commit.
    expect(comment.body).toContain(
      '| world | ✅ ready (unchanged since `1111111`) | <http://world-pr-7.previews.example.com> |',
    );
    expect(comment.body).toMatch(/\| world \| .* \| 42s \| 2025-06-01 12:34 \|/);
    expect(comment.body).toContain("curl -d 'hello' http://world-pr-7.previews.example.com");
    expect(decodeState(comment.body)?.run.id).toBe(101);
  });

  it('finds its comment on page 2 of 150 comments and edits it', async () => {
    for (let i = 0; i < 120; i++)
      gh.state.addComment(PR, `Looks good ${i}`, { user: { login: 'reviewer', id: 77, type: 'User' } });
    // A comment with the marker by someone without write access is neither read nor edited.
    const forged = gh.state.addComment(PR, `${COMMENT_MARKER}\nforged`, {
      user: { login: 'drive-by', id: 78, type: 'User' },
      authorAssociation: 'CONTRIBUTOR',
    });
    const plan = previewPlan(PR, { hello: 'changed' });
    const ours = gh.state.addComment(PR, `${COMMENT_MARKER}\nold text`);
    for (let i = 0; i < 28; i++)
      gh.state.addComment(PR, `More ${i}`, { user: { login: 'reviewer', id: 77, type: 'User' } });
    expect(comments()).toHaveLength(150);
    expect(comments().indexOf(ours)).toBeGreaterThanOrEqual(100);

    const result = await report(100, COMMIT_1, plan, outcomesFor(plan));

    expect(result.commentId).toBe(ours.id);
    const pages = gh.callsTo('issues/list-comments').map((r) => r.query['page'] ?? '1');
    expect(pages).toContain('2');
    expect(gh.callsTo('issues/create-comment')).toHaveLength(0);
    expect(gh.callsTo('issues/update-comment').map((r) => r.params['comment_id'])).toEqual([ours.id]);
    expect(comments()).toHaveLength(150);
    expect(ours.body).toContain('| hello | ✅ ready |');
    expect(forged.body).toBe(`${COMMENT_MARKER}\nforged`);
  });

  it('says the previews were removed when the pull request closes', async () => {
    const open = previewPlan(PR, { hello: 'changed', world: 'changed' });
    await report(100, COMMIT_1, open, outcomesFor(open));
    const closed = previewPlan(PR, { hello: 'unchanged', world: 'unchanged' }, { mode: 'cleanup' });
    const result = await report(102, COMMIT_2, closed, outcomesFor(closed), {
      pullRequest: { number: PR, headRef: 'feature', merged: true },
    });

    const comment = onlyComment();
    expect(result.commentId).toBe(comment.id);
    expect(comment.body).toContain('### 🧹 Function previews removed');
    expect(comment.body).toContain('This pull request was merged, so its previews were removed.');
    expect(comment.body).toContain('| hello | 🗑️ deleted | — |');
    expect(comment.body).not.toContain('curl ');
    expect(decodeState(comment.body)?.closed).toBe(true);

    // A late run for an older push does not bring the previews back into the comment.
    const late = previewPlan(PR, { hello: 'changed' });
    const lateRun = await report(101, COMMIT_1, late, outcomesFor(late));
    expect(lateRun.commentId).toBe(comment.id);
    expect(onlyComment().body).toContain('### 🧹 Function previews removed');
  });

  it('does not start a comment for a pull request that never had previews', async () => {
    const closed = previewPlan(PR, { hello: 'unchanged' }, { mode: 'cleanup' });
    const closing = await report(100, COMMIT_1, closed, outcomesFor(closed));
    const quiet = previewPlan(PR, { hello: 'unchanged' });
    const nothing = await report(101, COMMIT_1, quiet, outcomesFor(quiet));
    expect(closing.commentId).toBeUndefined();
    expect(nothing.commentId).toBeUndefined();
    expect(gh.callsTo('issues/create-comment')).toHaveLength(0);
    expect(nothing.sink.outputs['comment-id']).toBe('');
  });

  it('renders a hostile branch name and error message harmlessly', async () => {
    const branch = 'x|y</td><script>alert(1)</script>`rm -rf`@someone[a](http://evil.example)';
    const plan = previewPlan(PR, { hello: 'changed' });
    const outcomes = outcomesFor(plan, {
      failed: {
        hello: { reason: '| @admin <img src=x onerror=alert(1)> ``` [click](javascript:alert(1)) #1' },
      },
    });
    await report(100, COMMIT_1, plan, outcomes, { pullRequest: { number: PR, headRef: branch } });
    const body = onlyComment().body;

    const branchLine = body.split('\n').find((line) => line.startsWith('Branch ')) ?? '';
    const untrusted = branchLine.slice(0, branchLine.indexOf(' · commit '));
    const row = body.split('\n').find((line) => line.startsWith('| hello |')) ?? '';
    const details = body.split('\n').find((line) => line.startsWith('**hello**:')) ?? '';
    for (const text of [untrusted, row, details]) {
      expect(text).not.toBe('');
      for (const raw of [
        '<script>',
        '</td>',
        '<img',
        '`',
        '@someone',
        '@admin',
        '](',
        '|y',
        '| @',
        'http://',
      ])
        expect(text).not.toContain(raw);
      // An issue reference: '#' and a digit, outside our own numeric entities.
      expect(text).not.toMatch(/(^|[^&])#\d/);
    }
    expect(untrusted).toBe(
      'Branch x&#124;y&#60;/td&#62;&#60;script&#62;alert&#40;1&#41;&#60;/script&#62;&#96;rm -rf&#96;@\u200bsomeone&#91;a&#93;&#40;http:\u200b//evil.example&#41;',
    );
    // The table row still has exactly its six cells.
    expect(row.split(/(?<!\\)\|/).length - 2).toBe(6);
  });
});

describe('two runs for the same pull request at the same time', () => {
  it('leave one comment with the newer commit when both create at once (either finishing first)', async () => {
    for (const newerFirst of [true, false]) {
      gh.state.comments.clear();
      const gate = gh.gate('issues/create-comment', { releaseAt: 2 });
      const plan = previewPlan(PR, { hello: 'changed' });
      const older = report(200, COMMIT_1, plan, outcomesFor(plan));
      const newer = report(201, COMMIT_2, plan, outcomesFor(plan));
      await gate.waitFor(2);
      const [a, b] = newerFirst ? [await newer, await older] : [await older, await newer];
      expect(a.warnings).toEqual([]);
      expect(b.warnings).toEqual([]);
      const comment = onlyComment();
      expect(comments()).toHaveLength(1);
      expect(decodeState(comment.body)?.run.id).toBe(201);
      expect(comment.body).toContain('commit `2222222`');
      expect(a.commentId).toBe(comment.id);
      expect(b.commentId).toBe(comment.id);
      expect(gh.callsTo('issues/delete-comment').length).toBeGreaterThanOrEqual(1);
    }
  });

  it('ends on the newer run when the older run edits last (the race a check-then-write leaves)', async () => {
    const plan = previewPlan(PR, { hello: 'changed' });
    await report(150, COMMIT_1, plan, outcomesFor(plan));
    const updatesBefore = gh.callsTo('issues/update-comment').length;

    // Hold both edits; the newer run's edit was held first, so it lands first and the older one
    // overwrites it. Only the newer run's check after its write can repair that.
    const gate = gh.gate('issues/update-comment');
    const newer = report(301, COMMIT_2, plan, outcomesFor(plan));
    await gate.waitFor(1);
    const older = report(300, COMMIT_1, plan, outcomesFor(plan));
    await gate.waitFor(2);
    gate.release();
    const [newerResult, olderResult] = await Promise.all([newer, older]);

    const comment = onlyComment();
    expect(decodeState(comment.body)?.run.id).toBe(301);
    expect(comment.body).toContain('commit `2222222`');
    expect(newerResult.commentId).toBe(comment.id);
    expect(olderResult.commentId).toBe(comment.id);
    const updates = gh.callsTo('issues/update-comment').slice(updatesBefore);
    // Both edits landed and the newer run wrote again after finding the older one's.
    expect(updates.map((r) => decodeState((r.body as { body: string }).body)?.run.id)).toEqual([
      301, 300, 301,
    ]);
  });

  it('hold up as two separate processes, each a bundled report step', async () => {
    const bundle = await bundleReportStep();
    const gate = gh.gate('issues/create-comment', { releaseAt: 2 });
    const plan = previewPlan(PR, { hello: 'changed' });
    const step = (runId: number, commit: string) =>
      runReportStep({
        bundle,
        apiUrl: gh.url,
        eventName: 'pull_request',
        payload: pullRequestEvent('synchronize', { number: PR, head: { sha: commit } }),
        plan: { ...plan, head: commit },
        outcomes: outcomesFor(plan),
        inputs: { 'github-token': TOKEN, 'ingress-address': '' },
        env: {
          GITHUB_RUN_ID: String(runId),
          GITHUB_RUN_ATTEMPT: '1',
          GITHUB_REPOSITORY: 'octo-org/functions',
        },
      });
    const [older, newer] = await Promise.all([step(400, COMMIT_1), step(401, COMMIT_2)]);
    expect(gate.held).toBe(2);
    expect([older.code, newer.code]).toEqual([0, 0]);
    const comment = onlyComment();
    expect(decodeState(comment.body)?.run).toEqual({ id: 401, attempt: 1 });
    expect(older.outputs['comment-id']).toBe(String(comment.id));
    expect(newer.outputs['comment-id']).toBe(String(comment.id));
    // No ingress address: the Host-header form keeps a placeholder and says how to find the address.
    expect(comment.body).toContain(
      'curl -H "Host: hello-pr-7.previews.example.com" http://<ingress-address>',
    );
    expect(comment.body).toContain('kubectl --namespace kourier-system get service kourier');
  });
});

describe('a token without permission to comment', () => {
  it('gives a warning, the summary and exit code 0', async () => {
    const bundle = await bundleReportStep();
    gh.failNext('issues/create-comment', 403);
    const plan = previewPlan(PR, { hello: 'changed' });
    const run = await runReportStep({
      bundle,
      apiUrl: gh.url,
      eventName: 'pull_request',
      payload: pullRequestEvent('opened', { number: PR, head: { sha: COMMIT_1 } }),
      plan: { ...plan, head: COMMIT_1 },
      outcomes: outcomesFor(plan),
      inputs: { 'github-token': TOKEN, 'ingress-address': '203.0.113.10' },
      env: { GITHUB_RUN_ID: '500', GITHUB_RUN_ATTEMPT: '1', GITHUB_REPOSITORY: 'octo-org/functions' },
    });

    expect(run.code).toBe(0);
    expect(gh.callsTo('issues/create-comment').map((r) => r.status)).toEqual([403]);
    expect(comments()).toHaveLength(0);
    const warning = run.stdout.split('\n').find((line) => line.startsWith('::warning::')) ?? '';
    expect(warning).toContain(
      'Could not write the pull request comment (403: Resource not accessible by integration',
    );
    expect(warning).toContain('pull-requests: write');
    expect(run.stdout).not.toContain('::error');
    expect(run.outputs['comment-id']).toBe('');
    expect(JSON.parse(run.outputs['urls'] ?? '{}')).toEqual({
      hello: 'http://hello-pr-7.previews.example.com',
    });
    expect(run.summary).toContain(
      '| hello | hello-pr-7 | preview | ✅ ready | <http://hello-pr-7.previews.example.com> |',
    );
    expect(run.summary).toContain('> [!WARNING]');
    expect(run.summary).toContain('Resource not accessible by integration');
    // The token never reaches the summary or the comment request.
    expect(run.summary).not.toContain(TOKEN);
  });
});
