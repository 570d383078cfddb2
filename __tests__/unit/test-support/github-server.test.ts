// The local GitHub used by faas-deploy's tests: exercised with the real @actions/github client so that
// routing, validation, pagination and error shapes are the ones octokit sees against api.github.com.
import { getOctokit } from '@actions/github';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGitHubServer, type GitHubServer } from '../../../test/github/openapi-server.ts';
import { validateComponent, validateResponse } from '../../../test/github/schema.ts';
import { matchRoute } from '../../../test/github/spec.ts';

const TOKEN = 'ghs_test';
const owner = 'octo-org';
const repo = 'functions';
const BASE_SHA = 'a'.repeat(40);
const HEAD_SHA = 'b'.repeat(40);

type Octokit = ReturnType<typeof getOctokit>;

function sha(n: number): string {
  return n.toString(16).padStart(40, '0');
}

async function rejection(
  p: Promise<unknown>,
): Promise<{ status: number; message: string; response?: { data: unknown } }> {
  try {
    await p;
  } catch (error) {
    return error as { status: number; message: string; response?: { data: unknown } };
  }
  throw new Error('expected the request to fail');
}

let gh: GitHubServer;
let octokit: Octokit;
let startupMs: number;

beforeAll(async () => {
  const started = performance.now();
  // The first server in a process pays for reading the spec; later ones start in milliseconds.
  const first = await startGitHubServer({ token: TOKEN, repo: { owner, name: repo } });
  startupMs = performance.now() - started;
  await first.close();
});

beforeEach(async () => {
  gh = await startGitHubServer({ token: TOKEN, repo: { owner, name: repo } });
  gh.state.addPullRequest({
    number: 7,
    head: { ref: 'feature/x', sha: HEAD_SHA },
    base: { ref: 'main', sha: BASE_SHA },
  });
  octokit = getOctokit(TOKEN, { baseUrl: gh.url });
});

afterEach(async () => {
  await gh.close(); // also fails the test if the fake answered outside the schema
});

afterAll(() => {
  console.info(`github server startup incl. spec load: ${startupMs.toFixed(0)} ms`);
});

