import type { CompareClient } from './compare.js';
import { ZERO_SHA, type EventInfo } from './event.js';
import type { Git } from './git.js';
import type { ChangeSet } from './plan.js';

export interface ChangeDetection {
  changes: ChangeSet;
  base?: string;
  head?: string;
  /** How the changes were found, or why every function counts as changed. */
  notes: string[];
}

export interface ChangeSources {
  git: Git;
  /** The remote to fetch missing history from (actions/checkout names it origin); none: no fetching. */
  remote?: string;
  /** GitHub's compare API, when history cannot be fetched. */
  compare?: CompareClient;
}

/** Depths tried, in turn, to find a merge base in a shallow clone before unshallowing it. */
const DEEPEN_STEPS = [50, 400];

/** Makes sure a commit is in the checkout, fetching just that commit when it is not. */
export async function ensureCommit(sources: ChangeSources, sha: string): Promise<boolean> {
  if (await sources.git.hasCommit(sha)) return true;
  if (!sources.remote) return false;
  return (await sources.git.fetch(sources.remote, [sha], 1)) && (await sources.git.hasCommit(sha));
}

/** The merge base of two commits, deepening a shallow clone as far as needed. */
export async function findMergeBase(
  sources: ChangeSources,
  a: string,
  b: string,
): Promise<string | undefined> {
  const { git, remote } = sources;
  const found = await git.mergeBase(a, b);
  if (found || !remote || !(await git.isShallow())) return found;
  for (const depth of DEEPEN_STEPS) {
    if (!(await git.fetch(remote, [a, b], depth))) break;
    const deeper = await git.mergeBase(a, b);
    if (deeper) return deeper;
  }
  return (await git.unshallow(remote)) ? git.mergeBase(a, b) : undefined;
}

/** The tip of the default branch, fetched into refs/remotes when the checkout lacks it. */
async function defaultBranchTip(sources: ChangeSources, branch: string): Promise<string | undefined> {
  const tracking = `refs/remotes/${sources.remote ?? 'origin'}/${branch}`;
  const local = (await sources.git.resolve(tracking)) ?? (await sources.git.resolve(`refs/heads/${branch}`));
  if (local || !sources.remote) return local;
  const fetched = await sources.git.fetch(
    sources.remote,
    [`+refs/heads/${branch}:${tracking}`],
    DEEPEN_STEPS[0],
  );
  return fetched ? sources.git.resolve(tracking) : undefined;
}

async function viaCompareApi(
  sources: ChangeSources,
  base: string,
  head: string,
  notes: string[],
  why: string,
): Promise<ChangeDetection> {
  if (!sources.compare) {
    notes.push(`${why}, and GitHub's compare API is not available: every function counts as changed.`);
    return { changes: 'all', head, notes };
  }
  const result = await sources.compare.compare(base, head);
  if (!result.ok) {
    notes.push(`${why}, and ${result.why}: every function counts as changed.`);
    return { changes: 'all', head, notes };
  }
  if (!result.complete) {
    notes.push(
      `${why}; ${result.why ?? 'the compare API list is incomplete'}: every function counts as changed.`,
    );
    return { changes: 'all', head, notes };
  }
  notes.push(
    `${why}: the changed files come from GitHub's compare API (${base.slice(0, 12)}...${head.slice(0, 12)}).`,
  );
  return { changes: { files: result.files }, head, notes };
}

/**
 * Finds the commits to compare for this event and the files that differ between them
 * (docs/troubleshooting.md, "What counts as changed"). Missing history is fetched (a single commit, or deeper until a merge base appears); when it
 * cannot be had, GitHub's compare API answers; failing that, every function counts as changed and a
 * note says why.
 */
export async function detectChanges(sources: ChangeSources, event: EventInfo): Promise<ChangeDetection> {
  const { git } = sources;
  const notes: string[] = [];
  const head = event.headSha ?? (await git.resolve('HEAD'));
  if (!head)
    return { changes: 'all', notes: ['The checkout has no commit: every function counts as changed.'] };

  if (event.name === 'push') {
    if (ZERO_SHA.test(head) || event.deleted) {
      return { changes: { files: [] }, notes: ['The push deleted the branch: nothing to deploy.'] };
    }
    if (!(await ensureCommit(sources, head))) {
      notes.push(
        `The pushed commit ${head.slice(0, 12)} could not be fetched: every function counts as changed.`,
      );
      return { changes: 'all', head, notes };
    }
    const before = event.baseSha;
    if (!before || ZERO_SHA.test(before)) {
      const branch = event.defaultBranch;
      const tip = branch ? await defaultBranchTip(sources, branch) : undefined;
      const base = tip ? await findMergeBase(sources, tip, head) : undefined;
      if (base) {
        notes.push(`A new branch: compared with its merge base with ${branch ?? 'the default branch'}.`);
        return { changes: { files: await git.diff(base, head) }, base, head, notes };
      }
      if (!branch) {
        notes.push('A new branch, and the event names no default branch: every function counts as changed.');
        return { changes: 'all', head, notes };
      }
      return viaCompareApi(
        sources,
        branch,
        head,
        notes,
        `A new branch without a merge base with ${branch} in the checkout`,
      );
    }
    if (await ensureCommit(sources, before)) {
      // Deployed is what `before` had; a force push is compared tree to tree all the same.
      if (event.forced)
        notes.push(`A force push: compared with the tree of the previous tip ${before.slice(0, 12)}.`);
      return { changes: { files: await git.diff(before, head) }, base: before, head, notes };
    }
    if (event.forced) {
      notes.push(
        `A force push whose previous tip ${before.slice(0, 12)} is no longer reachable: every function counts as changed.`,
      );
      return { changes: 'all', head, notes };
    }
    return viaCompareApi(
      sources,
      before,
      head,
      notes,
      `The previous tip ${before.slice(0, 12)} could not be fetched`,
    );
  }

  if (event.pullRequest && event.baseSha) {
    const base = event.baseSha;
    if ((await ensureCommit(sources, head)) && (await ensureCommit(sources, base))) {
      const mergeBase = await findMergeBase(sources, base, head);
      if (mergeBase)
        return { changes: { files: await git.diff(mergeBase, head) }, base: mergeBase, head, notes };
    }
    return viaCompareApi(
      sources,
      base,
      head,
      notes,
      'The merge base of the pull request is not in the checkout',
    );
  }

  return { changes: 'all', head, notes };
}
