// CommentApi over the real GitHub REST API through @actions/github. The module is loaded by a
// dynamic import only when a run writes a comment, so other runs do not pay for octokit at start-up.
import type { getOctokit } from '@actions/github';
import type { CommentApi, IssueComment } from './comment.js';

export type Octokit = ReturnType<typeof getOctokit>;

export interface RepoRef {
  owner: string;
  name: string;
}

interface RawComment {
  id: number;
  body?: string | undefined;
  user: { login: string; type: string } | null;
  author_association: string;
}

function toComment(raw: RawComment): IssueComment {
  return {
    id: raw.id,
    body: raw.body ?? '',
    user: raw.user ? { login: raw.user.login, type: raw.user.type } : null,
    authorAssociation: raw.author_association,
  };
}

/** HTTP status of an octokit RequestError (or anything shaped like one). */
export function errorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error)) return undefined;
  return typeof error.status === 'number' ? error.status : undefined;
}

export function commentApiFromOctokit(octokit: Octokit, repo: RepoRef): CommentApi {
  const base = { owner: repo.owner, repo: repo.name };
  return {
    async listComments(issueNumber) {
      const comments = await octokit.paginate(octokit.rest.issues.listComments, {
        ...base,
        issue_number: issueNumber,
        per_page: 100,
      });
      return comments.map(toComment);
    },
    async createComment(issueNumber, body) {
      const { data } = await octokit.rest.issues.createComment({ ...base, issue_number: issueNumber, body });
      return toComment(data);
    },
    async updateComment(commentId, body) {
      const { data } = await octokit.rest.issues.updateComment({ ...base, comment_id: commentId, body });
      return toComment(data);
    },
    async deleteComment(commentId) {
      try {
        await octokit.rest.issues.deleteComment({ ...base, comment_id: commentId });
      } catch (error) {
        if (errorStatus(error) !== 404) throw error;
      }
    },
  };
}

/**
 * A CommentApi for `token`, against `baseUrl` (default: GITHUB_API_URL as @actions/github reads it).
 * Loads @actions/github on first use.
 */
export async function githubCommentApi(token: string, repo: RepoRef, baseUrl?: string): Promise<CommentApi> {
  const { getOctokit } = await import('@actions/github');
  return commentApiFromOctokit(getOctokit(token, baseUrl ? { baseUrl } : {}), repo);
}
