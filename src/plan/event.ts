/**
 * What faas-deploy needs from the triggering event, read from the payload GitHub wrote to
 * GITHUB_EVENT_PATH. Every string in here is untrusted data: it is never put into a command line
 * as anything but a separate argument after `--`, and is escaped before it reaches Markdown.
 */
export interface EventInfo {
  name: string;
  /** pull_request action (opened, synchronize, reopened, closed, …). */
  action?: string;
  /** The commit the run checks out (push: after; PR: head sha). */
  headSha?: string;
  /** push: before; PR: base branch tip (the merge base is computed later). */
  baseSha?: string;
  /** Branch name the push went to, without refs/heads/. */
  branch?: string;
  defaultBranch?: string;
  pullRequest?: {
    number: number;
    headRef: string;
    baseRef: string;
    merged: boolean;
    /** Head repository differs from the base repository: no secrets in the run. */
    fromFork: boolean;
  };
  /** workflow_dispatch `inputs.functions`, when the workflow passes one. */
  dispatchFunctions?: string;
  repository?: { owner: string; name: string; htmlUrl?: string };
  deleted?: boolean;
  forced?: boolean;
}

export const ZERO_SHA = /^0{40}$|^0{64}$/;

type Json = Record<string, unknown>;
const obj = (value: unknown): Json | undefined =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function readEventInfo(
  name: string,
  payload: unknown,
  env: { ref?: string; sha?: string } = {},
): EventInfo {
  const event = obj(payload) ?? {};
  const repository = obj(event['repository']);
  const owner = obj(repository?.['owner']);
  const info: EventInfo = {
    name,
    ...(str(event['action']) ? { action: str(event['action']) } : {}),
    ...(str(repository?.['default_branch']) ? { defaultBranch: str(repository?.['default_branch']) } : {}),
  };
  const repoName = str(repository?.['name']);
  const ownerLogin = str(owner?.['login']) ?? str(owner?.['name']);
  if (repoName && ownerLogin) {
    info.repository = {
      owner: ownerLogin,
      name: repoName,
      ...(str(repository?.['html_url']) ? { htmlUrl: str(repository?.['html_url']) } : {}),
    };
  }

  const ref = str(event['ref']) ?? env.ref;
  if (ref?.startsWith('refs/heads/')) info.branch = ref.slice('refs/heads/'.length);

  if (name === 'push') {
    const before = str(event['before']);
    const after = str(event['after']) ?? env.sha;
    if (before) info.baseSha = before;
    if (after) info.headSha = after;
    if (event['deleted'] === true) info.deleted = true;
    if (event['forced'] === true) info.forced = true;
  } else if (name === 'pull_request' || name === 'pull_request_target') {
    const pr = obj(event['pull_request']);
    const head = obj(pr?.['head']);
    const base = obj(pr?.['base']);
    const number = typeof event['number'] === 'number' ? event['number'] : pr?.['number'];
    if (typeof number === 'number') {
      const headRepo = obj(head?.['repo']);
      const baseRepo = obj(base?.['repo']);
      info.pullRequest = {
        number,
        headRef: str(head?.['ref']) ?? '',
        baseRef: str(base?.['ref']) ?? '',
        merged: pr?.['merged'] === true,
        fromFork:
          headRepo !== undefined &&
          baseRepo !== undefined &&
          str(headRepo['full_name']) !== str(baseRepo['full_name']),
      };
    }
    if (str(head?.['sha'])) info.headSha = str(head?.['sha']);
    if (str(base?.['sha'])) info.baseSha = str(base?.['sha']);
    if (info.pullRequest?.baseRef) info.branch = info.pullRequest.baseRef;
  } else if (name === 'workflow_dispatch') {
    const inputs = obj(event['inputs']);
    const functions = str(inputs?.['functions']);
    if (functions !== undefined) info.dispatchFunctions = functions;
    if (env.sha) info.headSha = env.sha;
  } else if (env.sha) {
    info.headSha = env.sha;
  }
  return info;
}
