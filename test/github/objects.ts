// Records → API objects in the shapes GitHub sends (every required field, realistic values, URLs on
// the fake's own base URL). The server validates each of them against the operation's response schema.
import type {
  Actor,
  CommentRecord,
  CommitRecord,
  CompareRecord,
  DeploymentRecord,
  DeploymentStatusRecord,
  FileRecord,
  GitHubState,
  PullRequestRecord,
} from './state.ts';

export type BodyFormat = 'raw' | 'text' | 'html' | 'full';

/** GitHub's legacy global node id: base64("0<len>:<Type><id>"). */
export function nodeId(type: string, id: number | string): string {
  return Buffer.from(`0${type.length}:${type}${id}`).toString('base64');
}

export class Urls {
  /** The fake's API root, e.g. http://127.0.0.1:PORT (what GITHUB_API_URL points to). */
  api: string;
  /** The web root used in html_url fields (GITHUB_SERVER_URL). */
  readonly html: string;
  private readonly state: GitHubState;

  constructor(api: string, html: string, state: GitHubState) {
    this.api = api;
    this.html = html;
    this.state = state;
  }

  get repoApi(): string {
    return `${this.api}/repos/${this.state.repo.owner}/${this.state.repo.name}`;
  }

  get repoHtml(): string {
    return `${this.html}/${this.state.repo.owner}/${this.state.repo.name}`;
  }
}

export function simpleUser(urls: Urls, actor: Actor): Record<string, unknown> {
  const login = encodeURIComponent(actor.login);
  const base = `${urls.api}/users/${login}`;
  const bot = actor.type === 'Bot';
  return {
    login: actor.login,
    id: actor.id,
    node_id: nodeId(bot ? 'Bot' : actor.type, actor.id),
    avatar_url: bot
      ? 'https://avatars.githubusercontent.com/in/15368?v=4'
      : `https://avatars.githubusercontent.com/u/${actor.id}?v=4`,
    gravatar_id: '',
    url: base,
    html_url: bot
      ? `${urls.html}/apps/${actor.login.replace(/\[bot\]$/, '')}`
      : `${urls.html}/${actor.login}`,
    followers_url: `${base}/followers`,
    following_url: `${base}/following{/other_user}`,
    gists_url: `${base}/gists{/gist_id}`,
    starred_url: `${base}/starred{/owner}{/repo}`,
    subscriptions_url: `${base}/subscriptions`,
    organizations_url: `${base}/orgs`,
    repos_url: `${base}/repos`,
    events_url: `${base}/events{/privacy}`,
    received_events_url: `${base}/received_events`,
    type: actor.type,
    user_view_type: 'public',
    site_admin: false,
  };
}

function markdownToHtml(body: string): string {
  const escaped = body.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return escaped
    .split(/\n{2,}/)
    .map((p) => `<p dir="auto">${p.replace(/\n/g, '<br>\n')}</p>`)
    .join('\n');
}

export function issueComment(
  urls: Urls,
  state: GitHubState,
  c: CommentRecord,
  format: BodyFormat,
): Record<string, unknown> {
  const isPull = state.issues.get(c.issueNumber)?.isPullRequest ?? false;
  const url = `${urls.repoApi}/issues/comments/${c.id}`;
  const bodies: Record<string, string> = {};
  if (format === 'raw' || format === 'full') bodies.body = c.body;
  if (format === 'text' || format === 'full') bodies.body_text = c.body.replace(/<!--[\s\S]*?-->/g, '');
  if (format === 'html' || format === 'full')
    bodies.body_html = markdownToHtml(c.body.replace(/<!--[\s\S]*?-->/g, ''));
  return {
    url,
    html_url: `${urls.repoHtml}/${isPull ? 'pull' : 'issues'}/${c.issueNumber}#issuecomment-${c.id}`,
    issue_url: `${urls.repoApi}/issues/${c.issueNumber}`,
    id: c.id,
    node_id: `IC_kwDO${Buffer.from(`${state.repo.id}:${c.id}`).toString('base64url')}`,
    user: simpleUser(urls, c.user),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    author_association: c.authorAssociation,
    ...bodies,
    reactions: {
      url: `${url}/reactions`,
      total_count: 0,
      '+1': 0,
      '-1': 0,
      laugh: 0,
      hooray: 0,
      confused: 0,
      heart: 0,
      rocket: 0,
      eyes: 0,
    },
    performed_via_github_app: null,
  };
}

