// `mode: sweep` (a scheduled workflow): the previews of pull requests that closed while no workflow
// ran, and previews older than input `preview-ttl`, are deleted. Pure: the previews this
// repository owns, what GitHub says of each pull request and the clock in; the deletions out.
import type { LiveServiceInfo } from '../kube/ownership.js';

export type PullRequestState = 'open' | 'closed' | 'unknown';

export interface SweepDecision {
  service: string;
  function: string;
  pullRequest: number;
  /** Why it goes, or why it stays. */
  reason: string;
  delete: boolean;
}

export interface SweepInput {
  previews: readonly LiveServiceInfo[];
  states: ReadonlyMap<number, PullRequestState>;
  /** Input `preview-ttl` in seconds; undefined: no age limit. */
  ttlSeconds?: number;
  now: Date;
}

export function sweepPreviews(input: SweepInput): SweepDecision[] {
  const decisions: SweepDecision[] = [];
  for (const preview of input.previews) {
    const pr = preview.pullRequest;
    if (pr === undefined) continue;
    const base = { service: preview.service, function: preview.function ?? preview.service, pullRequest: pr };
    const state = input.states.get(pr) ?? 'unknown';
    const deployed = preview.deployedAt ? Date.parse(preview.deployedAt) : Number.NaN;
    const ageSeconds = Number.isFinite(deployed) ? (input.now.getTime() - deployed) / 1000 : undefined;
    if (state === 'closed') {
      decisions.push({ ...base, delete: true, reason: `pull request #${pr} is closed` });
    } else if (input.ttlSeconds !== undefined && ageSeconds !== undefined && ageSeconds > input.ttlSeconds) {
      decisions.push({
        ...base,
        delete: true,
        reason: `deployed ${formatAge(ageSeconds)} ago, longer than preview-ttl (${formatAge(input.ttlSeconds)})`,
      });
    } else {
      decisions.push({
        ...base,
        delete: false,
        reason:
          state === 'open'
            ? `pull request #${pr} is open`
            : `GitHub did not say whether pull request #${pr} is open; kept`,
      });
    }
  }
  return decisions.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
}

function formatAge(seconds: number): string {
  if (seconds >= 86_400) return `${Math.floor(seconds / 86_400)} d`;
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)} h`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds)} s`;
}
