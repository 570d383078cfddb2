// The reconcile decision, pure: the functions at the run's commit with their content tags, the
// Services the cluster has, and which recorded commits are newer than the run's, in; for every
// function what this run does with it and why, out (README, "How a run converges the cluster").
import type { Plan, PlannedFunction } from '../plan/types.js';
import { describeOwner, isOwnedBy, type LiveServiceInfo, type Role } from '../kube/ownership.js';

/** Why a function is deployed, skipped or deleted; the report shows the text of each. */
export type Cause =
  | 'missing'
  | 'content-differs'
  | 'forced'
  | 'up-to-date'
  | 'newer-commit'
  | 'foreign-owner'
  | 'removed'
  | 'no-longer-changed';

export interface ReconcileInput {
  plan: Plan;
  repository: string;
  /** Content tag of every function that may be deployed (the package stage's). */
  tags: ReadonlyMap<string, string>;
  /** Every live Service this run may touch or collides with, by Service name. */
  live: ReadonlyMap<string, LiveServiceInfo>;
  /** The commit this run deploys. */
  commit?: string;
  /** Recorded commits that are descendants of `commit` (a newer commit runs there). */
  newerCommits: ReadonlySet<string>;
  /** Functions whose Service is replaced even when its content tag matches (workflow_dispatch). */
  forced: ReadonlySet<string>;
}

export interface Reconciled {
  plan: Plan;
  /** Per function: the cause of its action, for the report. */
  causes: ReadonlyMap<string, Cause>;
}

function roleOf(plan: Plan): Role {
  return plan.pullRequest !== undefined && (plan.mode === 'preview' || plan.mode === 'cleanup')
    ? { kind: 'preview', pullRequest: plan.pullRequest }
    : { kind: 'deploy' };
}

export const CAUSE_TEXT: Record<Cause, string> = {
  missing: 'no Service runs it yet',
  'content-differs': 'the Service runs other content',
  forced: 'redeploy asked for by workflow_dispatch',
  'up-to-date': 'the Service already runs this content',
  'newer-commit': 'the Service runs a newer commit',
  'foreign-owner': 'a Service of that name belongs to someone else',
  removed: 'the function no longer exists',
  'no-longer-changed': 'the pull request no longer changes this function',
};

/**
 * Decides for each candidate function (action deploy or preview, with a spec and a content tag)
 * whether to deploy it, and adds a deletion for every Service this repository owns in this role
 * whose function is gone. Functions the plan skips or deletes for its own reasons keep them.
 */
export function reconcile(input: ReconcileInput): Reconciled {
  const { plan, repository, tags, live, commit, newerCommits, forced } = input;
  const role = roleOf(plan);
  const causes = new Map<string, Cause>();
  const functions: PlannedFunction[] = [];
  const wanted = new Set<string>();

  for (const fn of plan.functions) {
    const tag = tags.get(fn.name);
    if (fn.action === 'delete' || !fn.spec || tag === undefined) {
      if (fn.action !== 'delete') functions.push(fn);
      continue;
    }
    wanted.add(fn.service);
    const existing = live.get(fn.service);
    const decided = (action: PlannedFunction['action'], cause: Cause, detail?: string): void => {
      causes.set(fn.name, cause);
      functions.push({
        ...fn,
        action,
        changed: action !== 'skip',
        reason: detail ? `${CAUSE_TEXT[cause]}: ${detail}` : CAUSE_TEXT[cause],
        ...(cause === 'foreign-owner' ? { refused: true } : {}),
      });
    };
    const deployAction = role.kind === 'preview' ? 'preview' : 'deploy';
    if (!existing) {
      decided(deployAction, 'missing');
      continue;
    }
    if (!isOwnedBy(existing, repository, role)) {
      decided('skip', 'foreign-owner', `Service "${fn.service}" is owned by ${describeOwner(existing)}`);
      continue;
    }
    const isForced = forced.has(fn.name);
    if (!isForced && existing.contentTag === tag) {
      decided('skip', 'up-to-date');
    } else if (existing.commit && existing.commit !== commit && newerCommits.has(existing.commit)) {
      decided(
        'skip',
        'newer-commit',
        `${existing.commit.slice(0, 12)} is a descendant of this run's commit${commit ? ` ${commit.slice(0, 12)}` : ''}`,
      );
    } else {
      decided(deployAction, isForced ? 'forced' : 'content-differs');
    }
  }

  // Services this repository owns in this role whose function is not wanted any more.
  const deletions: PlannedFunction[] = [];
  for (const info of live.values()) {
    if (wanted.has(info.service) || !isOwnedBy(info, repository, role)) continue;
    const name = info.function ?? info.service;
    const known = plan.functions.find((fn) => fn.service === info.service);
    // A function that still exists but is skipped for the plan's own reason keeps its Service; a
    // preview of a function the pull request no longer changes goes.
    if (known && known.action !== 'delete' && role.kind === 'deploy') continue;
    const cause: Cause = role.kind === 'preview' && known?.spec ? 'no-longer-changed' : 'removed';
    causes.set(name, cause);
    // Its deletion replaces the plan's entry for it.
    const index = known ? functions.indexOf(known) : -1;
    if (index >= 0) functions.splice(index, 1);
    deletions.push({
      name,
      directory: known?.directory ?? '',
      changed: true,
      action: 'delete',
      service: info.service,
      reason: CAUSE_TEXT[cause],
    });
  }
  // The plan's own deletions (a directory the change removed) whose Service is not there.
  for (const fn of plan.functions) {
    if (fn.action !== 'delete' || deletions.some((d) => d.service === fn.service)) continue;
    const existing = live.get(fn.service);
    if (existing && !isOwnedBy(existing, repository, role)) {
      causes.set(fn.name, 'foreign-owner');
      functions.push({
        ...fn,
        action: 'skip',
        changed: false,
        reason: `${CAUSE_TEXT['foreign-owner']}: Service "${fn.service}" is owned by ${describeOwner(existing)}; not deleted`,
      });
    } else if (existing) {
      causes.set(fn.name, 'removed');
      deletions.push({ ...fn, reason: fn.reason ?? CAUSE_TEXT.removed });
    } else {
      functions.push({ ...fn, action: 'skip', changed: false, reason: 'no Service to delete' });
    }
  }

  const all = [...functions, ...deletions].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.service < b.service ? -1 : 1,
  );
  return { plan: { ...plan, functions: all }, causes };
}

/** The recorded commits the run must ask about: Services it would replace that run another commit. */
export function commitsToCompare(input: Omit<ReconcileInput, 'newerCommits'>): string[] {
  const role = roleOf(input.plan);
  const commits = new Set<string>();
  for (const fn of input.plan.functions) {
    if (fn.action === 'delete' || !fn.spec || !input.tags.has(fn.name)) continue;
    const existing = input.live.get(fn.service);
    if (!existing || !isOwnedBy(existing, input.repository, role)) continue;
    if (!input.forced.has(fn.name) && existing.contentTag === input.tags.get(fn.name)) continue;
    if (existing.commit && existing.commit !== input.commit) commits.add(existing.commit);
  }
  return [...commits].sort();
}