export function deployment(urls: Urls, d: DeploymentRecord): Record<string, unknown> {
  const url = `${urls.repoApi}/deployments/${d.id}`;
  return {
    url,
    id: d.id,
    node_id: nodeId('Deployment', d.id),
    task: d.task,
    original_environment: d.originalEnvironment,
    environment: d.environment,
    description: d.description,
    created_at: d.createdAt,
    updated_at: d.updatedAt,
    statuses_url: `${url}/statuses`,
    repository_url: urls.repoApi,
    creator: simpleUser(urls, d.creator),
    sha: d.sha,
    ref: d.ref,
    payload: d.payload,
    transient_environment: d.transientEnvironment,
    production_environment: d.productionEnvironment,
    performed_via_github_app: null,
  };
}

export function deploymentStatus(
  urls: Urls,
  d: DeploymentRecord,
  s: DeploymentStatusRecord,
): Record<string, unknown> {
  const deploymentUrl = `${urls.repoApi}/deployments/${d.id}`;
  return {
    url: `${deploymentUrl}/statuses/${s.id}`,
    id: s.id,
    node_id: nodeId('DeploymentStatus', s.id),
    state: s.state,
    creator: simpleUser(urls, s.creator),
    description: s.description,
    environment: s.environment,
    target_url: s.targetUrl,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    deployment_url: deploymentUrl,
    repository_url: urls.repoApi,
    environment_url: s.environmentUrl,
    log_url: s.logUrl,
    performed_via_github_app: null,
  };
}

