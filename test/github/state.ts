// In-memory state of the fake GitHub: one repository, its issues/pull requests, issue comments,
// deployments with statuses, branches and commits, and seeded compare results. Tests seed it before a
// run and read it afterwards; handlers.ts turns records into API objects (objects.ts).

export interface Actor {
  login: string;
  id: number;
  type: 'User' | 'Bot' | 'Organization';
}

/** The identity behind a workflow's GITHUB_TOKEN: comments and deployments it creates are authored by it. */
export const GITHUB_ACTIONS_BOT: Actor = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' };

export type AuthorAssociation =
  | 'COLLABORATOR'
  | 'CONTRIBUTOR'
  | 'FIRST_TIMER'
  | 'FIRST_TIME_CONTRIBUTOR'
  | 'MANNEQUIN'
  | 'MEMBER'
  | 'NONE'
  | 'OWNER';

export interface RepoInfo {
  owner: string;
  name: string;
  id: number;
  ownerId: number;
  ownerType: 'User' | 'Organization';
  defaultBranch: string;
  private: boolean;
}

export interface IssueRecord {
  number: number;
  title: string;
  isPullRequest: boolean;
  state: 'open' | 'closed';
  user: Actor;
  createdAt: string;
}

export interface CommentRecord {
  id: number;
  issueNumber: number;
  body: string;
  user: Actor;
  authorAssociation: AuthorAssociation;
  createdAt: string;
  updatedAt: string;
}