describe('issue comments', () => {
  it('creates, reads, updates and deletes a comment', async () => {
    const created = await octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: 7,
      body: '<!-- faas-deploy -->\nhello',
    });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(created.data.url);
    expect(created.data).toMatchObject({
      body: '<!-- faas-deploy -->\nhello',
      user: { login: 'github-actions[bot]', type: 'Bot' },
      author_association: 'NONE',
      issue_url: `${gh.url}/repos/${owner}/${repo}/issues/7`,
      html_url: `https://github.com/${owner}/${repo}/pull/7#issuecomment-${created.data.id}`,
    });

    const id = created.data.id;
    const updated = await octokit.rest.issues.updateComment({ owner, repo, comment_id: id, body: 'edited' });
    expect(updated.data.body).toBe('edited');
    expect((await octokit.rest.issues.getComment({ owner, repo, comment_id: id })).data.body).toBe('edited');
    expect(gh.state.commentsOn(7).map((c) => c.body)).toEqual(['edited']);

    expect((await octokit.rest.issues.deleteComment({ owner, repo, comment_id: id })).status).toBe(204);
    const gone = await rejection(octokit.rest.issues.getComment({ owner, repo, comment_id: id }));
    expect(gone.status).toBe(404);
    expect(gh.requests.map((r) => `${r.method} ${r.operationId} ${r.status}`)).toEqual([
      'POST issues/create-comment 201',
      'PATCH issues/update-comment 200',
      'GET issues/get-comment 200',
      'DELETE issues/delete-comment 204',
      'GET issues/get-comment 404',
    ]);
  });

  it('paginates past 100 comments with the Link header octokit follows', async () => {
    for (let i = 1; i <= 130; i++)
      gh.state.addComment(7, `comment ${i}`, { user: { login: 'octocat', id: 583231, type: 'User' } });
    const all = await octokit.paginate(octokit.rest.issues.listComments, {
      owner,
      repo,
      issue_number: 7,
      per_page: 100,
    });
    expect(all).toHaveLength(130);
    expect(all[0]?.body).toBe('comment 1');
    expect(all[129]?.body).toBe('comment 130');

    const calls = gh.callsTo('issues/list-comments');
    expect(calls.map((c) => [c.path, c.query])).toEqual([
      [`/repos/${owner}/${repo}/issues/7/comments`, { per_page: '100' }],
      [`/repositories/${gh.state.repo.id}/issues/7/comments`, { per_page: '100', page: '2' }],
    ]);
  });

  it('writes Link exactly as GitHub does: prev, next, last, first', async () => {
    for (let i = 1; i <= 95; i++) gh.state.addComment(7, `c${i}`);
    const middle = await octokit.rest.issues.listComments({
      owner,
      repo,
      issue_number: 7,
      per_page: 30,
      page: 2,
    });
    const base = `${gh.url}/repositories/${gh.state.repo.id}/issues/7/comments`;
    expect(middle.headers.link).toBe(
      `<${base}?per_page=30&page=1>; rel="prev", <${base}?per_page=30&page=3>; rel="next", ` +
        `<${base}?per_page=30&page=4>; rel="last", <${base}?per_page=30&page=1>; rel="first"`,
    );
    expect(middle.data.map((c) => c.body)).toEqual(Array.from({ length: 30 }, (_, i) => `c${i + 31}`));
    const single = await octokit.rest.issues.listComments({ owner, repo, issue_number: 7, per_page: 100 });
    expect(single.headers.link).toBeUndefined();
    const capped = await octokit.rest.issues.listComments({ owner, repo, issue_number: 7, per_page: 500 });
    expect(capped.data).toHaveLength(95); // per_page above 100 is read as 100
    expect((await octokit.rest.issues.listComments({ owner, repo, issue_number: 7 })).data).toHaveLength(30);
  });

  it('returns body_text and body_html for the full media type', async () => {
    const c = gh.state.addComment(7, '<!-- marker -->\n**bold** & more');
    const res = await octokit.rest.issues.getComment({
      owner,
      repo,
      comment_id: c.id,
      mediaType: { format: 'full' },
    });
    expect(res.data.body).toBe('<!-- marker -->\n**bold** & more');
    expect(res.data.body_text).toBe('\n**bold** & more');
    expect(res.data.body_html).toContain('&amp; more');
  });

  it('rejects a create-comment without body, or with a number, with 422 and GitHub’s error shape', async () => {
    const missing = await rejection(
      octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner,
        repo,
        issue_number: 7,
      } as never),
    );
    expect(missing.status).toBe(422);
    expect(missing.response?.data).toEqual({
      message: 'Invalid request.\n\n"body" wasn\'t supplied.',
      documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
      status: '422',
    });

    const wrongType = await rejection(
      octokit.rest.issues.createComment({ owner, repo, issue_number: 7, body: 42 as unknown as string }),
    );
    expect(wrongType.status).toBe(422);
    expect(wrongType.message).toContain("For 'properties/body', 42 is not a string.");
    expect(gh.state.commentsOn(7)).toHaveLength(0);
    expect(gh.callsTo('issues/create-comment').map((r) => r.status)).toEqual([422, 422]);
  });

  it('answers 400 to a body that is not JSON', async () => {
    const res = await fetch(`${gh.url}/repos/${owner}/${repo}/issues/7/comments`, {
      method: 'POST',
      headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"body": ',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ message: 'Problems parsing JSON' });
  });

  it('rejects wrongly typed query parameters but ignores unknown ones', async () => {
    const bad = await rejection(
      octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner,
        repo,
        issue_number: 7,
        per_page: 'many' as unknown as number,
      }),
    );
    expect(bad.status).toBe(422);
    expect(bad.message).toContain('For \'per_page\', "many" is not an integer.');
    const ok = await octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
      owner,
      repo,
      issue_number: 7,
      sort_by_mood: 'happy',
    });
    expect(ok.status).toBe(200);
  });

  it('comments on an issue that does not exist are 404', async () => {
    const res = await rejection(
      octokit.rest.issues.createComment({ owner, repo, issue_number: 99, body: 'x' }),
    );
    expect(res.status).toBe(404);
  });
});