export function repository(
  urls: Urls,
  state: GitHubState,
  repo: { owner: string; name: string; id: number; fork: boolean },
): Record<string, unknown> {
  const api = `${urls.api}/repos/${repo.owner}/${repo.name}`;
  const html = `${urls.html}/${repo.owner}/${repo.name}`;
  const isMain = repo.id === state.repo.id;
  const ownerActor: Actor = isMain
    ? { login: state.repo.owner, id: state.repo.ownerId, type: state.repo.ownerType }
    : { login: repo.owner, id: repo.id + 7_000_000, type: 'User' };
  const at = '2024-01-15T09:30:00Z';
  const host = new URL(urls.html).host;
  return {
    id: repo.id,
    node_id: nodeId('Repository', repo.id),
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    private: isMain ? state.repo.private : false,
    owner: simpleUser(urls, ownerActor),
    html_url: html,
    description: null,
    fork: repo.fork,
    url: api,
    archive_url: `${api}/{archive_format}{/ref}`,
    assignees_url: `${api}/assignees{/user}`,
    blobs_url: `${api}/git/blobs{/sha}`,
    branches_url: `${api}/branches{/branch}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`,
    compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`,
    contributors_url: `${api}/contributors`,
    deployments_url: `${api}/deployments`,
    downloads_url: `${api}/downloads`,
    events_url: `${api}/events`,
    forks_url: `${api}/forks`,
    git_commits_url: `${api}/git/commits{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_url: `git://${host}/${repo.owner}/${repo.name}.git`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`,
    keys_url: `${api}/keys{/key_id}`,
    labels_url: `${api}/labels{/name}`,
    languages_url: `${api}/languages`,
    merges_url: `${api}/merges`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    pulls_url: `${api}/pulls{/number}`,
    releases_url: `${api}/releases{/id}`,
    ssh_url: `git@${host}:${repo.owner}/${repo.name}.git`,
    stargazers_url: `${api}/stargazers`,
    statuses_url: `${api}/statuses/{sha}`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    tags_url: `${api}/tags`,
    teams_url: `${api}/teams`,
    trees_url: `${api}/git/trees{/sha}`,
    clone_url: `${html}.git`,
    mirror_url: null,
    hooks_url: `${api}/hooks`,
    svn_url: html,
    homepage: null,
    language: 'Go',
    forks_count: 0,
    stargazers_count: 0,
    watchers_count: 0,
    size: 120,
    default_branch: isMain ? state.repo.defaultBranch : 'main',
    open_issues_count: state.issues.size,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: true,
    has_wiki: false,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: isMain && state.repo.private ? 'private' : 'public',
    pushed_at: at,
    created_at: at,
    updated_at: at,
    allow_forking: true,
    web_commit_signoff_required: false,
    forks: 0,
    open_issues: state.issues.size,
    watchers: 0,
    license: null,
  };
}

function link(href: string): { href: string } {
  return { href };
}

export function pullRequest(urls: Urls, state: GitHubState, pr: PullRequestRecord): Record<string, unknown> {
  const api = `${urls.repoApi}/pulls/${pr.number}`;
  const html = `${urls.repoHtml}/pull/${pr.number}`;
  const issue = `${urls.repoApi}/issues/${pr.number}`;
  const fork = state.isFork(pr);
  const headRepo = repository(urls, state, {
    owner: pr.head.owner,
    name: pr.head.name,
    id: pr.head.repoId,
    fork,
  });
  const baseRepo = repository(urls, state, {
    owner: state.repo.owner,
    name: state.repo.name,
    id: state.repo.id,
    fork: false,
  });
  const commentCount = state.commentsOn(pr.number).length;
  return {
    url: api,
    id: 1_000_000 + pr.number,
    node_id: `PR_kwDO${Buffer.from(`${state.repo.id}:${pr.number}`).toString('base64url')}`,
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: issue,
    number: pr.number,
    state: pr.state,
    locked: false,
    title: pr.title,
    user: simpleUser(urls, pr.user),
    body: pr.body,
    created_at: pr.createdAt,
    updated_at: pr.updatedAt,
    closed_at: pr.closedAt,
    merged_at: pr.mergedAt,
    merge_commit_sha: pr.mergeCommitSha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    labels: pr.labels.map((name, i) => ({
      id: 5_000_000 + i,
      node_id: nodeId('Label', 5_000_000 + i),
      url: `${urls.repoApi}/labels/${encodeURIComponent(name)}`,
      name,
      description: null,
      color: 'ededed',
      default: false,
    })),
    milestone: null,
    draft: pr.draft,
    commits_url: `${api}/commits`,
    review_comments_url: `${api}/comments`,
    review_comment_url: `${urls.repoApi}/pulls/comments{/number}`,
    comments_url: `${issue}/comments`,
    statuses_url: `${urls.repoApi}/statuses/${pr.head.sha}`,
    head: {
      label: `${pr.head.owner}:${pr.head.ref}`,
      ref: pr.head.ref,
      sha: pr.head.sha,
      user: headRepo.owner,
      repo: headRepo,
    },
    base: {
      label: `${state.repo.owner}:${pr.base.ref}`,
      ref: pr.base.ref,
      sha: pr.base.sha,
      user: baseRepo.owner,
      repo: baseRepo,
    },
    _links: {
      self: link(api),
      html: link(html),
      issue: link(issue),
      comments: link(`${issue}/comments`),
      review_comments: link(`${api}/comments`),
      review_comment: link(`${urls.repoApi}/pulls/comments{/number}`),
      commits: link(`${api}/commits`),
      statuses: link(`${urls.repoApi}/statuses/${pr.head.sha}`),
    },
    author_association: 'MEMBER',
    auto_merge: null,
    active_lock_reason: null,
    merged: pr.merged,
    mergeable: pr.state === 'open' ? true : null,
    rebaseable: pr.state === 'open' ? true : null,
    mergeable_state: pr.state === 'open' ? 'clean' : 'unknown',
    merged_by: pr.merged ? simpleUser(urls, pr.user) : null,
    comments: commentCount,
    review_comments: 0,
    maintainer_can_modify: fork,
    commits: 1,
    additions: 1,
    deletions: 0,
    changed_files: 1,
  };
}

export function commit(urls: Urls, c: CommitRecord): Record<string, unknown> {
  return {
    sha: c.sha,
    node_id: `C_kwDO${Buffer.from(c.sha.slice(0, 20), 'hex').toString('base64url')}`,
    commit: {
      author: { ...c.author },
      committer: { ...c.committer },
      message: c.message,
      tree: { sha: c.treeSha, url: `${urls.repoApi}/git/trees/${c.treeSha}` },
      url: `${urls.repoApi}/git/commits/${c.sha}`,
      comment_count: 0,
      verification: {
        verified: false,
        reason: 'unsigned',
        signature: null,
        payload: null,
        verified_at: null,
      },
    },
    url: `${urls.repoApi}/commits/${c.sha}`,
    html_url: `${urls.repoHtml}/commit/${c.sha}`,
    comments_url: `${urls.repoApi}/commits/${c.sha}/comments`,
    // The commit's email matches no account on the fake: GitHub sends null then.
    author: null,
    committer: null,
    parents: c.parents.map((sha) => ({
      sha,
      url: `${urls.repoApi}/commits/${sha}`,
      html_url: `${urls.repoHtml}/commit/${sha}`,
    })),
  };
}

export function diffEntry(urls: Urls, headSha: string, f: FileRecord): Record<string, unknown> {
  const path = f.filename.split('/').map(encodeURIComponent).join('/');
  return {
    sha: f.sha,
    filename: f.filename,
    status: f.status,
    additions: f.additions,
    deletions: f.deletions,
    changes: f.additions + f.deletions,
    blob_url: `${urls.repoHtml}/blob/${headSha}/${path}`,
    raw_url: `${urls.repoHtml}/raw/${headSha}/${path}`,
    contents_url: `${urls.repoApi}/contents/${path}?ref=${headSha}`,
    ...(f.patch !== undefined ? { patch: f.patch } : {}),
    ...(f.previousFilename !== undefined ? { previous_filename: f.previousFilename } : {}),
  };
}

export function commitComparison(
  urls: Urls,
  state: GitHubState,
  cmp: CompareRecord,
  basehead: string,
  page: { commits: CommitRecord[]; files: FileRecord[] },
): Record<string, unknown> {
  const aheadBy = cmp.commits.length;
  const behindBy = cmp.behindBy;
  const status =
    aheadBy === 0 && behindBy === 0
      ? 'identical'
      : behindBy === 0
        ? 'ahead'
        : aheadBy === 0
          ? 'behind'
          : 'diverged';
  const commitOf = (sha: string): CommitRecord => state.commits.get(sha) ?? state.addCommit(sha);
  const [base = '', head = ''] = basehead.split('...');
  const owner = state.repo.owner;
  return {
    url: `${urls.repoApi}/compare/${basehead}`,
    html_url: `${urls.repoHtml}/compare/${basehead}`,
    permalink_url: `${urls.repoHtml}/compare/${owner}:${cmp.baseSha}...${owner}:${cmp.headSha}`,
    diff_url: `${urls.repoHtml}/compare/${base}...${head}.diff`,
    patch_url: `${urls.repoHtml}/compare/${base}...${head}.patch`,
    base_commit: commit(urls, commitOf(cmp.baseSha)),
    merge_base_commit: commit(urls, commitOf(cmp.mergeBaseSha)),
    status,
    ahead_by: aheadBy,
    behind_by: behindBy,
    total_commits: aheadBy,
    commits: page.commits.map((c) => commit(urls, c)),
    files: page.files.map((f) => diffEntry(urls, cmp.headSha, f)),
  };
}
