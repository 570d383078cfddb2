// Event payloads in GitHub's real shapes, for GITHUB_EVENT_PATH files: deep copies of the examples in
// @octokit/webhooks-examples (api.github.com/index.json: an array of { name, actions, examples[] } per
// webhook event; pull_request examples carry `action`, push and workflow_dispatch ones do not) with the
// fields a test controls overridden. Only values change: every key of the original stays, so the
// payload keeps the shape GitHub sends, and URLs inside it follow the overridden repository and number.
//
//   pushEvent(o?: PushOptions): Payload
//     ref (default refs/heads/<defaultBranch>), before, after, forced, commits, repo
//     created/deleted follow all-zero before/after.
//   pullRequestEvent(action: 'opened' | 'synchronize' | 'reopened' | 'closed', o?: PullRequestOptions): Payload
//     number, base {ref, sha}, head {ref, sha}, fork (head repo owner/name), merged, title, draft,
//     before (synchronize), repo
//   workflowDispatchEvent(o?: WorkflowDispatchOptions): Payload
//     ref, inputs, workflow, repo
//   writeEventFile(dir: string, payload: Payload): string            → path for GITHUB_EVENT_PATH
//   eventEnv(eventName: EventName, payload: Payload, file?: string): Record<string, string>
//     the GITHUB_* variables a runner sets for that event (GITHUB_REF, GITHUB_SHA, GITHUB_HEAD_REF…)
//
// RepoOverride: { owner?, name?, id?, defaultBranch?, private? } — defaults octo-org/functions, main.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export type Payload = Record<string, unknown>;
export type EventName = 'push' | 'pull_request' | 'workflow_dispatch';
export type PullRequestAction = 'opened' | 'synchronize' | 'reopened' | 'closed';

export interface RepoOverride {
  owner?: string;
  name?: string;
  id?: number;
  defaultBranch?: string;
  private?: boolean;
}

export interface PushOptions {
  ref?: string;
  before?: string;
  after?: string;
  forced?: boolean;
  /** The pushed commits, oldest first; the last is head_commit. Default: one commit with id `after`. */
  commits?: Array<{
    id: string;
    message?: string;
    added?: string[];
    removed?: string[];
    modified?: string[];
  }>;
  repo?: RepoOverride;
}

export interface PullRequestOptions {
  number?: number;
  base?: { ref?: string; sha?: string };
  head?: { ref?: string; sha?: string };
  /** Head repository in another account: `true` for outsider/<name>, or the fork's owner/name. */
  fork?: boolean | { owner: string; name?: string };
  /** closed only: merged (default false). */
  merged?: boolean;
  title?: string;
  draft?: boolean;
  /** synchronize only: the head SHA before the push (default: base sha). */
  before?: string;
  /** pull_request.merge_commit_sha (GITHUB_SHA in eventEnv); default null, or a fixed SHA when merged. */
  mergeCommitSha?: string | null;
  repo?: RepoOverride;
}

export interface WorkflowDispatchOptions {
  ref?: string;
  inputs?: Record<string, string>;
  workflow?: string;
  repo?: RepoOverride;
}

const require = createRequire(import.meta.url);
const definitions = require('@octokit/webhooks-examples/api.github.com/index.json') as Array<{
  name: string;
  examples: Payload[];
}>;

export const ZERO_SHA = '0'.repeat(40);
const DEFAULT_HEAD = 'c0ffee'.padEnd(40, '1');
const DEFAULT_BASE = 'ba5e'.padEnd(40, '2');

/**
 * The original example: the first one for the event (and action) whose repository is a branch push /
 * without organization noise where there is a choice. Returned as a deep copy.
 */
export function loadExample(event: EventName, pick: (p: Payload) => boolean = () => true): Payload {
  const group = definitions.find((d) => d.name === event);
  const found = group?.examples.find(pick);
  if (!found) throw new Error(`@octokit/webhooks-examples has no matching ${event} example`);
  return structuredClone(found);
}