describe('authentication, routing and headers', () => {
  it('answers 401 Bad credentials for a wrong token and Requires authentication without one', async () => {
    const wrong = getOctokit('ghs_wrong', { baseUrl: gh.url });
    const bad = await rejection(wrong.rest.issues.listComments({ owner, repo, issue_number: 7 }));
    expect(bad.status).toBe(401);
    expect(bad.response?.data).toEqual({
      message: 'Bad credentials',
      documentation_url: 'https://docs.github.com/rest',
      status: '401',
    });

    const anonymous = await fetch(`${gh.url}/repos/${owner}/${repo}/issues/7/comments`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ message: 'Requires authentication' });

    const bearer = await fetch(`${gh.url}/repos/${owner}/${repo}/issues/7/comments`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(bearer.status).toBe(200);
  });

  it('answers 404 for unknown paths, wrong methods, other repositories and non-numeric ids', async () => {
    expect((await rejection(octokit.request('GET /definitely/not/github'))).status).toBe(404);
    expect((await rejection(octokit.request(`PUT /repos/${owner}/${repo}/issues/7/comments`))).status).toBe(
      404,
    );
    expect(
      (await rejection(octokit.rest.issues.listComments({ owner: 'someone', repo: 'else', issue_number: 7 })))
        .status,
    ).toBe(404);
    expect(
      (await rejection(octokit.request(`GET /repos/${owner}/${repo}/issues/seven/comments`))).status,
    ).toBe(404);
    expect(gh.requests.map((r) => r.operationId)).toEqual([
      undefined,
      undefined,
      'issues/list-comments',
      'issues/list-comments',
    ]);
  });

  it('answers 501 naming an operation it does not implement, after validating it', async () => {
    const res = await rejection(octokit.rest.repos.get({ owner, repo }));
    expect(res.status).toBe(501);
    expect(res.message).toContain('repos/get');
    const invalid = await rejection(
      octokit.request('POST /repos/{owner}/{repo}/issues', { owner, repo } as never),
    );
    expect(invalid.status).toBe(422); // issues/create without title: validation comes before the 501
  });

  it('accepts GitHub’s API versions and media types, rejects unknown versions', async () => {
    const v = await octokit.rest.issues.listComments({
      owner,
      repo,
      issue_number: 7,
      headers: { 'x-github-api-version': '2022-11-28', accept: 'application/vnd.github+json' },
    });
    expect(v.headers['x-github-api-version-selected']).toBe('2022-11-28');
    const old = await rejection(
      octokit.rest.issues.listComments({
        owner,
        repo,
        issue_number: 7,
        headers: { 'x-github-api-version': '2019-01-01' },
      }),
    );
    expect(old.status).toBe(400);
    const diff = await rejection(
      octokit.rest.repos.compareCommitsWithBasehead({
        owner,
        repo,
        basehead: 'main...feature/x',
        mediaType: { format: 'diff' },
      }),
    );
    expect(diff.status).toBe(501);
  });

  it('matches literal segments before templated ones and reports compare aliases', () => {
    const literal = matchRoute('GET', '/repos/o/r/issues/comments');
    expect(literal && 'operation' in literal ? literal.operation.operationId : literal).toBe(
      'issues/list-comments-for-repo',
    );
    const cmp = matchRoute('GET', '/repos/o/r/compare/a...b');
    expect(cmp && 'operation' in cmp ? [cmp.operation.operationId, cmp.aliases] : cmp).toEqual([
      'repos/compare-commits-with-basehead',
      ['repos/compare-commits'],
    ]);
    expect(matchRoute('PUT', '/repos/o/r/issues/7/comments')).toEqual({ methodNotAllowed: true });
    expect(matchRoute('GET', '/nope')).toBeUndefined();
  });
});

