// Event payload helpers: real @octokit/webhooks-examples payloads with overridden values keep every
// key of the original, and the overrides land where faas-deploy reads them.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  eventEnv,
  loadExample,
  pullRequestEvent,
  pushEvent,
  workflowDispatchEvent,
  writeEventFile,
  ZERO_SHA,
  type Payload,
} from '../../../test/github/events.ts';

const BEFORE = '1'.repeat(40);
const AFTER = '2'.repeat(40);
const BASE = '3'.repeat(40);
const HEAD = '4'.repeat(40);

/** Every key path of a JSON tree (array items under `[]`), the shape a payload must keep. */
function keyPaths(node: unknown, prefix = ''): string[] {
  if (Array.isArray(node)) return [...new Set(node.flatMap((item) => keyPaths(item, `${prefix}[]`)))];
  if (node && typeof node === 'object') {
    return Object.entries(node as Payload).flatMap(([k, v]) => [
      `${prefix}.${k}`,
      ...keyPaths(v, `${prefix}.${k}`),
    ]);
  }
  return [];
}

/** Paths whose value is null in the original: a payload may fill them (merged_by of a merged PR). */
function nullPaths(node: unknown, prefix = ''): string[] {
  if (node === null) return [prefix];
  if (Array.isArray(node)) return node.flatMap((item) => nullPaths(item, `${prefix}[]`));
  if (node && typeof node === 'object') {
    return Object.entries(node as Payload).flatMap(([k, v]) => nullPaths(v, `${prefix}.${k}`));
  }
  return [];
}

/**
 * Keys the payload lost, and keys it gained outside values that are data rather than shape:
 * workflow_dispatch `inputs` (the workflow's own input names) and fields that were null.
 */
function shapeDiff(payload: Payload, original: Payload): { missing: string[]; added: string[] } {
  const have = new Set(keyPaths(payload));
  const had = new Set(keyPaths(original));
  const open = ['.inputs', ...nullPaths(original)];
  return {
    missing: [...had].filter((k) => !have.has(k)),
    added: [...have].filter((k) => !had.has(k) && !open.some((o) => k.startsWith(`${o}.`))),
  };
}

function strings(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (Array.isArray(node)) return node.flatMap(strings);
  if (node && typeof node === 'object') return Object.values(node as Payload).flatMap(strings);
  return [];
}

function at(payload: Payload, path: string): unknown {
  return path.split('.').reduce<unknown>((n, k) => (n as Payload | undefined)?.[k], payload);
}

const cases: Array<[string, () => Payload, Payload]> = [
  [
    'push',
    () => pushEvent({ before: BEFORE, after: AFTER }),
    loadExample('push', (p) => typeof p.ref === 'string' && p.ref.startsWith('refs/heads/')),
  ],
  ...(['opened', 'synchronize', 'reopened', 'closed'] as const).map(
    (action): [string, () => Payload, Payload] => [
      `pull_request.${action}`,
      () =>
        pullRequestEvent(action, {
          number: 42,
          base: { ref: 'main', sha: BASE },
          head: { ref: 'feat/x', sha: HEAD },
        }),
      loadExample('pull_request', (p) => p.action === action),
    ],
  ),
  [
    'workflow_dispatch',
    () => workflowDispatchEvent({ inputs: { functions: 'all' } }),
    loadExample('workflow_dispatch', (p) => typeof p.ref === 'string'),
  ],
];

describe('payloads keep the original keys', () => {
  it('the shape check notices a lost or an invented key', () => {
    const original = pushEvent();
    const lost = pushEvent();
    delete (lost.repository as Payload).clone_url;
    const invented = { ...pushEvent(), extra: 1 };
    expect(shapeDiff(lost, original).missing).toEqual(['.repository.clone_url']);
    expect(shapeDiff(invented, original).added).toEqual(['.extra']);
  });

  it.each(cases)('%s', (_name, build, original) => {
    const payload = build();
    expect(shapeDiff(payload, original)).toEqual({ missing: [], added: [] });
    // No trace of the example's repository remains in any URL or name.
    expect(strings(payload).filter((s) => s.includes('Hello-World') || s.includes('octo-repo'))).toEqual([]);
  });

  it('keeps the keys for a fork and a merged close too', () => {
    const original = loadExample('pull_request', (p) => p.action === 'closed');
    const payload = pullRequestEvent('closed', { fork: true, merged: true, head: { sha: HEAD } });
    expect(shapeDiff(payload, original)).toEqual({ missing: [], added: [] });
    expect(at(payload, 'pull_request.merged_by.login')).toBe('Codertocat');
  });
});

