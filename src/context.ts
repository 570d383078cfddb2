/**
 * The action's wiring: what each stage gets from the inputs, the runner's environment and the event.
 * Small functions with no logic of their own beyond choosing and naming values, so that run() in
 * main.ts reads as the pipeline and nothing else.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import type { BuildSettings } from './build/index.js';
import type { connectCluster } from './deploy/index.js';
import type { ExecuteOptions } from './execute.js';
import type { Inputs, InputSource } from './inputs.js';
import type { KubeConnection, KubeConnectOptions } from './kube/index.js';
import { compareClient, type CompareClient } from './plan/compare.js';
import { readEventInfo, type EventInfo } from './plan/event.js';
import type { PlanRequest } from './plan/index.js';
import type { Plan } from './plan/types.js';
import {
  githubCommentApi,
  reportContextFromEnv,
  type CommentApi,
  type ReportContext,
} from './report/index.js';
import type { PullRequestState } from './reconcile/index.js';
import { describeError, UserError } from './util/errors.js';
import { processRunner } from './util/exec.js';

/** Inputs from the runner's INPUT_* variables, secrets masked through the runner. */
export const runnerInputs: InputSource = {
  get: (name) => core.getInput(name, { trimWhitespace: false }),
  secret: (value) => {
    core.setSecret(value);
  },
};

/** Progress, warnings and debug lines through the runner's log. */
export const runnerLog = {
  info: (message: string): void => {
    core.info(message);
  },
  warn: (message: string): void => {
    core.warning(message);
  },
  debug: (message: string): void => {
    core.debug(message);
  },
};

/** The triggering event: GITHUB_EVENT_NAME, its payload at GITHUB_EVENT_PATH, GITHUB_REF and GITHUB_SHA. */
export async function readRunEvent(env: NodeJS.ProcessEnv): Promise<EventInfo> {
  const file = env['GITHUB_EVENT_PATH'];
  let payload: unknown = {};
  if (file) {
    try {
      payload = JSON.parse(await readFile(file, 'utf8')) as unknown;
    } catch (error) {
      throw new Error(
        `Could not read the event payload at GITHUB_EVENT_PATH (${file}): ${describeError(error)}`,
        { cause: error },
      );
    }
  }
  return readEventInfo(env['GITHUB_EVENT_NAME'] ?? '', payload, {
    ...(env['GITHUB_REF'] ? { ref: env['GITHUB_REF'] } : {}),
    ...(env['GITHUB_SHA'] ? { sha: env['GITHUB_SHA'] } : {}),
  });
}

/** The checkout: GITHUB_WORKSPACE, else the working directory. */
export function workspaceRoot(env: NodeJS.ProcessEnv): string {
  return env['GITHUB_WORKSPACE'] || process.cwd();
}

/** GitHub's compare API for the event's repository, when there is a token to ask it with. */
export function compareFor(inputs: Inputs, event: EventInfo): CompareClient | undefined {
  return event.repository && inputs.githubToken
    ? githubCompare(event.repository.owner, event.repository.name, inputs.githubToken)
    : undefined;
}

/** GitHub's compare API through @actions/github, loaded only if the plan needs it. */
function githubCompare(owner: string, repo: string, token: string): CompareClient {
  return compareClient(owner, repo, async (request) => {
    const { getOctokit } = await import('@actions/github');
    return getOctokit(token).rest.repos.compareCommitsWithBasehead(request);
  });
}

/** The inputs that shape the plan; `mode: sweep` plans nothing and is handled before planning. */
export function planSettings(inputs: Inputs): PlanRequest['settings'] {
  return { ...inputs, mode: inputs.mode === 'sweep' ? 'plan' : inputs.mode };
}

/** The plan stage's request: the checkout, the inputs that shape the plan, the event, git. */
export function planRequest(inputs: Inputs, event: EventInfo, repoRoot: string): PlanRequest {
  const compare = compareFor(inputs, event);
  return {
    repoRoot,
    settings: planSettings(inputs),
    defaultWatchdog: inputs.watchdog,
    event,
    runner: processRunner,
    ...(compare ? { compare } : {}),
  };
}

/**
 * Whether the run has credentials to deploy with (input kubeconfig, KUBECONFIG or an in-cluster
 * service account); a fork pull request without them is reported as skipped, not failed.
 */
export function secretsAvailable(inputs: Inputs, env: NodeJS.ProcessEnv): boolean {
  return inputs.kubeconfig !== '' || Boolean(env['KUBECONFIG']) || Boolean(env['KUBERNETES_SERVICE_HOST']);
}

/**
 * One private directory per run, `<RUNNER_TEMP>/faas-deploy-XXXXXX` (mode 0700, as mkdtemp makes
 * it), for every file a stage writes: the kubeconfig, the docker config, kaniko's work directories.
 */
export function createRunTempDir(env: NodeJS.ProcessEnv): Promise<string> {
  return mkdtemp(path.join(env['RUNNER_TEMP'] || tmpdir(), 'faas-deploy-'));
}

export async function removeRunTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** 12 hex digits naming this invocation: the `faas-deploy.dev/run` label of what the builders create. */
export function newRunId(): string {
  return randomBytes(6).toString('hex');
}

