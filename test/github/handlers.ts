// Stateful handlers for the operations faas-deploy uses. Requests reaching a handler have already been
// routed, authenticated and validated against the OpenAPI description; responses are validated again
// by the server before they leave.
import {
  commitComparison,
  deployment,
  deploymentStatus,
  issueComment,
  pullRequest,
  type BodyFormat,
  type Urls,
} from './objects.ts';
import type { Operation } from './spec.ts';
import type { DeploymentRecord, DeploymentState, DeploymentStatusRecord, GitHubState } from './state.ts';

export interface HandlerContext {
  op: Operation;
  /** Path parameters, decoded and coerced (issue_number is a number). */
  params: Record<string, unknown>;
  /** Known query parameters, coerced; unknown ones are dropped as GitHub ignores them. */
  query: Record<string, unknown>;
  /** The query string as sent, for Link headers. */
  rawQuery: URLSearchParams;
  body: Record<string, unknown>;
  state: GitHubState;
  urls: Urls;
  format: BodyFormat;
  /** The request path with /repos/{owner}/{repo} replaced by /repositories/{id}, as GitHub writes Link URLs. */
  linkPath: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (ctx: HandlerContext) => Reply;

export function errorBody(
  status: number,
  message: string,
  docUrl: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { message, ...extra, documentation_url: docUrl, status: String(status) };
}

function notFound(ctx: HandlerContext): Reply {
  return { status: 404, body: errorBody(404, 'Not Found', ctx.op.docUrl) };
}

function validationFailed(ctx: HandlerContext, errors: Array<Record<string, unknown>>): Reply {
  return { status: 422, body: errorBody(422, 'Validation Failed', ctx.op.docUrl, { errors }) };
}

/**
 * Slices `items` by per_page/page and builds GitHub's Link header: prev, next, last, first, in that
 * order, each URL keeping the request's query with `page` replaced (appended when absent).
 */
export function paginate<T>(
  ctx: HandlerContext,
  items: T[],
  opts: { defaultPerPage?: number; maxPerPage?: number } = {},
): { items: T[]; headers: Record<string, string> } {
  const max = opts.maxPerPage ?? 100;
  const requested = typeof ctx.query.per_page === 'number' ? ctx.query.per_page : undefined;
  const perPage =
    requested === undefined || requested < 1 ? (opts.defaultPerPage ?? 30) : Math.min(requested, max);
  const page = typeof ctx.query.page === 'number' && ctx.query.page > 1 ? ctx.query.page : 1;
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const headers: Record<string, string> = {};
  if (items.length > perPage || page > 1) {
    const pageUrl = (n: number): string => {
      const q = new URLSearchParams(ctx.rawQuery);
      if (q.has('page')) q.set('page', String(n));
      else q.append('page', String(n));
      return `${ctx.urls.api}${ctx.linkPath}?${q.toString()}`;
    };
    const rels: string[] = [];
    if (page > 1) rels.push(`<${pageUrl(Math.min(page - 1, last))}>; rel="prev"`);
    if (page < last) rels.push(`<${pageUrl(page + 1)}>; rel="next"`);
    if (page < last) rels.push(`<${pageUrl(last)}>; rel="last"`);
    if (page > 1) rels.push(`<${pageUrl(1)}>; rel="first"`);
    headers.link = rels.join(', ');
  }
  return { items: slice, headers };
}

// ---- issue comments --------------------------------------------------------------------------------

const MAX_COMMENT = 65536;

function commentTooLong(ctx: HandlerContext, body: string): Reply | undefined {
  if (body.length <= MAX_COMMENT) return undefined;
  return validationFailed(ctx, [
    {
      resource: 'IssueComment',
      code: 'custom',
      field: 'body',
      message: `body is too long (maximum is ${MAX_COMMENT} characters)`,
    },
  ]);
}

const listComments: Handler = (ctx) => {
  const n = ctx.params.issue_number as number;
  if (!ctx.state.issues.has(n)) return notFound(ctx);
  let comments = [...ctx.state.commentsOn(n)].sort((a, b) => a.id - b.id);
  if (typeof ctx.query.since === 'string') {
    const since = Date.parse(ctx.query.since);
    comments = comments.filter((c) => Date.parse(c.updatedAt) >= since);
  }
  const { items, headers } = paginate(ctx, comments);
  return { status: 200, body: items.map((c) => issueComment(ctx.urls, ctx.state, c, ctx.format)), headers };
};

const createComment: Handler = (ctx) => {
  const n = ctx.params.issue_number as number;
  if (!ctx.state.issues.has(n)) return notFound(ctx);
  const body = ctx.body.body as string;
  const tooLong = commentTooLong(ctx, body);
  if (tooLong) return tooLong;
  const comment = ctx.state.addComment(n, body, { user: ctx.state.actor, authorAssociation: 'NONE' });
  const json = issueComment(ctx.urls, ctx.state, comment, ctx.format);
  return { status: 201, body: json, headers: { location: json.url as string } };
};

const getComment: Handler = (ctx) => {
  const comment = ctx.state.findComment(ctx.params.comment_id as number);
  if (!comment) return notFound(ctx);
  return { status: 200, body: issueComment(ctx.urls, ctx.state, comment, ctx.format) };
};

const updateComment: Handler = (ctx) => {
  const comment = ctx.state.findComment(ctx.params.comment_id as number);
  if (!comment) return notFound(ctx);
  const body = ctx.body.body as string;
  const tooLong = commentTooLong(ctx, body);
  if (tooLong) return tooLong;
  comment.body = body;
  comment.updatedAt = ctx.state.now();
  return { status: 200, body: issueComment(ctx.urls, ctx.state, comment, ctx.format) };
};

const deleteComment: Handler = (ctx) => {
  if (!ctx.state.deleteComment(ctx.params.comment_id as number)) return notFound(ctx);
  return { status: 204 };
};

// ---- pulls -----------------------------------------------------------------------------------------

const getPull: Handler = (ctx) => {
  const pr = ctx.state.pulls.get(ctx.params.pull_number as number);
  if (!pr) return notFound(ctx);
  return { status: 200, body: pullRequest(ctx.urls, ctx.state, pr) };
};

// ---- compare ---------------------------------------------------------------------------------------

const MAX_COMPARE_COMMITS = 250;
const MAX_COMPARE_FILES = 300;

const compare: Handler = (ctx) => {
  const basehead =
    typeof ctx.params.basehead === 'string'
      ? ctx.params.basehead
      : `${String(ctx.params.base)}...${String(ctx.params.head)}`;
  const sep = basehead.indexOf('...');
  if (sep <= 0 || sep + 3 >= basehead.length) return notFound(ctx);
  const cmp = ctx.state.findCompare(basehead.slice(0, sep), basehead.slice(sep + 3));
  if (!cmp) return notFound(ctx);
  const paging = ctx.rawQuery.has('per_page') || ctx.rawQuery.has('page');
  if (!paging) {
    // Without paging parameters: the last 250 commits (the newest is last) and at most 300 files.
    return {
      status: 200,
      body: commitComparison(ctx.urls, ctx.state, cmp, basehead, {
        commits: cmp.commits.slice(-MAX_COMPARE_COMMITS),
        files: cmp.files.slice(0, MAX_COMPARE_FILES),
      }),
    };
  }
  // With paging: commits page by page, oldest first; the (300-capped) file list only on page 1.
  const { items, headers } = paginate(ctx, cmp.commits);
  const page = typeof ctx.query.page === 'number' && ctx.query.page > 1 ? ctx.query.page : 1;
  return {
    status: 200,
    body: commitComparison(ctx.urls, ctx.state, cmp, basehead, {
      commits: items,
      files: page === 1 ? cmp.files.slice(0, MAX_COMPARE_FILES) : [],
    }),
    headers,
  };
};

// ---- deployments -----------------------------------------------------------------------------------

function latestStatus(d: DeploymentRecord): DeploymentStatusRecord | undefined {
  return d.statuses[d.statuses.length - 1];
}

const createDeployment: Handler = (ctx) => {
  const { state } = ctx;
  const b = ctx.body;
  const ref = b.ref as string;
  const sha = state.resolveRef(ref);
  if (!sha) return { status: 422, body: errorBody(422, `No ref found for: ${ref}`, ctx.op.docUrl) };
  const branch = state.branches.get(ref.replace(/^refs\/heads\//, ''));
  if (b.auto_merge !== false && branch?.behindDefault && branch.name !== state.repo.defaultBranch) {
    if (branch.mergeConflict) return { status: 409, body: errorBody(409, 'Merge conflict', ctx.op.docUrl) };
    branch.behindDefault = false;
    branch.sha = state.mergeSha(`auto-merge:${branch.name}:${branch.sha}`);
    state.addCommit(branch.sha);
    return {
      status: 202,
      body: { message: `Auto-merged ${state.repo.defaultBranch} into ${branch.name} on deployment.` },
    };
  }
  const statuses = state.commitStatuses.get(sha) ?? [];
  const required = Array.isArray(b.required_contexts)
    ? (b.required_contexts as string[])
    : [...new Set(statuses.map((s) => s.context))];
  const failing = required.filter(
    (context) => statuses.find((s) => s.context === context)?.state !== 'success',
  );
  if (failing.length > 0) {
    return {
      status: 409,
      body: errorBody(409, `Conflict: Commit status checks failed for ${ref}.`, ctx.op.docUrl, {
        errors: [
          {
            contexts: required.map((context) => ({
              context,
              state: statuses.find((s) => s.context === context)?.state ?? 'missing',
            })),
            resource: 'Deployment',
            field: 'required_contexts',
            code: 'invalid',
          },
        ],
      }),
    };
  }
  const environment = (b.environment as string | undefined) ?? 'production';
  let payload: Record<string, unknown> | string = {};
  if (typeof b.payload === 'object' && b.payload !== null) payload = b.payload as Record<string, unknown>;
  else if (typeof b.payload === 'string' && b.payload !== '') {
    try {
      const parsed: unknown = JSON.parse(b.payload);
      payload =
        parsed && typeof parsed === 'object' && !Array.isArray(parsed)
          ? (parsed as Record<string, unknown>)
          : b.payload;
    } catch {
      payload = b.payload;
    }
  }
  const now = state.now();
  const record: DeploymentRecord = {
    id: state.nextId('deployment'),
    sha,
    ref,
    task: (b.task as string | undefined) ?? 'deploy',
    payload,
    originalEnvironment: environment,
    environment,
    description: b.description === undefined ? '' : (b.description as string | null),
    transientEnvironment: (b.transient_environment as boolean | undefined) ?? false,
    productionEnvironment: (b.production_environment as boolean | undefined) ?? environment === 'production',
    creator: state.actor,
    createdAt: now,
    updatedAt: now,
    statuses: [],
  };
  state.deployments.push(record);
  return { status: 201, body: deployment(ctx.urls, record) };
};

const createDeploymentStatus: Handler = (ctx) => {
  const { state } = ctx;
  const d = state.findDeployment(ctx.params.deployment_id as number);
  if (!d) return notFound(ctx);
  const b = ctx.body;
  const description = (b.description as string | undefined) ?? '';
  if (description.length > 140) {
    return validationFailed(ctx, [
      {
        resource: 'DeploymentStatus',
        code: 'custom',
        field: 'description',
        message: 'description is too long (maximum is 140 characters)',
      },
    ]);
  }
  const logUrl = (b.log_url as string | undefined) ?? (b.target_url as string | undefined) ?? '';
  const environment = (b.environment as string | undefined) ?? latestStatus(d)?.environment ?? d.environment;
  const now = state.now();
  const status: DeploymentStatusRecord = {
    id: state.nextId('deployment-status'),
    state: b.state as DeploymentState,
    description,
    environment,
    targetUrl: logUrl,
    logUrl,
    environmentUrl: (b.environment_url as string | undefined) ?? '',
    creator: state.actor,
    createdAt: now,
    updatedAt: now,
  };
  d.statuses.push(status);
  d.environment = environment;
  d.updatedAt = now;
  if (status.state === 'success' && b.auto_inactive !== false) {
    for (const other of state.deployments) {
      if (other === d || other.id > d.id || other.environment !== d.environment) continue;
      if (other.transientEnvironment || other.productionEnvironment) continue;
      if (latestStatus(other)?.state !== 'success') continue;
      other.statuses.push({
        ...status,
        id: state.nextId('deployment-status'),
        state: 'inactive',
        description: '',
        environment: other.environment,
      });
      other.updatedAt = now;
    }
  }
  const json = deploymentStatus(ctx.urls, d, status);
  return { status: 201, body: json, headers: { location: json.url as string } };
};

const listDeployments: Handler = (ctx) => {
  const q = ctx.query;
  const matches = ctx.state.deployments
    .filter((d) => (typeof q.sha === 'string' ? d.sha === q.sha : true))
    .filter((d) => (typeof q.ref === 'string' ? d.ref === q.ref : true))
    .filter((d) => (typeof q.task === 'string' ? d.task === q.task : true))
    .filter((d) => (typeof q.environment === 'string' ? d.environment === q.environment : true))
    .sort((a, b) => b.id - a.id);
  const { items, headers } = paginate(ctx, matches);
  return { status: 200, body: items.map((d) => deployment(ctx.urls, d)), headers };
};

const getDeployment: Handler = (ctx) => {
  const d = ctx.state.findDeployment(ctx.params.deployment_id as number);
  return d ? { status: 200, body: deployment(ctx.urls, d) } : notFound(ctx);
};

const listDeploymentStatuses: Handler = (ctx) => {
  const d = ctx.state.findDeployment(ctx.params.deployment_id as number);
  if (!d) return notFound(ctx);
  const { items, headers } = paginate(ctx, [...d.statuses].reverse());
  return { status: 200, body: items.map((s) => deploymentStatus(ctx.urls, d, s)), headers };
};

const deleteDeployment: Handler = (ctx) => {
  const { state } = ctx;
  const d = state.findDeployment(ctx.params.deployment_id as number);
  if (!d) return notFound(ctx);
  const sameEnvironment = state.deployments.filter((x) => x.environment === d.environment);
  if (sameEnvironment.length > 1 && latestStatus(d)?.state !== 'inactive') {
    return {
      status: 422,
      body: {
        message:
          'We cannot delete an active deployment unless it is the only deployment in a given environment.',
        documentation_url: ctx.op.docUrl,
        status: '422',
      },
    };
  }
  state.deployments.splice(state.deployments.indexOf(d), 1);
  return { status: 204 };
};

export const handlers: Record<string, Handler> = {
  'issues/list-comments': listComments,
  'issues/create-comment': createComment,
  'issues/get-comment': getComment,
  'issues/update-comment': updateComment,
  'issues/delete-comment': deleteComment,
  'pulls/get': getPull,
  'repos/compare-commits': compare,
  'repos/compare-commits-with-basehead': compare,
  'repos/create-deployment': createDeployment,
  'repos/create-deployment-status': createDeploymentStatus,
  'repos/list-deployments': listDeployments,
  'repos/get-deployment': getDeployment,
  'repos/list-deployment-statuses': listDeploymentStatuses,
  'repos/delete-deployment': deleteDeployment,
};
