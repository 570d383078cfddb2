import { ZERO_SHA, type EventInfo } from './event.js';
import type { Git } from './git.js';
import type { ChangeSet } from './plan.js';

export interface ChangeDetection {
  changes: ChangeSet;
  base?: string;
  head?: string;
  notes: string[];
}

/**
 * Finds the commits to compare for this event and the files that differ between them.
 * When the history needed is not there, every function counts as changed and a note says why.
 */
export async function detectChanges(git: Git, event: EventInfo): Promise<ChangeDetection> {
  const notes: string[] = [];
  const head = event.headSha ?? (await git.resolve('HEAD'));
  if (!head || !(await git.hasCommit(head))) {
    notes.push('The head commit is not in the checkout; every function counts as changed.');
    return { changes: 'all', ...(head ? { head } : {}), notes };
  }

  let base: string | undefined;
  if (event.name === 'push') {
    if (!event.baseSha || ZERO_SHA.test(event.baseSha)) {
      const defaultBranch = event.defaultBranch;
      const candidates = defaultBranch ? [`origin/${defaultBranch}`, defaultBranch] : [];
      for (const candidate of candidates) {
        const tip = await git.resolve(candidate);
        if (tip) {
          base = await git.mergeBase(tip, head);
          if (base) break;
        }
      }
      if (!base) {
        notes.push(
          'A new branch without a merge base with the default branch: every function counts as changed.',
        );
        return { changes: 'all', head, notes };
      }
    } else if (await git.hasCommit(event.baseSha)) {
      base = event.baseSha;
    } else {
      notes.push(
        `The push's previous commit ${event.baseSha.slice(0, 12)} is not in the history (a force push, or a shallow clone): every function counts as changed.`,
      );
      return { changes: 'all', head, notes };
    }
  } else if (event.pullRequest && event.baseSha) {
    if (!(await git.hasCommit(event.baseSha))) {
      notes.push('The pull request base commit is not in the checkout: every function counts as changed.');
      return { changes: 'all', head, notes };
    }
    base = await git.mergeBase(event.baseSha, head);
    if (!base) {
      notes.push(
        'The pull request has no merge base with its base branch: every function counts as changed.',
      );
      return { changes: 'all', head, notes };
    }
  } else {
    return { changes: 'all', head, notes };
  }
  return { changes: { files: await git.diff(base, head) }, base, head, notes };
}
