// Pull requests from forks run without the repository's secrets and with a read-only token
// (docs/troubleshooting.md, "Fork pull requests"): there is no kubeconfig to deploy with and no
// permission to comment. The run stops cleanly and the summary says why instead of failing on a
// missing credential.
import type { EventInfo } from '../plan/event.js';
import { escapeMarkdown, truncate } from './markdown.js';

export interface ForkNotice {
  /** One line for the log (core.notice). */
  message: string;
  /** The summary's explanation, Markdown. */
  markdown: string;
  /** The reason to put on every skipped function. */
  reason: string;
}

/**
 * The notice for a pull request from a fork when the run has no secrets to deploy with, else
 * undefined. `secretsAvailable`: the credentials a deploy needs are there (input kubeconfig or
 * KUBECONFIG or an in-cluster service account) — true on pull_request_target or when the repository
 * sends secrets to fork workflows, where the run goes ahead.
 */
export function forkNotice(event: EventInfo, opts: { secretsAvailable: boolean }): ForkNotice | undefined {
  const pr = event.pullRequest;
  if (!pr?.fromFork || opts.secretsAvailable) return undefined;
  const reason = 'pull request from a fork: no secrets to deploy with';
  const branch = pr.headRef ? ` (branch ${escapeMarkdown(truncate(pr.headRef, 120))})` : '';
  return {
    reason,
    message: `Pull request #${pr.number} comes from a fork, and GitHub gives fork workflows no secrets and a read-only token: nothing is built or deployed, and no comment is written.`,
    markdown: [
      '> [!NOTE]',
      `> **No preview for this pull request.** #${pr.number}${branch} comes from a fork, and GitHub runs workflows of fork pull requests without the repository's secrets and with a read-only token, so there is no cluster to deploy to and no permission to comment.`,
      '>',
      '> A maintainer can preview it by pushing the branch to this repository, or see docs/troubleshooting.md ("Fork pull requests") for the options and their risks.',
    ].join('\n'),
  };
}
