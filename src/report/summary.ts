import type { Plan } from '../plan/types.js';
import { codeSpan, escapeMarkdown, redact } from './markdown.js';
import type { FunctionOutcome } from './outputs.js';
import { curlExamples, failureDetails, summaryTable, type ReportRow } from './rows.js';

export interface SummaryExtras {
  /** Markdown we composed (fork notice, …), shown first. */
  notices?: readonly string[];
  /** Problems with the report itself (the comment could not be written, …): plain text, escaped here. */
  warnings?: readonly string[];
  /** Link to the pull request comment, when one was written or found. */
  commentUrl?: string;
  ingressAddress?: string;
  now?: Date;
  secrets?: readonly string[];
}

function row(outcome: FunctionOutcome, secrets: readonly string[]): ReportRow {
  const clean = (text: string | undefined): string | undefined =>
    text === undefined ? undefined : redact(text, secrets);
  const out: ReportRow = {
    name: outcome.name,
    service: outcome.service,
    action: outcome.action,
    status: outcome.status,
  };
  for (const key of ['url', 'image', 'digest', 'updatedAt'] as const) {
    const value = outcome[key];
    if (value) out[key] = value;
  }
  if (outcome.buildSeconds !== undefined) out.buildSeconds = outcome.buildSeconds;
  if (outcome.buildSkipped) out.buildSkipped = true;
  const reason = clean(outcome.reason);
  if (reason) out.reason = reason;
  const log = clean(outcome.logTail);
  if (log) out.logTail = log;
  return out;
}

/** The job summary: what the run did (or would do) with each function, for every event. */
export function renderSummary(
  plan: Plan,
  outcomes: readonly FunctionOutcome[],
  extras: SummaryExtras = {},
): string {
  const now = extras.now ?? new Date();
  const secrets = extras.secrets ?? [];
  const title = plan.dryRun ? `faas-deploy plan (${plan.mode})` : `faas-deploy ${plan.mode}`;
  const context = [
    `Event: ${codeSpan(plan.eventName || 'none')}`,
    plan.base ? `base ${codeSpan(plan.base.slice(0, 12))}` : undefined,
    plan.head ? `head ${codeSpan(plan.head.slice(0, 12))}` : undefined,
    plan.pullRequest !== undefined ? `pull request #${plan.pullRequest}` : undefined,
  ].filter(Boolean);
  const rows = outcomes.map((outcome) => row(outcome, secrets));
  const parts = [`## ${title}`, context.join(' · '), ...(extras.notices ?? [])];
  parts.push(rows.length > 0 ? summaryTable(rows, now) : '_No functions found._');
  const examples = curlExamples(rows, extras.ingressAddress ?? '');
  if (examples) parts.push('### Try it', examples);
  const failures = failureDetails(rows, true);
  if (failures) parts.push('### Failures', failures);
  if (plan.notes.length > 0) parts.push(plan.notes.map((note) => `> ${escapeMarkdown(note)}`).join('\n>\n'));
  if (extras.commentUrl) parts.push(`Pull request comment: <${extras.commentUrl}>`);
  for (const warning of extras.warnings ?? [])
    parts.push(`> [!WARNING]\n> ${escapeMarkdown(redact(warning, secrets))}`);
  return `${parts.join('\n\n')}\n`;
}
