import type { Plan } from '../plan/types.js';
import { codeSpan, escapeMarkdown, markdownTable, urlLink } from './markdown.js';
import type { FunctionOutcome } from './outputs.js';

const STATUS_SYMBOL: Record<FunctionOutcome['status'], string> = {
  ready: '✅ ready',
  failed: '❌ failed',
  deleted: '🗑️ deleted',
  skipped: '⏭️ skipped',
  planned: '📝 planned',
};

/** The job summary: what the run did (or would do) with each function. */
export function renderSummary(plan: Plan, outcomes: readonly FunctionOutcome[]): string {
  const title = plan.dryRun ? `faas-deploy plan (${plan.mode})` : `faas-deploy ${plan.mode}`;
  const context = [
    `Event: ${codeSpan(plan.eventName || 'none')}`,
    plan.base ? `base ${codeSpan(plan.base.slice(0, 12))}` : undefined,
    plan.head ? `head ${codeSpan(plan.head.slice(0, 12))}` : undefined,
    plan.pullRequest !== undefined ? `pull request #${plan.pullRequest}` : undefined,
  ].filter(Boolean);
  const rows = outcomes.map((outcome) => [
    escapeMarkdown(outcome.name),
    escapeMarkdown(outcome.service),
    outcome.action,
    STATUS_SYMBOL[outcome.status],
    outcome.url ? urlLink(outcome.url) : outcome.image ? codeSpan(outcome.image) : '',
    outcome.reason ? escapeMarkdown(outcome.reason) : '',
  ]);
  const parts = [
    `## ${title}`,
    context.join(' · '),
    outcomes.length > 0
      ? markdownTable(['Function', 'Service', 'Action', 'Status', 'URL / image', 'Note'], rows)
      : '_No functions found._',
  ];
  if (plan.notes.length > 0) parts.push(plan.notes.map((note) => `> ${escapeMarkdown(note)}`).join('\n>\n'));
  return `${parts.join('\n\n')}\n`;
}
