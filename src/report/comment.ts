// The sticky PR comment: its text, and how it is written so that a pull request has
// exactly one, showing the newest run, even when runs race.
import type { Plan } from '../plan/types.js';
import { codeSpan, escapeMarkdown, isPlainUrl, redact, truncate } from './markdown.js';
import type { FunctionOutcome } from './outputs.js';
import { commentTable, curlExamples, failureDetails, type ReportRow } from './rows.js';
import {
  COMMENT_MARKER,
  compareRuns,
  decodeState,
  encodeState,
  type CommentState,
  type RunKey,
  type StateRow,
} from './state.js';

// ---- the text ------------------------------------------------------------------------------------

export interface CommentInput {
  plan: Plan;
  outcomes: readonly FunctionOutcome[];
  /** State of the comment as it is now, when there is one. */
  previous?: CommentState;
  run: RunKey;
  prNumber: number;
  commit?: string;
  runUrl?: string;
  /** Head branch of the pull request: untrusted. */
  branch?: string;
  merged?: boolean;
  ingressAddress: string;
  now: Date;
  version: string;
  /** Values that must not appear in the comment (masked as ***). */
  secrets: readonly string[];
}

/** GitHub refuses comments over 65,536 characters; stay well below. */
export const MAX_COMMENT_LENGTH = 60_000;
const MAX_STATE_REASON = 500;

function rowFromOutcome(outcome: FunctionOutcome, input: CommentInput): ReportRow {
  const clean = (text: string | undefined): string | undefined =>
    text === undefined ? undefined : redact(text, input.secrets);
  const row: ReportRow = {
    name: outcome.name,
    service: outcome.service,
    action: outcome.action,
    status: outcome.status,
    updatedAt: outcome.updatedAt ?? input.now.toISOString(),
  };
  if (outcome.url) row.url = outcome.url;
  if (outcome.image) row.image = outcome.image;
  if (outcome.digest) row.digest = outcome.digest;
  if (outcome.buildSeconds !== undefined) row.buildSeconds = outcome.buildSeconds;
  if (outcome.buildSkipped) row.buildSkipped = true;
  if (input.commit) row.commit = input.commit;
  const reason = clean(outcome.reason);
  if (reason) row.reason = reason;
  const log = clean(outcome.logTail);
  if (log) row.logTail = log;
  return row;
}

function rowFromState(row: StateRow): ReportRow {
  return { ...row, unchanged: true };
}

function stateRow(row: ReportRow): StateRow {
  const out: StateRow = { name: row.name, service: row.service, status: row.status };
  if (row.url) out.url = row.url;
  if (row.digest) out.digest = row.digest;
  if (row.buildSeconds !== undefined) out.buildSeconds = row.buildSeconds;
  if (row.buildSkipped) out.buildSkipped = true;
  if (row.updatedAt) out.updatedAt = row.updatedAt;
  if (row.commit) out.commit = row.commit;
  if (row.reason) out.reason = truncate(row.reason, MAX_STATE_REASON);
  return out;
}

/**
 * The rows of the comment: every function this run acted on, then, for functions it skipped, the
 * row the previous comment had for them (a live preview from an earlier push), marked unchanged.
 */
export function commentRows(input: CommentInput): { rows: ReportRow[]; notPreviewed: number } {
  const previous = input.previous && !input.previous.closed ? input.previous.rows : [];
  const rows: ReportRow[] = [];
  let notPreviewed = 0;
  for (const outcome of input.outcomes) {
    if (outcome.action !== 'skip') {
      rows.push(rowFromOutcome(outcome, input));
      continue;
    }
    const kept = previous.find(
      (row) => row.name === outcome.name && (row.status === 'ready' || row.status === 'failed'),
    );
    if (kept) rows.push(rowFromState(kept));
    else notPreviewed++;
  }
  return { rows, notPreviewed };
}

interface Layout {
  withLogs: boolean;
  curlLimit: number;
  rowLimit: number;
}

