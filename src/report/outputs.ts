import type { FunctionAction, Plan } from '../plan/types.js';

export type FunctionStatus = 'ready' | 'failed' | 'deleted' | 'skipped' | 'planned';

/**
 * What happened to one function. The first fields are the `functions` output (README, Outputs); the
 * ones after `reason` only feed the PR comment and the summary and never reach the outputs.
 */
export interface FunctionOutcome {
  name: string;
  service: string;
  action: FunctionAction;
  status: FunctionStatus;
  image?: string;
  digest?: string;
  url?: string;
  revision?: string;
  /** Why it failed (Knative condition message, build error) or why it was skipped. */
  reason?: string;
  /** How long the image build took; absent when nothing was built. */
  buildSeconds?: number;
  /** The image already existed in the registry, so the build was skipped. */
  buildSkipped?: boolean;
  /** When the Service became Ready or was deleted (ISO 8601); default: the time of the report. */
  updatedAt?: string;
  /** The last lines of the build log, for a failed build. */
  logTail?: string;
}

/**
 * The fields of one element of the `functions` output, in the order of action.yml's description, plus `built`: true
 * when this run built the image, false when the image of that content was already in the registry
 * (only for functions that have an image).
 */
export type FunctionOutput = Pick<
  FunctionOutcome,
  'name' | 'service' | 'action' | 'status' | 'image' | 'digest' | 'url' | 'revision' | 'reason'
> & { built?: boolean };

export interface ActionOutputs {
  functions: FunctionOutput[];
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

/** Every function skipped for one reason (a fork pull request without secrets, say). */
export function skippedOutcomes(plan: Plan, reason: string): FunctionOutcome[] {
  return plan.functions.map((fn) => ({
    name: fn.name,
    service: fn.service,
    action: 'skip',
    status: 'skipped',
    reason: fn.action === 'skip' && fn.reason ? fn.reason : reason,
  }));
}

function toOutput(outcome: FunctionOutcome): FunctionOutput {
  const { name, service, action, status, image, digest, url, revision, reason } = outcome;
  return {
    name,
    service,
    action,
    status,
    ...(image !== undefined ? { image } : {}),
    ...(digest !== undefined ? { digest } : {}),
    ...(url !== undefined ? { url } : {}),
    ...(revision !== undefined ? { revision } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(image !== undefined && outcome.buildSkipped !== undefined ? { built: !outcome.buildSkipped } : {}),
  };
}

export function collectOutputs(
  plan: Plan,
  outcomes: readonly FunctionOutcome[],
  commentId?: number,
): ActionOutputs {
  const urls: Record<string, string> = {};
  for (const outcome of outcomes)
    if (outcome.status === 'ready' && outcome.url) urls[outcome.name] = outcome.url;
  return {
    functions: outcomes.map(toOutput),
    urls,
    changed: plan.functions.filter((fn) => fn.changed).map((fn) => fn.name),
    ...(commentId !== undefined ? { commentId } : {}),
  };
}

/** The four outputs as the runner stores them; `comment-id` is empty when no comment was written. */
export function outputValues(
  outputs: ActionOutputs,
): Record<'functions' | 'urls' | 'changed' | 'comment-id', string> {
  return {
    functions: JSON.stringify(outputs.functions),
    urls: JSON.stringify(outputs.urls),
    changed: JSON.stringify(outputs.changed),
    'comment-id': outputs.commentId !== undefined ? String(outputs.commentId) : '',
  };
}