const EXAMPLE_PICKS: Record<string, (p: Payload) => boolean> = {
  push: (p) => typeof p.ref === 'string' && p.ref.startsWith('refs/heads/'),
  workflow_dispatch: (p) => typeof p.ref === 'string',
  'pull_request.opened': (p) => p.action === 'opened',
  'pull_request.synchronize': (p) => p.action === 'synchronize',
  'pull_request.reopened': (p) => p.action === 'reopened',
  'pull_request.closed': (p) => p.action === 'closed',
};

/** Replaces text in every string value (never in keys) of a JSON tree, in place. */
function replaceStrings(node: unknown, fn: (s: string) => string): unknown {
  if (typeof node === 'string') return fn(node);
  if (Array.isArray(node)) {
    node.forEach((v, i) => (node[i] = replaceStrings(v, fn)));
    return node;
  }
  if (node && typeof node === 'object') {
    const o = node as Payload;
    for (const key of Object.keys(o)) o[key] = replaceStrings(o[key], fn);
  }
  return node;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function obj(value: unknown, what: string): Payload {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`example has no ${what}`);
  return value as Payload;
}

/** Sets a key only if the original has it, so no payload gains keys GitHub would not send. */
function setIfPresent(o: Payload, key: string, value: unknown): void {
  if (key in o) o[key] = value;
}

interface ResolvedRepo {
  owner: string;
  name: string;
  id: number;
  defaultBranch: string;
  private: boolean;
}

function resolveRepo(r: RepoOverride | undefined): ResolvedRepo {
  return {
    owner: r?.owner ?? 'octo-org',
    name: r?.name ?? 'functions',
    id: r?.id ?? 812_345_678,
    defaultBranch: r?.defaultBranch ?? 'main',
    private: r?.private ?? false,
  };
}

/** Points a repository object (and the URLs in it) at another owner/name. */
function retargetRepository(repository: Payload, to: ResolvedRepo, fork: boolean): void {
  const fromFull = String(repository.full_name);
  const owner = obj(repository.owner, 'repository.owner');
  const fromOwner = String(owner.login ?? owner.name);
  replaceStrings(repository, (s) => s.split(fromFull).join(`${to.owner}/${to.name}`));
  const ownerPath = new RegExp(`(/users/|/orgs/|github\\.com/)${escapeRe(fromOwner)}(?=$|[/?#{])`, 'g');
  replaceStrings(owner, (s) => s.replace(ownerPath, `$1${to.owner}`));
  setIfPresent(owner, 'login', to.owner);
  setIfPresent(owner, 'name', to.owner);
  repository.name = to.name;
  repository.full_name = `${to.owner}/${to.name}`;
  repository.id = to.id;
  setIfPresent(repository, 'node_id', Buffer.from(`010:Repository${to.id}`).toString('base64'));
  setIfPresent(repository, 'default_branch', to.defaultBranch);
  setIfPresent(repository, 'master_branch', to.defaultBranch);
  setIfPresent(repository, 'private', to.private);
  setIfPresent(repository, 'visibility', to.private ? 'private' : 'public');
  setIfPresent(repository, 'fork', fork);
}

function retargetOrganization(payload: Payload, owner: string): void {
  if (!payload.organization || typeof payload.organization !== 'object') return;
  const org = payload.organization as Payload;
  const from = String(org.login);
  replaceStrings(org, (s) =>
    s.replace(new RegExp(`/orgs/${escapeRe(from)}(?=$|[/?#{])`, 'g'), `/orgs/${owner}`),
  );
  org.login = owner;
}

