import type { FunctionAction, Plan } from '../plan/types.js';

export type FunctionStatus = 'ready' | 'failed' | 'deleted' | 'skipped' | 'planned';

/** One element of the `functions` output (DESIGN.md §7). */
export interface FunctionOutcome {
  name: string;
  service: string;
  action: FunctionAction;
  status: FunctionStatus;
  image?: string;
  digest?: string;
  url?: string;
  revision?: string;
  reason?: string;
}

export interface ActionOutputs {
  functions: FunctionOutcome[];
  urls: Record<string, string>;
  changed: string[];
  commentId?: number;
}

/** Outcomes of a plan that is not carried out. */
export function plannedOutcomes(plan: Plan, images: ReadonlyMap<string, string>): FunctionOutcome[] {
  return plan.functions.map((fn) => ({
    name: fn.name,
    service: fn.service,
    action: fn.action,
    status: fn.action === 'skip' ? 'skipped' : 'planned',
    ...(images.get(fn.name) ? { image: images.get(fn.name) } : {}),
    ...(fn.reason ? { reason: fn.reason } : {}),
  }));
}

export function collectOutputs(plan: Plan, outcomes: FunctionOutcome[], commentId?: number): ActionOutputs {
  const urls: Record<string, string> = {};
  for (const outcome of outcomes)
    if (outcome.status === 'ready' && outcome.url) urls[outcome.name] = outcome.url;
  return {
    functions: outcomes,
    urls,
    changed: plan.functions.filter((fn) => fn.changed).map((fn) => fn.name),
    ...(commentId !== undefined ? { commentId } : {}),
  };
}