export interface PullRequestRecord {
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  draft: boolean;
  merged: boolean;
  user: Actor;
  head: { ref: string; sha: string; owner: string; name: string; repoId: number };
  base: { ref: string; sha: string };
  labels: string[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  mergedAt: string | null;
  mergeCommitSha: string | null;
}

export interface PullRequestSeed {
  number: number;
  title?: string;
  body?: string | null;
  state?: 'open' | 'closed';
  draft?: boolean;
  merged?: boolean;
  user?: Actor;
  /** `repo` set to another owner/name makes it a pull request from a fork. */
  head: { ref: string; sha: string; repo?: { owner: string; name: string; id?: number } };
  base: { ref: string; sha: string };
  labels?: string[];
  mergeCommitSha?: string | null;
}

export type DeploymentState =
  'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';

export interface DeploymentStatusRecord {
  id: number;
  state: DeploymentState;
  description: string;
  environment: string;
  targetUrl: string;
  logUrl: string;
  environmentUrl: string;
  creator: Actor;
  createdAt: string;
  updatedAt: string;
}

export interface DeploymentRecord {
  id: number;
  sha: string;
  ref: string;
  task: string;
  payload: Record<string, unknown> | string;
  originalEnvironment: string;
  environment: string;
  description: string | null;
  transientEnvironment: boolean;
  productionEnvironment: boolean;
  creator: Actor;
  createdAt: string;
  updatedAt: string;
  statuses: DeploymentStatusRecord[];
}

export interface GitIdentity {
  name: string;
  email: string;
  date: string;
}

export interface CommitRecord {
  sha: string;
  message: string;
  parents: string[];
  author: GitIdentity;
  committer: GitIdentity;
  treeSha: string;
}

export interface CommitSeed {
  sha: string;
  message?: string;
  parents?: string[];
  author?: Partial<GitIdentity>;
}

export type FileStatus = 'added' | 'removed' | 'modified' | 'renamed' | 'copied' | 'changed' | 'unchanged';

export interface FileRecord {
  filename: string;
  status: FileStatus;
  additions: number;
  deletions: number;
  previousFilename?: string;
  patch?: string;
  sha: string | null;
}

export interface CompareSeed {
  /** As the client will name them: branch names, SHAs or `owner:branch`. Branch names resolve through `branches`. */
  base: string;
  head: string;
  /** Commits in base..head, oldest first. Plain strings are SHAs. */
  commits: Array<CommitSeed | string>;
  /** Changed files; plain strings are modified files. */
  files: Array<(Partial<FileRecord> & { filename: string }) | string>;
  mergeBaseSha?: string;
  behindBy?: number;
}

export interface CompareRecord {
  baseSha: string;
  headSha: string;
  commits: CommitRecord[];
  files: FileRecord[];
  mergeBaseSha: string;
  behindBy: number;
}

export interface BranchRecord {
  name: string;
  sha: string;
  /** The default branch has commits this branch lacks: create-deployment with auto_merge merges or conflicts. */
  behindDefault: boolean;
  mergeConflict: boolean;
}

export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function fakeSha(seed: string): string {
  // Deterministic 40-hex value derived from a label, for tree SHAs and merge commits.
  let h = 0x811c9dc5;
  let out = '';
  for (let round = 0; out.length < 40; round++) {
    for (const ch of `${seed}#${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 40);
}

export class GitHubState {
  readonly repo: RepoInfo;
  /** Who the configured token belongs to. */
  actor: Actor;
  readonly issues = new Map<number, IssueRecord>();
  /** Issue comments per issue (or pull request) number, in creation order. */
  readonly comments = new Map<number, CommentRecord[]>();
  readonly pulls = new Map<number, PullRequestRecord>();
  readonly deployments: DeploymentRecord[] = [];
  readonly branches = new Map<string, BranchRecord>();
  readonly tags = new Map<string, string>();
  readonly commits = new Map<string, CommitRecord>();
  /** Commit statuses per SHA, consulted by create-deployment's required_contexts check. */
  readonly commitStatuses = new Map<
    string,
    Array<{ context: string; state: 'error' | 'failure' | 'pending' | 'success' }>
  >();
  readonly compares: CompareRecord[] = [];
  private readonly counters = new Map<string, number>();
  private readonly clock: () => Date;

  constructor(repo: RepoInfo, actor: Actor, clock: () => Date) {
    this.repo = repo;
    this.actor = actor;
    this.clock = clock;
  }

  now(): string {
    return isoSeconds(this.clock());
  }

  nextId(kind: 'comment' | 'deployment' | 'deployment-status' | 'issue'): number {
    const start = {
      comment: 1_900_000_000,
      deployment: 2_400_000_000,
      'deployment-status': 3_100_000_000,
      issue: 0,
    }[kind];
    const next = (this.counters.get(kind) ?? start) + 1;
    this.counters.set(kind, next);
    return next;
  }

  addIssue(
    number: number,
    opts: { title?: string; state?: 'open' | 'closed'; user?: Actor } = {},
  ): IssueRecord {
    const issue: IssueRecord = {
      number,
      title: opts.title ?? `Issue ${number}`,
      isPullRequest: false,
      state: opts.state ?? 'open',
      user: opts.user ?? { login: 'octocat', id: 583231, type: 'User' },
      createdAt: this.now(),
    };
    this.issues.set(number, issue);
    return issue;
  }

  addCommit(seed: CommitSeed | string): CommitRecord {
    const s = typeof seed === 'string' ? { sha: seed } : seed;
    if (!/^[0-9a-f]{40}$/.test(s.sha))
      throw new Error(`commit sha must be 40 lowercase hex digits: ${s.sha}`);
    const existing = this.commits.get(s.sha);
    if (existing && typeof seed === 'string') return existing;
    const identity: GitIdentity = {
      name: s.author?.name ?? 'Mona Lisa',
      email: s.author?.email ?? 'mona@example.com',
      date: s.author?.date ?? this.now(),
    };
    const record: CommitRecord = {
      sha: s.sha,
      message: s.message ?? `Commit ${s.sha.slice(0, 7)}`,
      parents: s.parents ?? [],
      author: identity,
      committer: { ...identity },
      treeSha: fakeSha(`tree:${s.sha}`),
    };
    this.commits.set(s.sha, record);
    return record;
  }

  addBranch(
    name: string,
    sha: string,
    opts: { behindDefault?: boolean; mergeConflict?: boolean } = {},
  ): BranchRecord {
    this.addCommit(sha);
    const branch: BranchRecord = {
      name,
      sha,
      behindDefault: opts.behindDefault ?? false,
      mergeConflict: opts.mergeConflict ?? false,
    };
    this.branches.set(name, branch);
    return branch;
  }

  addTag(name: string, sha: string): void {
    this.addCommit(sha);
    this.tags.set(name, sha);
  }

  addCommitStatus(sha: string, context: string, state: 'error' | 'failure' | 'pending' | 'success'): void {
    const list = this.commitStatuses.get(sha) ?? [];
    const kept = list.filter((s) => s.context !== context);
    kept.push({ context, state });
    this.commitStatuses.set(sha, kept);
  }

  /** A pull request is also an issue: comments on it go through the issues API. */
  addPullRequest(seed: PullRequestSeed): PullRequestRecord {
    const now = this.now();
    const fork = seed.head.repo;
    const isFork =
      fork !== undefined &&
      (fork.owner.toLowerCase() !== this.repo.owner.toLowerCase() ||
        fork.name.toLowerCase() !== this.repo.name.toLowerCase());
    const state = seed.state ?? 'open';
    const merged = seed.merged ?? false;
    const pr: PullRequestRecord = {
      number: seed.number,
      title: seed.title ?? `Pull request ${seed.number}`,
      body: seed.body === undefined ? null : seed.body,
      state,
      draft: seed.draft ?? false,
      merged,
      user: seed.user ?? { login: 'octocat', id: 583231, type: 'User' },
      head: {
        ref: seed.head.ref,
        sha: seed.head.sha,
        owner: isFork ? fork.owner : this.repo.owner,
        name: isFork ? fork.name : this.repo.name,
        repoId: isFork ? (fork.id ?? this.repo.id + 1000) : this.repo.id,
      },
      base: { ...seed.base },
      labels: seed.labels ?? [],
      createdAt: now,
      updatedAt: now,
      closedAt: state === 'closed' ? now : null,
      mergedAt: merged ? now : null,
      mergeCommitSha:
        seed.mergeCommitSha === undefined
          ? fakeSha(`merge:${seed.number}:${seed.head.sha}`)
          : seed.mergeCommitSha,
    };
    this.addCommit(seed.head.sha);
    this.addCommit(seed.base.sha);
    if (!isFork && !this.branches.has(seed.head.ref)) this.addBranch(seed.head.ref, seed.head.sha);
    if (!this.branches.has(seed.base.ref)) this.addBranch(seed.base.ref, seed.base.sha);
    this.pulls.set(pr.number, pr);
    this.issues.set(pr.number, {
      number: pr.number,
      title: pr.title,
      isPullRequest: true,
      state,
      user: pr.user,
      createdAt: now,
    });
    return pr;
  }

  isFork(pr: PullRequestRecord): boolean {
    return pr.head.repoId !== this.repo.id;
  }

  /** Seeds a comment that already exists (from an earlier run, or written by someone else). */
  addComment(
    issueNumber: number,
    body: string,
    opts: { user?: Actor; authorAssociation?: AuthorAssociation; createdAt?: string } = {},
  ): CommentRecord {
    if (!this.issues.has(issueNumber))
      throw new Error(`issue #${issueNumber} is not seeded: addIssue or addPullRequest first`);
    const at = opts.createdAt ?? this.now();
    const comment: CommentRecord = {
      id: this.nextId('comment'),
      issueNumber,
      body,
      user: opts.user ?? this.actor,
      authorAssociation:
        opts.authorAssociation ?? (opts.user && opts.user.type !== 'Bot' ? 'MEMBER' : 'NONE'),
      createdAt: at,
      updatedAt: at,
    };
    const list = this.comments.get(issueNumber) ?? [];
    list.push(comment);
    this.comments.set(issueNumber, list);
    return comment;
  }

  commentsOn(issueNumber: number): CommentRecord[] {
    return this.comments.get(issueNumber) ?? [];
  }

  findComment(id: number): CommentRecord | undefined {
    for (const list of this.comments.values()) {
      const found = list.find((c) => c.id === id);
      if (found) return found;
    }
    return undefined;
  }

  deleteComment(id: number): boolean {
    for (const [issue, list] of this.comments) {
      const index = list.findIndex((c) => c.id === id);
      if (index >= 0) {
        list.splice(index, 1);
        this.comments.set(issue, list);
        return true;
      }
    }
    return false;
  }

  /** Branch name, tag name, `refs/heads/x`, `refs/tags/x`, `owner:branch` or a known full SHA → SHA. */
  resolveRef(ref: string): string | undefined {
    let name = ref;
    const colon = name.indexOf(':');
    if (colon > 0) {
      const owner = name.slice(0, colon);
      name = name.slice(colon + 1);
      if (owner.toLowerCase() !== this.repo.owner.toLowerCase()) {
        const pr = [...this.pulls.values()].find(
          (p) => p.head.owner.toLowerCase() === owner.toLowerCase() && p.head.ref === name,
        );
        return pr?.head.sha;
      }
    }
    if (name.startsWith('refs/heads/')) return this.branches.get(name.slice(11))?.sha;
    if (name.startsWith('refs/tags/')) return this.tags.get(name.slice(10));
    const branch = this.branches.get(name);
    if (branch) return branch.sha;
    const tag = this.tags.get(name);
    if (tag) return tag;
    if (/^[0-9a-f]{40}$/.test(name) && this.commits.has(name)) return name;
    return undefined;
  }

  /** Seeds the result of comparing `base...head`. Both sides must resolve (branches, tags or SHAs). */
  setCompare(seed: CompareSeed): CompareRecord {
    const resolveOrAdd = (ref: string): string => {
      const sha = this.resolveRef(ref);
      if (sha) return sha;
      if (/^[0-9a-f]{40}$/.test(ref)) return this.addCommit(ref).sha;
      throw new Error(`compare side ${ref} is neither a seeded branch/tag nor a 40-hex SHA`);
    };
    const baseSha = resolveOrAdd(seed.base);
    const headSha = resolveOrAdd(seed.head);
    let parent = baseSha;
    const commits = seed.commits.map((c) => {
      const s = typeof c === 'string' ? { sha: c } : c;
      const record = this.addCommit({ ...s, parents: s.parents ?? [parent] });
      parent = record.sha;
      return record;
    });
    const files = seed.files.map((f): FileRecord => {
      const s = typeof f === 'string' ? { filename: f } : f;
      const additions = s.additions ?? (s.status === 'removed' ? 0 : 1);
      const deletions = s.deletions ?? (s.status === 'added' ? 0 : s.status === 'removed' ? 1 : 1);
      return {
        filename: s.filename,
        status: s.status ?? 'modified',
        additions,
        deletions,
        ...(s.previousFilename ? { previousFilename: s.previousFilename } : {}),
        ...(s.patch !== undefined ? { patch: s.patch } : {}),
        sha:
          s.sha === undefined
            ? s.status === 'removed'
              ? fakeSha(`blob-old:${s.filename}`)
              : fakeSha(`blob:${s.filename}:${headSha}`)
            : s.sha,
      };
    });
    const record: CompareRecord = {
      baseSha,
      headSha,
      commits,
      files,
      mergeBaseSha: seed.mergeBaseSha ?? baseSha,
      behindBy: seed.behindBy ?? 0,
    };
    this.addCommit(record.mergeBaseSha);
    const existing = this.compares.findIndex((c) => c.baseSha === baseSha && c.headSha === headSha);
    if (existing >= 0) this.compares.splice(existing, 1);
    this.compares.push(record);
    return record;
  }

  findCompare(base: string, head: string): CompareRecord | undefined {
    const baseSha = this.resolveRef(base);
    const headSha = this.resolveRef(head);
    if (!baseSha || !headSha) return undefined;
    return this.compares.find((c) => c.baseSha === baseSha && c.headSha === headSha);
  }

  findDeployment(id: number): DeploymentRecord | undefined {
    return this.deployments.find((d) => d.id === id);
  }

  mergeSha(label: string): string {
    return fakeSha(label);
  }
}