export function pushEvent(o: PushOptions = {}): Payload {
  const repo = resolveRepo(o.repo);
  const payload = loadExample('push', EXAMPLE_PICKS.push);
  retargetRepository(obj(payload.repository, 'repository'), repo, false);
  retargetOrganization(payload, repo.owner);
  const before = o.before ?? DEFAULT_BASE;
  const after = o.after ?? DEFAULT_HEAD;
  const created = /^0+$/.test(before);
  const deleted = /^0+$/.test(after);
  payload.ref = o.ref ?? `refs/heads/${repo.defaultBranch}`;
  payload.before = before;
  payload.after = after;
  payload.created = created;
  payload.deleted = deleted;
  payload.forced = o.forced ?? false;
  payload.base_ref = null;
  const html = `https://github.com/${repo.owner}/${repo.name}`;
  payload.compare = created
    ? `${html}/commit/${after.slice(0, 12)}`
    : deleted
      ? `${html}/compare/${before.slice(0, 12)}...${ZERO_SHA.slice(0, 12)}`
      : `${html}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`;
  const template = obj((payload.commits as unknown[])[0], 'push commit');
  const commits = deleted ? [] : (o.commits ?? [{ id: after }]);
  payload.commits = commits.map((c) => {
    const commit = structuredClone(template);
    commit.id = c.id;
    commit.url = `${html}/commit/${c.id}`;
    if (c.message !== undefined) commit.message = c.message;
    commit.added = c.added ?? [];
    commit.removed = c.removed ?? [];
    commit.modified = c.modified ?? [];
    return commit;
  });
  const last = (payload.commits as Payload[]).at(-1);
  payload.head_commit = last ? structuredClone(last) : null;
  return payload;
}

export function pullRequestEvent(action: PullRequestAction, o: PullRequestOptions = {}): Payload {
  const repo = resolveRepo(o.repo);
  const payload = loadExample('pull_request', EXAMPLE_PICKS[`pull_request.${action}`]);
  const pr = obj(payload.pull_request, 'pull_request');
  const head = obj(pr.head, 'pull_request.head');
  const base = obj(pr.base, 'pull_request.base');
  const oldNumber = Number(pr.number);
  const oldHeadSha = String(head.sha);
  const oldBaseSha = String(base.sha);
  const number = o.number ?? 7;
  const headSha = o.head?.sha ?? DEFAULT_HEAD;
  const baseSha = o.base?.sha ?? DEFAULT_BASE;
  const headRef = o.head?.ref ?? 'feature';
  const baseRef = o.base?.ref ?? repo.defaultBranch;

  // The base repository (and every URL naming it), then numbers and SHAs inside URLs.
  const fromFull = String(obj(payload.repository, 'repository').full_name);
  retargetRepository(obj(payload.repository, 'repository'), repo, false);
  retargetRepository(obj(base.repo, 'base.repo'), repo, false);
  retargetOrganization(payload, repo.owner);
  const numberPath = new RegExp(`(/pulls/|/pull/|/issues/)${oldNumber}(?=$|[/?#{.])`, 'g');
  replaceStrings(pr, (s) =>
    s
      .split(fromFull)
      .join(`${repo.owner}/${repo.name}`)
      .replace(numberPath, `$1${number}`)
      .split(oldHeadSha)
      .join(headSha),
  );

  const fork =
    o.fork === true
      ? { owner: 'outsider', name: repo.name }
      : o.fork
        ? { owner: o.fork.owner, name: o.fork.name ?? repo.name }
        : undefined;
  const headRepo = structuredClone(obj(base.repo, 'base.repo'));
  if (fork) {
    retargetRepository(headRepo, { ...repo, owner: fork.owner, name: fork.name, id: repo.id + 1000 }, true);
  }
  head.repo = headRepo;
  head.ref = headRef;
  head.sha = headSha;
  head.label = `${fork?.owner ?? repo.owner}:${headRef}`;
  base.ref = baseRef;
  base.sha = baseSha;
  base.label = `${repo.owner}:${baseRef}`;
  for (const side of [head, base]) {
    const user = obj(side.user, 'head/base user');
    const login = side === head ? (fork?.owner ?? repo.owner) : repo.owner;
    const from = String(user.login);
    replaceStrings(user, (s) =>
      s.replace(new RegExp(`(/users/|github\\.com/)${escapeRe(from)}(?=$|[/?#{])`, 'g'), `$1${login}`),
    );
    user.login = login;
  }
  replaceStrings(base, (s) => s.split(oldBaseSha).join(baseSha));

  payload.number = number;
  pr.number = number;
  if (o.title !== undefined) pr.title = o.title;
  if (o.draft !== undefined) pr.draft = o.draft;
  setIfPresent(pr, 'maintainer_can_modify', Boolean(fork));
  const merged = action === 'closed' && (o.merged ?? false);
  const closedAt = typeof pr.closed_at === 'string' ? pr.closed_at : '2024-05-15T15:21:18Z';
  setIfPresent(pr, 'state', action === 'closed' ? 'closed' : 'open');
  setIfPresent(pr, 'merged', merged);
  setIfPresent(pr, 'closed_at', action === 'closed' ? closedAt : null);
  setIfPresent(pr, 'merged_at', merged ? closedAt : null);
  setIfPresent(pr, 'merged_by', merged ? structuredClone(payload.sender) : null);
  setIfPresent(
    pr,
    'merge_commit_sha',
    o.mergeCommitSha !== undefined ? o.mergeCommitSha : merged ? 'ace0'.padEnd(40, '3') : null,
  );
  if (action === 'synchronize') {
    payload.before = o.before ?? baseSha;
    payload.after = headSha;
  }
  return payload;
}

