// Plans and outcomes for report tests: a pull request's plan, and outcomes as the deploy stage reports them.
import type { Plan, PlannedFunction, PlanMode } from '../../src/plan/types.ts';
import type { FunctionOutcome } from '../../src/report/outputs.ts';

export const DIGEST = (seed: string): string =>
  `sha256:${Buffer.from(seed.repeat(32)).toString('hex').slice(0, 64).padEnd(64, '0')}`;

/** A plan for pull request `pr` in which the named functions change and the others are skipped. */
export function previewPlan(
  pr: number,
  functions: Record<string, 'changed' | 'unchanged' | 'removed'>,
  opts: { mode?: PlanMode; head?: string; base?: string } = {},
): Plan {
  const mode = opts.mode ?? 'preview';
  const planned = Object.entries(functions).map(([name, change]): PlannedFunction => {
    const service = `${name}-pr-${pr}`;
    const base = { name, directory: `functions/${name}`, service };
    if (mode === 'cleanup')
      return { ...base, changed: false, action: 'delete', reason: 'the pull request was closed' };
    if (change === 'removed')
      return { ...base, changed: true, action: 'delete', reason: 'the function directory was removed' };
    return change === 'changed'
      ? { ...base, changed: true, action: 'preview' }
      : { ...base, changed: false, action: 'skip', reason: 'unchanged' };
  });
  return {
    mode,
    dryRun: false,
    eventName: 'pull_request',
    base: opts.base ?? 'b'.repeat(40),
    head: opts.head ?? 'a'.repeat(40),
    pullRequest: pr,
    functions: planned,
    notes: [],
  };
}

/** Outcomes as the deploy stage reports them: Ready previews on example.com, or the given failure. */
export function outcomesFor(
  plan: Plan,
  opts: { failed?: Record<string, { reason: string; logTail?: string }>; domain?: string } = {},
): FunctionOutcome[] {
  const domain = opts.domain ?? 'previews.example.com';
  return plan.functions.map((fn): FunctionOutcome => {
    const base = { name: fn.name, service: fn.service, action: fn.action };
    if (fn.action === 'skip')
      return { ...base, status: 'skipped', ...(fn.reason ? { reason: fn.reason } : {}) };
    if (fn.action === 'delete') return { ...base, status: 'deleted' };
    const failure = opts.failed?.[fn.name];
    if (failure) {
      return {
        ...base,
        status: 'failed',
        image: `registry.example.com/team/${fn.name}:ctx-${'0'.repeat(32)}`,
        reason: failure.reason,
        buildSeconds: 12,
        ...(failure.logTail ? { logTail: failure.logTail } : {}),
      };
    }
    return {
      ...base,
      status: 'ready',
      image: `registry.example.com/team/${fn.name}@${DIGEST(fn.name)}`,
      digest: DIGEST(fn.name),
      url: `http://${fn.service}.${domain}`,
      revision: `${fn.service}-00001`,
      buildSeconds: 42,
    };
  });
}