describe('overrides', () => {
  it('push: SHAs, ref, repository and the created flag', () => {
    const p = pushEvent({
      before: BEFORE,
      after: AFTER,
      repo: { owner: 'acme', name: 'fns', defaultBranch: 'trunk' },
    });
    expect(p).toMatchObject({
      ref: 'refs/heads/trunk',
      before: BEFORE,
      after: AFTER,
      created: false,
      deleted: false,
    });
    expect(at(p, 'repository.full_name')).toBe('acme/fns');
    expect(at(p, 'repository.owner.login')).toBe('acme');
    expect(at(p, 'repository.default_branch')).toBe('trunk');
    expect(at(p, 'repository.html_url')).toBe('https://github.com/acme/fns');
    expect(at(p, 'head_commit.id')).toBe(AFTER);
    expect(pushEvent({ before: ZERO_SHA, after: AFTER }).created).toBe(true);
    const deleted = pushEvent({ before: BEFORE, after: ZERO_SHA });
    expect([deleted.deleted, deleted.head_commit, deleted.commits]).toEqual([true, null, []]);
  });

  it('push: commits with their changed files', () => {
    const p = pushEvent({
      before: BEFORE,
      after: AFTER,
      commits: [
        { id: '5'.repeat(40), added: ['functions/a/main.go'] },
        { id: AFTER, message: 'second', modified: ['functions/b/main.go'] },
      ],
    });
    expect((p.commits as Payload[]).map((c) => [c.id, c.added, c.modified])).toEqual([
      ['5'.repeat(40), ['functions/a/main.go'], []],
      [AFTER, [], ['functions/b/main.go']],
    ]);
    expect(at(p, 'head_commit.message')).toBe('second');
  });

  it('pull_request: number, refs, SHAs and URLs', () => {
    const p = pullRequestEvent('synchronize', {
      number: 42,
      base: { ref: 'main', sha: BASE },
      head: { ref: 'feat/x', sha: HEAD },
      before: BEFORE,
    });
    expect(p).toMatchObject({ action: 'synchronize', number: 42, before: BEFORE, after: HEAD });
    expect(at(p, 'pull_request.number')).toBe(42);
    expect(at(p, 'pull_request.html_url')).toBe('https://github.com/octo-org/functions/pull/42');
    expect(at(p, 'pull_request.url')).toBe('https://api.github.com/repos/octo-org/functions/pulls/42');
    expect(at(p, 'pull_request.statuses_url')).toBe(
      `https://api.github.com/repos/octo-org/functions/statuses/${HEAD}`,
    );
    expect(at(p, 'pull_request.head.ref')).toBe('feat/x');
    expect(at(p, 'pull_request.head.sha')).toBe(HEAD);
    expect(at(p, 'pull_request.head.label')).toBe('octo-org:feat/x');
    expect(at(p, 'pull_request.base.sha')).toBe(BASE);
    expect(at(p, 'pull_request.head.repo.full_name')).toBe('octo-org/functions');
    expect(at(p, 'pull_request.head.repo.fork')).toBe(false);
  });

  it('pull_request: a fork has another head repository', () => {
    const p = pullRequestEvent('opened', { fork: { owner: 'outsider', name: 'fns-fork' } });
    expect(at(p, 'pull_request.head.repo.full_name')).toBe('outsider/fns-fork');
    expect(at(p, 'pull_request.head.repo.fork')).toBe(true);
    expect(at(p, 'pull_request.head.repo.owner.login')).toBe('outsider');
    expect(at(p, 'pull_request.head.repo.clone_url')).toBe('https://github.com/outsider/fns-fork.git');
    expect(at(p, 'pull_request.head.label')).toBe('outsider:feature');
    expect(at(p, 'pull_request.base.repo.full_name')).toBe('octo-org/functions');
    expect(at(p, 'repository.fork')).toBe(false);
  });

  it('pull_request closed: merged or not', () => {
    const merged = pullRequestEvent('closed', { merged: true });
    expect(at(merged, 'pull_request.state')).toBe('closed');
    expect(at(merged, 'pull_request.merged')).toBe(true);
    expect(typeof at(merged, 'pull_request.merged_at')).toBe('string');
    const abandoned = pullRequestEvent('closed');
    expect([at(abandoned, 'pull_request.merged'), at(abandoned, 'pull_request.merged_at')]).toEqual([
      false,
      null,
    ]);
    expect(at(pullRequestEvent('reopened'), 'pull_request.state')).toBe('open');
  });

  it('workflow_dispatch: ref and inputs', () => {
    const p = workflowDispatchEvent({ ref: 'refs/heads/release', inputs: { functions: 'hello,echo' } });
    expect(p).toMatchObject({ ref: 'refs/heads/release', inputs: { functions: 'hello,echo' } });
    expect(at(p, 'repository.full_name')).toBe('octo-org/functions');
  });

  it('returns independent copies', () => {
    const a = pushEvent();
    (a.repository as Payload).name = 'changed';
    expect(at(pushEvent(), 'repository.name')).toBe('functions');
  });
});

describe('event files and runner variables', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes GITHUB_EVENT_PATH and derives the GITHUB_* variables', () => {
    dir = mkdtempSync(join(tmpdir(), 'faas-events-'));
    const payload = pullRequestEvent('opened', {
      number: 9,
      base: { ref: 'main', sha: BASE },
      head: { ref: 'f', sha: HEAD },
    });
    const file = writeEventFile(dir, payload);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(payload);
    expect(eventEnv('pull_request', payload, file)).toMatchObject({
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: file,
      GITHUB_REPOSITORY: 'octo-org/functions',
      GITHUB_REPOSITORY_OWNER: 'octo-org',
      GITHUB_REF: 'refs/pull/9/merge',
      GITHUB_HEAD_REF: 'f',
      GITHUB_BASE_REF: 'main',
      GITHUB_SHA: HEAD,
    });
    expect(eventEnv('push', pushEvent({ after: AFTER }))).toMatchObject({
      GITHUB_REF: 'refs/heads/main',
      GITHUB_SHA: AFTER,
    });
  });
});