describe('response validation', () => {
  it('catches a missing required field, a wrong type and an undeclared field', async () => {
    const created = await octokit.rest.issues.createComment({ owner, repo, issue_number: 7, body: 'x' });
    const good = created.data as unknown as Record<string, unknown>;
    expect(validateResponse('issues/get-comment', 200, good)).toEqual([]);

    const missing = { ...good };
    delete missing.node_id;
    expect(validateResponse('issues/get-comment', 200, missing).map((e) => e.message)).toContain(
      "must have required property 'node_id'",
    );
    const wrongType = { ...good, created_at: 'yesterday' };
    expect(validateResponse('issues/get-comment', 200, wrongType).map((e) => e.path)).toContain(
      '/created_at',
    );
    const extra = { ...good, html_ur: 'typo' };
    expect(
      validateResponse('issues/get-comment', 200, extra).map((e) => e.params.unevaluatedProperty),
    ).toContain('html_ur');
    expect(validateResponse('issues/get-comment', 200, extra, { closed: false })).toEqual([]);
    const userWithoutLogin = { ...good, user: { ...(good.user as object), login: undefined } };
    expect(
      validateComponent('issue-comment', JSON.parse(JSON.stringify(userWithoutLogin))).length,
    ).toBeGreaterThan(0);
  });

  it('closes allOf compositions at the parent, so fields from every member are allowed and no others', () => {
    const v = {
      version_id: 1,
      actor: { id: 1, type: 'User' },
      updated_at: '2024-01-01T00:00:00Z',
      state: {},
    };
    expect(validateComponent('ruleset-version-with-state', v)).toEqual([]);
    expect(
      validateComponent('ruleset-version-with-state', { ...v, extra: 1 }).map(
        (e) => e.params.unevaluatedProperty,
      ),
    ).toEqual(['extra']);
    expect(validateComponent('ruleset-version-with-state', { ...v, extra: 1 }, { closed: false })).toEqual(
      [],
    );
  });

  it('flags an undocumented success status', () => {
    expect(validateResponse('issues/create-comment', 200, {}).map((e) => e.message)).toEqual([
      'status 200 is not documented for issues/create-comment',
    ]);
  });
});

describe('failure injection', () => {
  it('failNext answers once with 403 Resource not accessible by integration', async () => {
    gh.failNext('issues/create-comment', 403);
    const denied = await rejection(
      octokit.rest.issues.createComment({ owner, repo, issue_number: 7, body: 'x' }),
    );
    expect(denied.status).toBe(403);
    expect(denied.message).toContain('Resource not accessible by integration');
    expect(gh.state.commentsOn(7)).toHaveLength(0);
    const ok = await octokit.rest.issues.createComment({ owner, repo, issue_number: 7, body: 'x' });
    expect(ok.status).toBe(201);
  });

  it('refuses to inject a body the operation could not return', () => {
    expect(() => {
      gh.failNext('issues/create-comment', 422, { errors: 'nope' });
    }).toThrow(/does not fit/);
    expect(() => {
      gh.failNext('issues/no-such-thing', 500);
    }).toThrow(/unknown operationId/);
  });
});

describe('races', () => {
  it('a gate holds two find-or-create writers so both miss the other’s comment', async () => {
    const gate = gh.gate('issues/list-comments', { releaseAt: 2 });
    const writer = async (body: string): Promise<void> => {
      const existing = await octokit.rest.issues.listComments({ owner, repo, issue_number: 7 });
      const mine = existing.data.find((c) => c.body?.startsWith('<!-- sticky -->'));
      if (mine) await octokit.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
      else await octokit.rest.issues.createComment({ owner, repo, issue_number: 7, body });
    };
    await Promise.all([writer('<!-- sticky -->\nrun 1'), writer('<!-- sticky -->\nrun 2')]);
    expect(gate.held).toBe(2);
    expect(gh.state.commentsOn(7)).toHaveLength(2); // the race the real action must survive
  });

  it('waitFor/release lets a test step through, and latency delays handlers', async () => {
    gh.setLatency('issues/get-comment', 50);
    const c = gh.state.addComment(7, 'x');
    const gate = gh.gate('issues/update-comment');
    const update = octokit.rest.issues.updateComment({ owner, repo, comment_id: c.id, body: 'y' });
    await gate.waitFor(1);
    expect(gh.state.commentsOn(7)[0]?.body).toBe('x');
    gate.release();
    await update;
    expect(gh.state.commentsOn(7)[0]?.body).toBe('y');
    const t = performance.now();
    await octokit.rest.issues.getComment({ owner, repo, comment_id: c.id });
    expect(performance.now() - t).toBeGreaterThanOrEqual(45);
  });
});

