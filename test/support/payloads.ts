// Event payloads in GitHub's real shapes: copies of @octokit/webhooks-examples with the fields a
// test controls (commits, refs, numbers) overridden. Every other field stays as GitHub sends it.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
type Json = Record<string, unknown>;
const groups = require('@octokit/webhooks-examples/api.github.com/index.json') as {
  name: string;
  examples: Json[];
}[];

function example(name: string, action?: string): Json {
  const found = groups
    .find((group) => group.name === name)
    ?.examples.find((e) => action === undefined || e['action'] === action);
  if (!found)
    throw new Error(`@octokit/webhooks-examples has no ${name}${action ? `.${action}` : ''} example`);
  return structuredClone(found);
}

function withRepository(payload: Json, defaultBranch: string): Json {
  return { ...payload, repository: { ...(payload['repository'] as Json), default_branch: defaultBranch } };
}

export function pushPayload(o: {
  before: string;
  after: string;
  ref?: string;
  forced?: boolean;
  deleted?: boolean;
  created?: boolean;
  defaultBranch?: string;
}): Json {
  const payload = example('push');
  return withRepository(
    {
      ...payload,
      ref: o.ref ?? 'refs/heads/main',
      before: o.before,
      after: o.after,
      forced: o.forced ?? false,
      deleted: o.deleted ?? false,
      created: o.created ?? false,
    },
    o.defaultBranch ?? 'main',
  );
}

export function pullRequestPayload(o: {
  action: 'opened' | 'synchronize' | 'reopened' | 'closed' | 'labeled';
  number: number;
  baseSha: string;
  headSha: string;
  baseRef?: string;
  headRef?: string;
  merged?: boolean;
  fork?: boolean;
}): Json {
  const payload = example('pull_request', o.action);
  const pr = payload['pull_request'] as Json;
  const base = pr['base'] as Json;
  const head = pr['head'] as Json;
  const baseRepo = base['repo'] as Json;
  const headRepo = (head['repo'] as Json | null) ?? baseRepo;
  return withRepository(
    {
      ...payload,
      number: o.number,
      pull_request: {
        ...pr,
        number: o.number,
        merged: o.merged ?? false,
        base: { ...base, ref: o.baseRef ?? 'main', sha: o.baseSha },
        head: {
          ...head,
          ref: o.headRef ?? 'feature',
          sha: o.headSha,
          repo: o.fork
            ? { ...headRepo, full_name: 'someone/fork', fork: true }
            : { ...headRepo, full_name: baseRepo['full_name'] },
        },
      },
    },
    o.baseRef ?? 'main',
  );
}

export function workflowDispatchPayload(inputs: Record<string, string> = {}, ref = 'refs/heads/main'): Json {
  return { ...example('workflow_dispatch'), inputs, ref };
}
