// The report stage: the pull request comment, the job summary and the outputs, in that order (the
// comment's id is an output, and the summary links the comment and says when it failed).
import * as core from '@actions/core';
import type { EventInfo } from '../plan/event.js';
import type { Plan } from '../plan/types.js';
import { describeError } from '../util/errors.js';
import { VERSION } from '../version.js';
import { renderComment, upsertComment, type CommentApi } from './comment.js';
import { errorStatus } from './github.js';
import { collectOutputs, outputValues, type ActionOutputs, type FunctionOutcome } from './outputs.js';
import type { RunKey } from './state.js';
import { renderSummary } from './summary.js';

/**
 * What the report knows about the run besides the plan and the outcomes. Made once, when the report
 * is made (after the deploy, which may learn the ingress address), and never changed afterwards.
 */
export interface ReportContext {
  /** GITHUB_RUN_ID and GITHUB_RUN_ATTEMPT: which run is newer when two race for the comment. */
  readonly run: RunKey;
  readonly runUrl?: string;
  /** https://github.com, for links to the comment. */
  readonly serverUrl?: string;
  readonly repo?: { readonly owner: string; readonly name: string };
  /** The commit deployed (the pull request's head). */
  readonly commit?: string;
  readonly pullRequest?: { readonly number: number; readonly headRef?: string; readonly merged?: boolean };
  /** For the curl examples: input ingress-address, else the ingress Service's address; '' when unknown. */
  readonly ingressAddress: string;
  /** Values never to show (masked as ***): tokens, passwords. */
  readonly secrets?: readonly string[];
  readonly now?: Date;
}

/** Where the report goes; the default writes through @actions/core (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY). */
export interface ReportSink {
  setOutput(name: string, value: string): void;
  writeSummary(markdown: string): Promise<void>;
  warning(message: string): void;
}

export const actionsSink: ReportSink = {
  setOutput: (name, value) => {
    core.setOutput(name, value);
  },
  writeSummary: async (markdown) => {
    await core.summary.addRaw(markdown).write();
  },
  warning: (message) => {
    core.warning(message);
  },
};

export interface ReportOptions {
  /** Undefined: no comment (no token, input comment false, CLI). */
  github: CommentApi | undefined;
  plan: Plan;
  outcomes: readonly FunctionOutcome[];
  context: ReportContext;
  /** Markdown shown at the top of the summary (e.g. forkNotice().markdown). */
  notices?: readonly string[];
  sink?: ReportSink;
  /** Pause before checking a comment we wrote (see upsertComment). */
  settleMs?: number;
}

export interface ReportResult {
  commentId?: number;
  /** Already passed to sink.warning. */
  warnings: string[];
  outputs: ActionOutputs;
  summary: string;
}

/** Whether this run keeps the pull request comment: a real preview or cleanup of a pull request. */
export function wantsComment(plan: Plan, pullRequest: number | undefined): boolean {
  return pullRequest !== undefined && !plan.dryRun && (plan.mode === 'preview' || plan.mode === 'cleanup');
}

/** A warning for an error from the GitHub API while writing the comment. */
export function commentWarning(error: unknown): string {
  const status = errorStatus(error);
  const text = describeError(error);
  if (status === 403 || status === 404) {
    return `Could not write the pull request comment (${status}: ${text}). The token needs "pull-requests: write" (or "issues: write"); a pull request from a fork gets a read-only token. See docs/troubleshooting.md, "The pull request comment". The job summary has the results.`;
  }
  return `Could not write the pull request comment: ${text}. The job summary has the results.`;
}

function commentUrl(context: ReportContext, id: number): string | undefined {
  const { serverUrl, repo, pullRequest } = context;
  if (!serverUrl || !repo || !pullRequest) return undefined;
  const url = `${serverUrl.replace(/\/+$/, '')}/${repo.owner}/${repo.name}/pull/${pullRequest.number}#issuecomment-${id}`;
  return /^https?:\/\/[A-Za-z0-9.:-]+\/[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+\/pull\/\d+#issuecomment-\d+$/.test(
    url,
  )
    ? url
    : undefined;
}