/** Aborts the returned signal when the runner cancels the job (SIGINT, then SIGTERM). */
export function cancelOnSignals(): { signal: AbortSignal; release(): void } {
  const cancel = new AbortController();
  const onSignal = (): void => {
    if (!cancel.signal.aborted) core.warning('Cancelled: stopping builds and waits.');
    cancel.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: cancel.signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** The one Kubernetes connection of the run, shared by the deploy stage and the Tekton builder. */
export function kubeOptions(inputs: Inputs, tempDir: string): KubeConnectOptions {
  return {
    kubeconfig: inputs.kubeconfig,
    tempDir,
    secret: (value) => {
      core.setSecret(value);
    },
    log: runnerLog.debug,
  };
}

/**
 * `owner/repo` of the run (GITHUB_REPOSITORY, else the event's repository): whose Services it owns.
 */
export function runRepository(env: NodeJS.ProcessEnv, event: EventInfo): string {
  const repository =
    env['GITHUB_REPOSITORY'] ??
    (event.repository ? `${event.repository.owner}/${event.repository.name}` : undefined);
  if (!repository || !/^[^/\s]+\/[^/\s]+$/.test(repository)) {
    throw new UserError(
      'GITHUB_REPOSITORY is not set (or not owner/repo): faas-deploy labels what it deploys with the repository, so it knows what it owns.',
    );
  }
  return repository;
}

/**
 * Where the function images go: `<registry>/<repo>/<fn>`, so two repositories of one owner never
 * share an image name (README, "Images").
 */
export function imagePrefix(inputs: Inputs, repository: string): string {
  const name = (repository.split('/')[1] ?? '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
  return inputs.registry === '' ? '' : `${inputs.registry}/${name.replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')}`;
}

/** The namespace a run works in: `preview-namespace` for previews and their clean-up, else `namespace`. */
export function runNamespace(inputs: Inputs, plan: Pick<Plan, 'mode'> | 'sweep'): string {
  return plan === 'sweep' || plan.mode === 'preview' || plan.mode === 'cleanup'
    ? inputs.previewNamespace
    : inputs.namespace;
}

/** What GitHub says of a pull request, for `mode: sweep`; 'unknown' when it cannot say. */
export async function pullRequestStates(
  inputs: Inputs,
  repository: string,
  env: NodeJS.ProcessEnv,
): Promise<(pr: number) => Promise<PullRequestState>> {
  if (!inputs.githubToken) return () => Promise.resolve('unknown');
  const { getOctokit } = await import('@actions/github');
  const octokit = getOctokit(
    inputs.githubToken,
    env['GITHUB_API_URL'] ? { baseUrl: env['GITHUB_API_URL'] } : {},
  );
  const [owner = '', repo = ''] = repository.split('/');
  return async (pr) => {
    try {
      const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: pr });
      return data.state === 'closed' ? 'closed' : 'open';
    } catch (error) {
      runnerLog.warn(`Cannot read pull request #${pr} from GitHub: ${describeError(error)}`);
      return 'unknown';
    }
  };
}

/** The deploy stage's cluster settings: the namespace, the owner, where the ingress address comes from, the log. */
export function clusterOptions(
  inputs: Inputs,
  repository: string,
  namespace: string,
): Parameters<typeof connectCluster>[1] {
  return {
    namespace,
    repository,
    ingressAddress: inputs.ingressAddress,
    ...(inputs.ingressService ? { ingressService: inputs.ingressService } : {}),
    ...runnerLog,
  };
}

/** The build stage's settings: the build inputs, the run's temp dir and id, the cluster for Tekton. */
export function buildSettings(
  inputs: Inputs,
  run: {
    tempDir: string;
    runId: string;
    kube: KubeConnection;
    registry: string;
    namespace: string;
    repository?: string;
  },
): BuildSettings {
  return {
    builder: inputs.builder,
    registry: run.registry,
    registryUsername: inputs.registryUsername,
    registryPassword: inputs.registryPassword,
    kanikoImage: inputs.kanikoImage,
    concurrency: inputs.concurrency,
    namespace: run.namespace,
    tektonServiceAccount: inputs.tektonServiceAccount,
    registrySecret: inputs.registrySecret,
    tempDir: run.tempDir,
    runId: run.runId,
    kube: run.kube,
    ...(run.repository ? { repository: run.repository } : {}),
  };
}

/** How executePlan deploys: the inputs' limits, and what each Service is annotated with. */
export function executeOptions(
  inputs: Inputs,
  event: EventInfo,
  runUrl: string | undefined,
  signal: AbortSignal,
): ExecuteOptions {
  return {
    concurrency: inputs.concurrency,
    waitTimeoutSeconds: inputs.waitTimeoutSeconds,
    ...(event.headSha ? { commit: event.headSha } : {}),
    ...(runUrl ? { runUrl } : {}),
    ...(inputs.imagePullSecret ? { imagePullSecret: inputs.imagePullSecret } : {}),
    signal,
  };
}

/**
 * The report context, made when the report is: `ingressAddress` is what the deploy learned (input
 * ingress-address, else the ingress Service's address), or the input when nothing was deployed.
 */
export function reportContext(
  env: NodeJS.ProcessEnv,
  event: EventInfo,
  inputs: Inputs,
  ingressAddress: string = inputs.ingressAddress,
): ReportContext {
  return reportContextFromEnv(env, event, {
    ingressAddress,
    secrets: [inputs.githubToken, inputs.registryPassword],
  });
}

/** The GitHub URL of this run (for the Services' annotations), as the report links it. */
export function runUrl(env: NodeJS.ProcessEnv, event: EventInfo, inputs: Inputs): string | undefined {
  return reportContext(env, event, inputs).runUrl;
}

/** The pull request comment's API, when this run keeps one (input comment, a token, a pull request). */
export async function commentApi(
  inputs: Inputs,
  context: ReportContext,
  plan: Plan,
  env: NodeJS.ProcessEnv,
): Promise<CommentApi | undefined> {
  if (!inputs.comment || !inputs.githubToken || !context.repo || plan.pullRequest === undefined) {
    return undefined;
  }
  return githubCommentApi(
    inputs.githubToken,
    { owner: context.repo.owner, name: context.repo.name },
    env['GITHUB_API_URL'],
  );
}
