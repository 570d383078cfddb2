// GitHub Deployments for previews, so the pull request shows "View deployment" per function: one
// transient environment per preview Service (<fn>-pr-<N>), a deployment of the head commit with a
// success or failure status, marked inactive when the pull request closes. Optional: a token without
// the `deployments: write` permission gives one warning and nothing else.
import type { Octokit, RepoRef } from './github.js';
import { errorStatus } from './github.js';
import { describeError } from '../util/errors.js';
import { truncate } from './markdown.js';
import type { FunctionOutcome } from './outputs.js';
import type { Plan } from '../plan/types.js';

export type DeploymentState = 'success' | 'failure' | 'inactive';

export interface DeploymentApi {
  /** Creates a deployment of `ref`; undefined when GitHub answered without creating one (202). */
  createDeployment(request: {
    ref: string;
    environment: string;
    description: string;
  }): Promise<number | undefined>;
  createStatus(
    deploymentId: number,
    status: {
      state: DeploymentState;
      environment: string;
      environmentUrl?: string;
      logUrl?: string;
      description: string;
    },
  ): Promise<void>;
  /** Deployment ids for the environment, newest first. */
  listDeployments(environment: string): Promise<number[]>;
}

export function deploymentApiFromOctokit(octokit: Octokit, repo: RepoRef): DeploymentApi {
  const base = { owner: repo.owner, repo: repo.name };
  return {
    async createDeployment({ ref, environment, description }) {
      const { data } = await octokit.rest.repos.createDeployment({
        ...base,
        ref,
        environment,
        description,
        // Previews deploy whatever the pull request has: no status checks to wait for, no merge of the
        // default branch into the head behind the user's back.
        required_contexts: [],
        auto_merge: false,
        transient_environment: true,
        production_environment: false,
      });
      return 'id' in data ? data.id : undefined;
    },
    async createStatus(deploymentId, status) {
      await octokit.rest.repos.createDeploymentStatus({
        ...base,
        deployment_id: deploymentId,
        state: status.state,
        environment: status.environment,
        description: status.description,
        ...(status.environmentUrl ? { environment_url: status.environmentUrl } : {}),
        ...(status.logUrl ? { log_url: status.logUrl } : {}),
      });
    },
    async listDeployments(environment) {
      const { data } = await octokit.rest.repos.listDeployments({ ...base, environment, per_page: 10 });
      return data.map((d) => d.id);
    },
  };
}

/**
 * Records the previews of this run as deployments (preview mode) or marks them inactive (cleanup).
 * Returns warnings; stops at the first error, since the next call would fail the same way.
 */
export async function recordDeployments(options: {
  api: DeploymentApi;
  plan: Plan;
  outcomes: readonly FunctionOutcome[];
  commit: string | undefined;
  runUrl?: string;
}): Promise<string[]> {
  const { api, plan, outcomes, commit } = options;
  if (plan.dryRun || plan.pullRequest === undefined) return [];
  try {
    if (plan.mode === 'preview' && commit) {
      for (const outcome of outcomes) {
        if (outcome.action !== 'preview' || (outcome.status !== 'ready' && outcome.status !== 'failed'))
          continue;
        const id = await api.createDeployment({
          ref: commit,
          environment: outcome.service,
          description: `faas-deploy preview of ${outcome.name}`,
        });
        if (id === undefined) continue;
        await api.createStatus(id, {
          state: outcome.status === 'ready' ? 'success' : 'failure',
          environment: outcome.service,
          ...(outcome.status === 'ready' && outcome.url ? { environmentUrl: outcome.url } : {}),
          ...(options.runUrl ? { logUrl: options.runUrl } : {}),
          description: truncate(
            outcome.status === 'ready' ? 'Ready' : `Failed: ${outcome.reason ?? 'see the run'}`,
            140,
          ),
        });
      }
    } else if (plan.mode === 'cleanup') {
      for (const outcome of outcomes) {
        if (outcome.status !== 'deleted') continue;
        const [latest] = await api.listDeployments(outcome.service);
        if (latest === undefined) continue;
        await api.createStatus(latest, {
          state: 'inactive',
          environment: outcome.service,
          description: 'Preview removed: the pull request was closed',
        });
      }
    }
    return [];
  } catch (error) {
    const status = errorStatus(error);
    return [
      status === 403
        ? `Could not record GitHub deployments for the previews (403: ${describeError(error)}); give the token "deployments: write", or leave the deployments off. The previews themselves are fine.`
        : `Could not record GitHub deployments for the previews: ${describeError(error)}. The previews themselves are fine.`,
    ];
  }
}