function compose(input: CommentInput, rows: ReportRow[], notPreviewed: number, layout: Layout): string {
  const closed = input.plan.mode === 'cleanup';
  const shown = rows.slice(0, layout.rowLimit);
  const state: CommentState = {
    v: 1,
    pr: input.prNumber,
    run: input.run,
    ...(input.commit ? { commit: input.commit } : {}),
    ...(closed ? { closed: true } : {}),
    rows: shown.map(stateRow),
  };
  const commit = input.commit ? codeSpan(input.commit.slice(0, 7)) : undefined;
  const run =
    input.runUrl && isPlainUrl(input.runUrl)
      ? `[run ${input.run.id}](${input.runUrl})`
      : `run ${input.run.id}`;
  const context = [
    input.branch ? `Branch ${escapeMarkdown(truncate(input.branch, 120))}` : undefined,
    commit ? `commit ${commit}` : undefined,
    run,
    `updated ${input.now.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  ]
    .filter(Boolean)
    .join(' · ');
  const parts: string[] = [COMMENT_MARKER, encodeState(state)];
  if (closed) {
    const failed = shown.filter((row) => row.status === 'failed');
    parts.push(
      '### 🧹 Function previews removed',
      `This pull request was ${input.merged ? 'merged' : 'closed'}, so its previews were removed. ${context}`,
    );
    if (shown.length > 0) parts.push(commentTable(shown, input.now));
    if (failed.length > 0) {
      parts.push(
        `⚠️ ${failed.length} preview(s) could not be removed; delete them by hand or re-run the workflow.`,
        failureDetails(failed, layout.withLogs),
      );
    }
  } else {
    parts.push('### ⚡ Function previews', context);
    parts.push(
      shown.length > 0 ? commentTable(shown, input.now) : '_No function previews for this pull request._',
    );
    if (rows.length > shown.length) {
      parts.push(`_…and ${rows.length - shown.length} more functions: see the job summary of the run._`);
    }
    if (notPreviewed > 0) {
      parts.push(
        `${notPreviewed} function${notPreviewed === 1 ? '' : 's'} that this pull request does not change ${notPreviewed === 1 ? 'has' : 'have'} no preview.`,
      );
    }
    const examples = curlExamples(shown, input.ingressAddress, layout.curlLimit);
    if (examples) parts.push('#### Try it', examples);
    const failures = failureDetails(shown, layout.withLogs);
    if (failures) parts.push('#### Failures', failures);
  }
  parts.push(`<sub>faas-deploy ${escapeMarkdown(input.version)}</sub>`);
  return `${parts.join('\n\n')}\n`;
}

/**
 * The comment body, or undefined when there is nothing worth a new comment (no previous comment, and
 * this run previewed nothing; or the pull request closed without ever having had a comment).
 */
export function renderComment(input: CommentInput): string | undefined {
  const { rows, notPreviewed } = commentRows(input);
  if (!input.previous && (rows.length === 0 || input.plan.mode === 'cleanup')) return undefined;
  // Shrink until it fits: logs go first, then most curl examples, then rows.
  const layouts: Layout[] = [
    { withLogs: true, curlLimit: Infinity, rowLimit: Infinity },
    { withLogs: false, curlLimit: Infinity, rowLimit: Infinity },
    { withLogs: false, curlLimit: 10, rowLimit: Infinity },
  ];
  for (let limit = rows.length; limit >= 1; limit = Math.floor(limit / 2))
    layouts.push({ withLogs: false, curlLimit: 10, rowLimit: limit });
  for (const layout of layouts) {
    const body = compose(input, rows, notPreviewed, layout);
    if (body.length <= MAX_COMMENT_LENGTH) return body;
  }
  return compose(input, rows, notPreviewed, { withLogs: false, curlLimit: 0, rowLimit: 0 });
}

// ---- writing it ----------------------------------------------------------------------------------

/** An issue comment as the report needs it. */
export interface IssueComment {
  id: number;
  body: string;
  /** Login and type ('Bot', 'User', …) of the author; null for a deleted account. */
  user: { login: string; type: string } | null;
  authorAssociation: string;
}

/** The GitHub calls the comment needs: a narrow interface over octokit (see github.ts). */
export interface CommentApi {
  /** Every comment on the issue, all pages, oldest first. */
  listComments(issueNumber: number): Promise<IssueComment[]>;
  createComment(issueNumber: number, body: string): Promise<IssueComment>;
  updateComment(commentId: number, body: string): Promise<IssueComment>;
  /** Resolves also when the comment is already gone. */
  deleteComment(commentId: number): Promise<void>;
}

const WRITE_ACCESS = new Set(['OWNER', 'MEMBER', 'COLLABORATOR']);

/**
 * Our comments: the marker first, written by a bot (the workflow's token or an app) or by someone
 * with write access (a personal token). A pull request author without write access could post a
 * comment with the marker and forged state; we neither read nor edit it.
 */
export function isReportComment(comment: IssueComment): boolean {
  if (!comment.body.startsWith(COMMENT_MARKER) || !comment.user) return false;
  return comment.user.type === 'Bot' || WRITE_ACCESS.has(comment.authorAssociation);
}

export interface UpsertOptions {
  api: CommentApi;
  issueNumber: number;
  run: RunKey;
  /** The body for the comment whose state is `previous`; undefined to write nothing. */
  render: (previous: CommentState | undefined) => string | undefined;
  /** Pause between our write and the listing that checks it. Default 1000 ms. */
  settleMs?: number;
  /** Listings before giving up on a comment that keeps changing. Default 6. */
  maxRounds?: number;
}

export interface UpsertResult {
  commentId?: number;
  /** We wrote the comment that is now the pull request's comment. */
  written: boolean;
  /** A newer run already owns the comment; we left it as it was. */
  newerRun?: RunKey;
  /** Duplicates removed along the way. */
  deleted: number[];
  /** The comment kept changing under us for `maxRounds` listings. */
  unsettled?: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates or edits the pull request's comment so that it ends up the only one and shows the newest
 * run (by GITHUB_RUN_ID and attempt). Each round lists every comment (all pages), keeps the oldest of
 * ours, deletes the younger duplicates, and then:
 * - the kept comment records a newer run → stop, leave it;
 * - it records this run, written by this call, seen after a pause → done;
 * - otherwise (older run, no state, or a comment we just created that lost to an older one) → write
 *   this run's body into it, pause, list again.
 * The pause-and-list after every write catches an older run that overwrote us in between (its
 * check and its write are not atomic: GitHub has no conditional update), and a duplicate created
 * at the same moment as ours, whichever run deletes it.
 */
export async function upsertComment(options: UpsertOptions): Promise<UpsertResult> {
  const { api, issueNumber, run } = options;
  const settleMs = options.settleMs ?? 1000;
  const maxRounds = options.maxRounds ?? 6;
  const deleted: number[] = [];
  let wrote: number | undefined;

  for (let round = 0; round < maxRounds; round++) {
    const ours = (await api.listComments(issueNumber)).filter(isReportComment).sort((a, b) => a.id - b.id);
    const [keeper, ...duplicates] = ours;
    for (const duplicate of duplicates) {
      await api.deleteComment(duplicate.id);
      deleted.push(duplicate.id);
    }
    if (!keeper) {
      const body = options.render(undefined);
      if (body === undefined) return { written: false, deleted };
      wrote = (await api.createComment(issueNumber, body)).id;
      await sleep(settleMs);
      continue;
    }
    const state = decodeState(keeper.body);
    const order = state ? compareRuns(state.run, run) : -1;
    if (order > 0) return { commentId: keeper.id, written: false, newerRun: state?.run ?? run, deleted };
    if (order === 0 && wrote === keeper.id) return { commentId: keeper.id, written: true, deleted };
    const body = options.render(state);
    if (body === undefined) return { commentId: keeper.id, written: false, deleted };
    wrote = (await api.updateComment(keeper.id, body)).id;
    await sleep(settleMs);
  }
  return {
    ...(wrote !== undefined ? { commentId: wrote } : {}),
    written: wrote !== undefined,
    deleted,
    unsettled: true,
  };
}