describe('concurrency', () => {
  it('concurrency: 1 serialises handlers, so two delayed requests take twice the latency', async () => {
    const serial = await startGitHubServer({
      token: TOKEN,
      repo: { owner, name: repo },
      concurrency: 1,
      latencyMs: 40,
    });
    try {
      serial.state.addIssue(3);
      const client = getOctokit(TOKEN, { baseUrl: serial.url });
      // Compile the validators first, so the timing below is the handlers' latency alone.
      await client.rest.issues.createComment({ owner, repo, issue_number: 3, body: 'warm-up' });
      serial.state.comments.clear();
      const t = performance.now();
      await Promise.all([
        client.rest.issues.createComment({ owner, repo, issue_number: 3, body: 'a' }),
        client.rest.issues.createComment({ owner, repo, issue_number: 3, body: 'b' }),
      ]);
      expect(performance.now() - t).toBeGreaterThanOrEqual(75);
      expect(
        serial.state
          .commentsOn(3)
          .map((c) => c.body)
          .sort(),
      ).toEqual(['a', 'b']);
    } finally {
      await serial.close();
    }
  });
});

describe('pull requests', () => {
  it('returns a seeded pull request with fork information', async () => {
    gh.state.addPullRequest({
      number: 8,
      head: { ref: 'patch-1', sha: sha(8), repo: { owner: 'outsider', name: 'functions' } },
      base: { ref: 'main', sha: BASE_SHA },
    });
    const pr = await octokit.rest.pulls.get({ owner, repo, pull_number: 8 });
    expect(pr.data.head.repo.fork).toBe(true);
    expect(pr.data.head.repo.full_name).toBe('outsider/functions');
    expect(pr.data.head.label).toBe('outsider:patch-1');
    expect(pr.data.base.repo.full_name).toBe(`${owner}/${repo}`);
    expect((await rejection(octokit.rest.pulls.get({ owner, repo, pull_number: 9 }))).status).toBe(404);
  });
});

describe('compare', () => {
  beforeEach(() => {
    gh.state.setCompare({
      base: 'main',
      head: 'feature/x',
      commits: Array.from({ length: 260 }, (_, i) => sha(1000 + i)),
      files: Array.from({ length: 320 }, (_, i) => `functions/f${i}/main.go`),
    });
  });

  it('without paging: the newest 250 commits and at most 300 files', async () => {
    const res = await octokit.rest.repos.compareCommitsWithBasehead({
      owner,
      repo,
      basehead: 'main...feature/x',
    });
    expect(res.data.total_commits).toBe(260);
    expect(res.data.status).toBe('ahead');
    expect(res.data.commits).toHaveLength(250);
    expect(res.data.commits.at(-1)?.sha).toBe(sha(1259));
    expect(res.data.files).toHaveLength(300);
    expect(res.headers.link).toBeUndefined();
  });

  it('with paging: commits oldest first per page, files only on page 1', async () => {
    const p1 = await octokit.rest.repos.compareCommitsWithBasehead({
      owner,
      repo,
      basehead: 'main...feature/x',
      per_page: 100,
    });
    expect(p1.data.commits.map((c) => c.sha)[0]).toBe(sha(1000));
    expect(p1.data.commits).toHaveLength(100);
    expect(p1.data.files).toHaveLength(300);
    expect(p1.headers.link).toContain('rel="next"');
    const p3 = await octokit.rest.repos.compareCommitsWithBasehead({
      owner,
      repo,
      basehead: 'main...feature/x',
      per_page: 100,
      page: 3,
    });
    expect(p3.data.commits).toHaveLength(60);
    expect(p3.data.files).toEqual([]);
    expect(p3.headers.link).not.toContain('rel="next"');
  });

  it('the deprecated base...head form and SHAs reach the same comparison; unknown refs are 404', async () => {
    const res = await octokit.rest.repos.compareCommits({ owner, repo, base: BASE_SHA, head: HEAD_SHA });
    expect(res.data.ahead_by).toBe(260);
    expect(gh.callsTo('repos/compare-commits')).toHaveLength(1);
    const unknown = await rejection(
      octokit.rest.repos.compareCommitsWithBasehead({ owner, repo, basehead: 'main...nope' }),
    );
    expect(unknown.status).toBe(404);
  });
});

