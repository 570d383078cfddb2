// The reconcile stage: between package and build, it asks the cluster what runs (the Services this
// repository owns, one list call by label) and git which recorded commits are newer, and turns the
// plan into what this run must do (src/reconcile/decide.ts).
import type { Cluster } from '../deploy/cluster.js';
import type { Plan } from '../plan/types.js';
import type { AncestryAnswer } from './ancestry.js';
import { commitsToCompare, reconcile, type Cause, type ReconcileInput } from './decide.js';

export interface ReconcileDeps {
  cluster: Pick<Cluster, 'liveServices'>;
  /** Which of `candidates` descend from `commit` (src/reconcile/ancestry.ts). */
  newerCommits(commit: string, candidates: readonly string[]): Promise<AncestryAnswer>;
}

export interface ReconcileOptions {
  /** `owner/repo` of the run. */
  repository: string;
  /** The commit this run deploys. */
  commit?: string;
  /** Content tags by function name (the package stage's), for every function that may be deployed. */
  tags: ReadonlyMap<string, string>;
}

export interface ReconcileResult {
  plan: Plan;
  causes: ReadonlyMap<string, Cause>;
  notes: string[];
}

export async function reconcilePlan(
  plan: Plan,
  deps: ReconcileDeps,
  options: ReconcileOptions,
): Promise<ReconcileResult> {
  const names = plan.functions.map((fn) => fn.service);
  const live = await deps.cluster.liveServices(names);
  // workflow_dispatch redeploys what it names even when the content tag matches.
  const forced = new Set(
    plan.eventName === 'workflow_dispatch'
      ? plan.functions.filter((fn) => fn.action === 'deploy').map((fn) => fn.name)
      : [],
  );
  const input: Omit<ReconcileInput, 'newerCommits'> = {
    plan,
    repository: options.repository,
    tags: options.tags,
    live,
    ...(options.commit ? { commit: options.commit } : {}),
    forced,
  };
  const candidates = commitsToCompare(input);
  const ancestry =
    options.commit && candidates.length > 0
      ? await deps.newerCommits(options.commit, candidates)
      : { newer: new Set<string>(), notes: [] };
  const result = reconcile({ ...input, newerCommits: ancestry.newer });
  return { ...result, notes: ancestry.notes };
}
