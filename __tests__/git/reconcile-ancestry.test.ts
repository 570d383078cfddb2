// Which recorded commits are newer than the run's, asked of real git (src/reconcile/ancestry.ts),
// with GitHub's compare answer for a commit the checkout does not have.
import { afterEach, describe, expect, it } from 'vitest';
import { Git } from '../../src/plan/git.ts';
import { newerCommits } from '../../src/reconcile/ancestry.ts';
import { processRunner } from '../../src/util/exec.ts';
import { makeRepo, type TestRepo } from '../../test/support/git-repo.ts';

let repo: TestRepo | undefined;
afterEach(() => {
  repo?.remove();
  repo = undefined;
});

describe('newerCommits', () => {
  it('a descendant is newer; an ancestor, a diverged commit and the run’s own are not', async () => {
    repo = makeRepo('faas-ancestry-');
    const first = repo.commit('first', { 'a.txt': '1\n' });
    const run = repo.commit('run', { 'a.txt': '2\n' });
    const newer = repo.commit('newer', { 'a.txt': '3\n' });
    repo.git('checkout', '--quiet', '-b', 'side', first);
    const diverged = repo.commit('side', { 'b.txt': 'x\n' });
    const git = new Git(processRunner, repo.dir);
    const answer = await newerCommits({ git }, run, [newer, first, diverged, run]);
    expect([...answer.newer]).toEqual([newer]);
    expect(answer.notes).toEqual([]);
  });

  it('a commit git cannot place is asked of GitHub; without an answer it counts as older, with a note', async () => {
    repo = makeRepo('faas-ancestry-');
    const run = repo.commit('run', { 'a.txt': '1\n' });
    const unknownAhead = 'a'.repeat(40);
    const unknownGone = 'b'.repeat(40);
    const asked: string[] = [];
    const answer = await newerCommits(
      {
        git: new Git(processRunner, repo.dir),
        relation: (base, head) => {
          asked.push(`${base}...${head}`);
          return Promise.resolve(head === unknownAhead ? 'ahead' : undefined);
        },
      },
      run,
      [unknownAhead, unknownGone],
    );
    expect(asked).toEqual([`${run}...${unknownAhead}`, `${run}...${unknownGone}`]);
    expect([...answer.newer]).toEqual([unknownAhead]);
    expect(answer.notes).toHaveLength(1);
    expect(answer.notes[0]).toMatch(/^Cannot tell whether bbbbbbbbbbbb \(running now\) is newer than/);
  });
});