describe('deployments', () => {
  it('creates a deployment and statuses, lists them, and marks older ones inactive', async () => {
    const first = await octokit.rest.repos.createDeployment({
      owner,
      repo,
      ref: HEAD_SHA,
      environment: 'pr-7',
      auto_merge: false,
      required_contexts: [],
      transient_environment: true,
    });
    expect(first.status).toBe(201);
    const d1 = first.data as {
      id: number;
      environment: string;
      production_environment: boolean;
      payload: unknown;
    };
    expect(d1).toMatchObject({ environment: 'pr-7', production_environment: false, payload: {} });
    const s1 = await octokit.rest.repos.createDeploymentStatus({
      owner,
      repo,
      deployment_id: d1.id,
      state: 'success',
      environment_url: 'http://hello-pr-7.example.com',
      log_url: 'https://github.com/octo-org/functions/actions/runs/1',
    });
    expect(s1.data).toMatchObject({
      state: 'success',
      target_url: 'https://github.com/octo-org/functions/actions/runs/1',
    });

    const list = await octokit.rest.repos.listDeployments({ owner, repo, environment: 'pr-7' });
    expect(list.data.map((d) => d.id)).toEqual([d1.id]);

    // A non-transient deployment to the same environment makes the previous non-transient one inactive.
    for (const d of gh.state.deployments) d.transientEnvironment = false;
    const second = await octokit.rest.repos.createDeployment({
      owner,
      repo,
      ref: 'feature/x',
      environment: 'pr-7',
      auto_merge: false,
    });
    const d2 = second.data as { id: number };
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: d2.id, state: 'success' });
    const statuses = await octokit.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: d1.id });
    expect(statuses.data.map((s) => s.state)).toEqual(['inactive', 'success']);
    const del = await rejection(octokit.rest.repos.deleteDeployment({ owner, repo, deployment_id: d2.id }));
    expect(del.status).toBe(422);
    expect((await octokit.rest.repos.deleteDeployment({ owner, repo, deployment_id: d1.id })).status).toBe(
      204,
    );
  });

  it('422 for an unknown ref, 409 for failed status checks, 202 when auto-merging', async () => {
    const unknown = await rejection(octokit.rest.repos.createDeployment({ owner, repo, ref: 'nope' }));
    expect(unknown.status).toBe(422);
    expect(unknown.message).toContain('No ref found for: nope');

    gh.state.addCommitStatus(HEAD_SHA, 'ci/test', 'failure');
    const conflict = await rejection(
      octokit.rest.repos.createDeployment({ owner, repo, ref: 'feature/x', auto_merge: false }),
    );
    expect(conflict.status).toBe(409);
    expect(conflict.message).toContain('Conflict: Commit status checks failed for feature/x.');

    gh.state.addBranch('stale', sha(77), { behindDefault: true });
    const merged = await octokit.rest.repos.createDeployment({
      owner,
      repo,
      ref: 'stale',
      required_contexts: [],
    });
    expect(merged.status).toBe(202);
    expect(merged.data).toEqual({ message: 'Auto-merged main into stale on deployment.' });
  });
});
