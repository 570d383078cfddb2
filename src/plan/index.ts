import type { CommandRunner } from '../util/exec.js';
import { buildFunctionSpecs, scanFunctionsDir } from './discover.js';
import type { EventInfo } from './event.js';
import { detectChanges } from './changes.js';
import { Git } from './git.js';
import { makePlan, type PlanSettings } from './plan.js';
import type { ManifestProblem, Plan, Watchdog } from './types.js';

export interface PlanRequest {
  repoRoot: string;
  settings: PlanSettings;
  defaultWatchdog: Watchdog;
  event: EventInfo;
  runner: CommandRunner;
  /** CLI --base/--head: compare exactly these revisions. */
  revisions?: { base: string; head: string };
  /** No event and no revisions: every function is planned as changed. */
  planAll?: boolean;
}

export type PlanResult = { ok: true; plan: Plan } | { ok: false; problems: ManifestProblem[] };

/** Discovers the functions, detects what changed and decides what to do with each. */
export async function planRepository(request: PlanRequest): Promise<PlanResult> {
  const directories = await scanFunctionsDir(request.repoRoot, request.settings.functionsDir);
  const discovered = buildFunctionSpecs(directories, { watchdog: request.defaultWatchdog });
  if (discovered.problems.length > 0) return { ok: false, problems: discovered.problems };

  const git = new Git(request.runner, request.repoRoot);
  if (request.planAll) {
    return { ok: true, plan: makePlan(request.settings, request.event, discovered.functions, 'all') };
  }
  if (request.revisions) {
    const base = await git.resolve(request.revisions.base);
    const head = await git.resolve(request.revisions.head);
    if (!base || !head) {
      const missing = !base ? request.revisions.base : request.revisions.head;
      throw new Error(`Revision "${missing}" is not a commit in ${request.repoRoot}.`);
    }
    const files = await git.diff(base, head);
    return {
      ok: true,
      plan: makePlan(request.settings, request.event, discovered.functions, { files }, { base, head }),
    };
  }
  const detected = await detectChanges(git, request.event);
  return {
    ok: true,
    plan: makePlan(request.settings, request.event, discovered.functions, detected.changes, {
      ...(detected.base ? { base: detected.base } : {}),
      ...(detected.head ? { head: detected.head } : {}),
      notes: detected.notes,
    }),
  };
}