/**
 * Reports a run: keeps the pull request comment (when `github` is given and the run previews or
 * cleans up a pull request), writes the job summary and sets the outputs. Never throws for a
 * comment it cannot write: that becomes a warning, and the summary still has everything.
 */
export async function reportRun(options: ReportOptions): Promise<ReportResult> {
  const { plan, outcomes, context } = options;
  const sink = options.sink ?? actionsSink;
  const now = context.now ?? new Date();
  const secrets = context.secrets ?? [];
  const warnings: string[] = [];
  let commentId: number | undefined;

  const pr = context.pullRequest;
  if (options.github && pr && wantsComment(plan, pr.number)) {
    try {
      const result = await upsertComment({
        api: options.github,
        issueNumber: pr.number,
        run: context.run,
        ...(options.settleMs !== undefined ? { settleMs: options.settleMs } : {}),
        render: (previous) =>
          renderComment({
            plan,
            outcomes,
            ...(previous ? { previous } : {}),
            run: context.run,
            prNumber: pr.number,
            ...(context.commit ? { commit: context.commit } : {}),
            ...(context.runUrl ? { runUrl: context.runUrl } : {}),
            ...(pr.headRef ? { branch: pr.headRef } : {}),
            ...(pr.merged ? { merged: true } : {}),
            ingressAddress: context.ingressAddress,
            now,
            version: VERSION,
            secrets,
          }),
      });
      commentId = result.commentId;
      if (result.newerRun) {
        core.info(
          `The pull request comment already reports a newer run (${result.newerRun.id}, attempt ${result.newerRun.attempt}); left as it is.`,
        );
      }
      if (result.unsettled)
        warnings.push(
          'The pull request comment kept changing while this run wrote it; it may not show this run.',
        );
    } catch (error) {
      warnings.push(commentWarning(error));
    }
  }

  const outputs = collectOutputs(plan, outcomes, commentId);
  const link = commentId !== undefined ? commentUrl(context, commentId) : undefined;
  const summary = renderSummary(plan, outcomes, {
    ...(options.notices ? { notices: options.notices } : {}),
    warnings,
    ...(link ? { commentUrl: link } : {}),
    ingressAddress: context.ingressAddress,
    now,
    secrets,
  });
  for (const warning of warnings) sink.warning(warning);
  for (const [name, value] of Object.entries(outputValues(outputs))) sink.setOutput(name, value);
  try {
    await sink.writeSummary(summary);
  } catch (error) {
    // No GITHUB_STEP_SUMMARY (a local run): the outputs and the log still have it all.
    const warning = `Could not write the job summary: ${describeError(error)}`;
    warnings.push(warning);
    sink.warning(warning);
  }
  return { ...(commentId !== undefined ? { commentId } : {}), warnings, outputs, summary };
}

/** The report context from the runner's environment and the event. */
export function reportContextFromEnv(
  env: NodeJS.ProcessEnv,
  event: EventInfo,
  settings: { ingressAddress: string; secrets?: readonly string[] },
): ReportContext {
  const id = Number(env['GITHUB_RUN_ID'] ?? '');
  const attempt = Number(env['GITHUB_RUN_ATTEMPT'] ?? '');
  const run: RunKey = {
    id: Number.isSafeInteger(id) && id > 0 ? id : 0,
    attempt: Number.isSafeInteger(attempt) && attempt > 0 ? attempt : 1,
  };
  const [owner, name] = (env['GITHUB_REPOSITORY'] ?? '').split('/');
  const repo = owner && name ? { owner, name } : event.repository;
  const serverUrl = env['GITHUB_SERVER_URL'] || 'https://github.com';
  const pr = event.pullRequest;
  return {
    run,
    serverUrl,
    ...(repo ? { repo: { owner: repo.owner, name: repo.name } } : {}),
    ...(repo && run.id > 0
      ? { runUrl: `${serverUrl}/${repo.owner}/${repo.name}/actions/runs/${run.id}/attempts/${run.attempt}` }
      : {}),
    ...(event.headSha ? { commit: event.headSha } : {}),
    ...(pr ? { pullRequest: { number: pr.number, headRef: pr.headRef, merged: pr.merged } } : {}),
    ingressAddress: settings.ingressAddress,
    ...(settings.secrets ? { secrets: settings.secrets } : {}),
  };
}