export function workflowDispatchEvent(o: WorkflowDispatchOptions = {}): Payload {
  const repo = resolveRepo(o.repo);
  const payload = loadExample('workflow_dispatch', EXAMPLE_PICKS.workflow_dispatch);
  retargetRepository(obj(payload.repository, 'repository'), repo, false);
  retargetOrganization(payload, repo.owner);
  payload.ref = o.ref ?? `refs/heads/${repo.defaultBranch}`;
  payload.inputs = { ...(o.inputs ?? {}) };
  if (o.workflow !== undefined) payload.workflow = o.workflow;
  return payload;
}

/** Writes the payload as the runner does and returns the path for GITHUB_EVENT_PATH. */
export function writeEventFile(dir: string, payload: Payload): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'event.json');
  writeFileSync(file, JSON.stringify(payload, null, 2));
  return file;
}

/** The GITHUB_* variables a runner sets for the event, derived from the payload. */
export function eventEnv(eventName: EventName, payload: Payload, file?: string): Record<string, string> {
  const repository = obj(payload.repository, 'repository');
  const owner = obj(repository.owner, 'repository.owner');
  const env: Record<string, string> = {
    GITHUB_EVENT_NAME: eventName,
    GITHUB_REPOSITORY: String(repository.full_name),
    GITHUB_REPOSITORY_OWNER: String(owner.login ?? owner.name),
    GITHUB_REPOSITORY_ID: String(repository.id),
    GITHUB_ACTIONS: 'true',
    ...(file ? { GITHUB_EVENT_PATH: file } : {}),
  };
  if (eventName === 'pull_request') {
    const pr = obj(payload.pull_request, 'pull_request');
    const head = obj(pr.head, 'head');
    const base = obj(pr.base, 'base');
    env.GITHUB_REF = `refs/pull/${String(pr.number)}/merge`;
    env.GITHUB_REF_NAME = `${String(pr.number)}/merge`;
    env.GITHUB_HEAD_REF = String(head.ref);
    env.GITHUB_BASE_REF = String(base.ref);
    // The merge commit GitHub tests; for a closed, merged PR the merge into the base branch.
    env.GITHUB_SHA = typeof pr.merge_commit_sha === 'string' ? pr.merge_commit_sha : String(head.sha);
  } else {
    env.GITHUB_REF = String(payload.ref);
    env.GITHUB_REF_NAME = String(payload.ref).replace(/^refs\/(heads|tags)\//, '');
    if (eventName === 'push') env.GITHUB_SHA = String(payload.after);
  }
  return env;
}
