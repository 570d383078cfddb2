// Which recorded commits are newer than the run's: a Service whose commit descends from the run's
// commit runs newer code, and a re-run of an old workflow run (or a run that finishes after a newer
// one) must leave it. Answered by git in the checkout, fetching and deepening a shallow clone as the
// plan stage does, else by GitHub's compare API.
import { ensureCommit, findMergeBase, type ChangeSources } from '../plan/changes.js';

export interface AncestryAnswer {
  /** Recorded commits that are descendants of the run's commit. */
  newer: Set<string>;
  /** Commits whose relation could not be found out, with why; they count as not newer. */
  notes: string[];
}

/**
 * For each candidate, whether the run's commit is its ancestor. A candidate git and the compare
 * API cannot place (history gone after a force push) is not newer: the run deploys over it.
 */
export async function newerCommits(
  sources: ChangeSources & { relation?: (base: string, head: string) => Promise<string | undefined> },
  runCommit: string,
  candidates: readonly string[],
): Promise<AncestryAnswer> {
  const newer = new Set<string>();
  const notes: string[] = [];
  for (const candidate of candidates) {
    if (candidate === runCommit) continue;
    if ((await ensureCommit(sources, runCommit)) && (await ensureCommit(sources, candidate))) {
      const base = await findMergeBase(sources, runCommit, candidate);
      if (base !== undefined) {
        if (base === runCommit) newer.add(candidate);
        continue;
      }
    }
    const status = await sources.relation?.(runCommit, candidate);
    if (status === 'ahead') newer.add(candidate);
    else if (status === undefined) {
      notes.push(
        `Cannot tell whether ${candidate.slice(0, 12)} (running now) is newer than ${runCommit.slice(0, 12)}: it is not in the checkout's history${sources.relation ? ' and GitHub could not compare them' : ''}; treated as older.`,
      );
    }
  }
  return { newer, notes };
}
