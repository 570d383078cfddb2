import * as core from '@actions/core';
import { buildImages } from './build/index.js';
import {
  buildSettings,
  cancelOnSignals,
  clusterOptions,
  commentApi,
  compareFor,
  createRunTempDir,
  executeOptions,
  imagePrefix,
  kubeOptions,
  newRunId,
  planRequest,
  planSettings,
  pullRequestStates,
  readRunEvent,
  removeRunTempDir,
  reportContext,
  runnerInputs,
  runNamespace,
  runRepository,
  runUrl,
  secretsAvailable,
  workspaceRoot,
} from './context.js';
import { connectCluster, type Cluster } from './deploy/index.js';
import { executePlan } from './execute.js';
import { readInputs, type Inputs } from './inputs.js';
import { connectKube, type KubeConnection } from './kube/index.js';
import { resolveBaseImages } from './package/base-images.js';
import { packagePlan, type PackagedPlanEntry } from './package/index.js';
import type { EventInfo } from './plan/event.js';
import { Git } from './plan/git.js';
import { planRepository } from './plan/index.js';
import { resolveMode } from './plan/plan.js';
import { formatProblem } from './plan/problems.js';
import type { ManifestProblem, Plan, PlannedFunction } from './plan/types.js';
import { newerCommits, reconcilePlan, sweepPreviews } from './reconcile/index.js';
import {
  forkNotice,
  plannedOutcomes,
  reportRun,
  skippedOutcomes,
  type FunctionOutcome,
} from './report/index.js';
import { saveRunState } from './state-helper.js';
import { describeError } from './util/errors.js';
import { processRunner } from './util/exec.js';
import { VERSION } from './version.js';

/** The action: inputs → plan → package → build → deploy → report. */
export async function run(): Promise<void> {
  try {
    const env = process.env;
    const inputs = readInputs(runnerInputs);
    const event = await readRunEvent(env);
    core.info(
      `faas-deploy ${VERSION}: ${event.name || 'no'} event, mode ${inputs.mode}, functions in ${inputs.functionsDir}/`,
    );
    const repoRoot = workspaceRoot(env);

    // Clean-ups need no checkout and no valid function tree: what to delete is on the cluster.
    if (inputs.mode === 'sweep') {
      await sweepRun(inputs, event);
      return;
    }
    const resolved = resolveMode(planSettings(inputs), event);
    if (resolved.mode === 'cleanup' && !resolved.dryRun && event.pullRequest) {
      await cleanupRun(inputs, event, event.pullRequest.number);
      return;
    }

    const planned = await core.group('Plan', () => planRepository(planRequest(inputs, event, repoRoot)));
    if (!planned.ok) {
      failOnProblems(planned.problems, inputs.functionsDir);
      return;
    }
    const { plan } = planned;
    for (const note of plan.notes) core.notice(note);

    // A fork pull request runs without secrets: nothing to deploy with, so stop cleanly and say why.
    const fork = plan.dryRun
      ? undefined
      : forkNotice(event, { secretsAvailable: secretsAvailable(inputs, env) });
    if (fork) {
      core.notice(fork.message);
      const outcomes = skippedOutcomes(plan, fork.reason);
      const context = reportContext(env, event, inputs);
      await core.group('Report', () =>
        reportRun({ github: undefined, plan, outcomes, context, notices: [fork.markdown] }),
      );
      return;
    }

    const repository = runRepository(env, event);
    // A deploy converges every function on the cluster, so every one gets its content tag.
    const converge = plan.mode === 'deploy' && !plan.dryRun && event.name !== 'workflow_dispatch';
    const packaged = await core.group('Package', () =>
      packagePlan(
        repoRoot,
        plan,
        resolveBaseImages(inputs.baseImages),
        imagePrefix(inputs, repository),
        converge ? (fn) => fn.action !== 'delete' : undefined,
      ),
    );
    if (plan.dryRun) {
      const outcomes = plannedOutcomes(
        plan,
        new Map([...packaged].map(([name, entry]) => [name, entry.image])),
      );
      const context = reportContext(env, event, inputs);
      await core.group('Report', () => reportRun({ github: undefined, plan, outcomes, context }));
      core.info(
        `Planned ${plan.functions.length} function(s): ${plan.functions.map((fn) => `${fn.name} → ${fn.action}`).join(', ') || 'none'}.`,
      );
      return;
    }

    const done = await buildAndDeploy(inputs, event, plan, packaged, { repository, repoRoot });
    const context = reportContext(env, event, inputs, done.ingressAddress);
    const github = await commentApi(inputs, context, done.plan, env);
    await core.group('Report', () =>
      reportRun({ github, plan: done.plan, outcomes: done.outcomes, context }),
    );
    failOnFailures(done.outcomes);
  } catch (error) {
    core.setFailed(describeError(error));
  }
}

/**
 * Reconciles the plan with the cluster, then builds, deploys and deletes in the run's own temp dir,
 * over one Kubernetes connection that the deploy stage and the Tekton builder share. What the post
 * step needs to clean up after a cancelled run is saved before anything is created; a run that ends
 * here removes its temp dir itself.
 */
async function buildAndDeploy(
  inputs: Inputs,
  event: EventInfo,
  planned: Plan,
  packaged: ReadonlyMap<string, PackagedPlanEntry>,
  run: { repository: string; repoRoot: string },
): Promise<{ plan: Plan; outcomes: FunctionOutcome[]; ingressAddress: string }> {
  const namespace = runNamespace(inputs, planned);
  return withCluster(
    inputs,
    event,
    run.repository,
    namespace,
    async ({ kube, cluster, tempDir, runId, signal }) => {
      const git = new Git(processRunner, run.repoRoot);
      const reconciled = await core.group('Reconcile', () =>
        reconcilePlan(
          planned,
          {
            cluster,
            newerCommits: async (commit, candidates) => {
              const compare = compareFor(inputs, event);
              return newerCommits(
                {
                  git,
                  ...((await git.hasRemote('origin')) ? { remote: 'origin' } : {}),
                  ...(compare
                    ? { relation: (base: string, head: string) => compare.relation(base, head) }
                    : {}),
                },
                commit,
                candidates,
              );
            },
          },
          {
            repository: run.repository,
            ...(event.headSha ? { commit: event.headSha } : {}),
            tags: new Map([...packaged].map(([name, entry]) => [name, entry.tag])),
          },
        ),
      );
      for (const note of reconciled.notes) core.notice(note);
      const plan = reconciled.plan;
      for (const fn of plan.functions) {
        if (fn.refused)
          core.error(`${fn.name}: ${fn.reason ?? 'refused'}`, { title: 'Service owned by someone else' });
      }
      const settings = buildSettings(inputs, {
        tempDir,
        runId,
        kube,
        registry: imagePrefix(inputs, run.repository),
        namespace,
      });
      const outcomes = await executePlan(
        plan,
        packaged,
        {
          build: (requests) => buildImages(requests, settings, { signal }),
          cluster,
          group: (title, stage) => core.group(title, stage),
        },
        executeOptions(inputs, event, runUrl(process.env, event, inputs), signal),
      );
      return { plan, outcomes, ingressAddress: (await cluster.ingressAddress()) ?? inputs.ingressAddress };
    },
  );
}

/**
 * A pull request closed: every preview this repository owns for it goes, found by labels alone (no
 * checkout, build or valid function tree), and the comment says so.
 */
async function cleanupRun(inputs: Inputs, event: EventInfo, pr: number): Promise<void> {
  const repository = runRepository(process.env, event);
  const namespace = inputs.previewNamespace;
  const { plan, outcomes } = await withCluster(inputs, event, repository, namespace, async ({ cluster }) => {
    const previews = (await cluster.listPreviews()).filter((svc) => svc.pullRequest === pr);
    const plan: Plan = {
      mode: 'cleanup',
      dryRun: false,
      eventName: event.name,
      pullRequest: pr,
      functions: previews.map((svc) =>
        deletion(svc.function ?? svc.service, svc.service, 'the pull request was closed'),
      ),
      notes: [],
    };
    const outcomes = await core.group('Clean up', () =>
      executePlan(
        plan,
        new Map(),
        { build: () => Promise.resolve(new Map()), cluster },
        executeOptions(inputs, event, undefined, new AbortController().signal),
      ),
    );
    return { plan, outcomes };
  });
  const context = reportContext(process.env, event, inputs);
  const github = await commentApi(inputs, context, plan, process.env);
  await core.group('Report', () => reportRun({ github, plan, outcomes, context }));
  failOnFailures(outcomes);
}

/**
 * `mode: sweep`: the previews of pull requests GitHub says are closed, and previews older than
 * input `preview-ttl`, are deleted.
 */
async function sweepRun(inputs: Inputs, event: EventInfo): Promise<void> {
  const repository = runRepository(process.env, event);
  const namespace = runNamespace(inputs, 'sweep');
  const state = await pullRequestStates(inputs, repository, process.env);
  const { plan, outcomes } = await withCluster(inputs, event, repository, namespace, async ({ cluster }) => {
    const previews = await cluster.listPreviews();
    const numbers = [
      ...new Set(previews.flatMap((svc) => (svc.pullRequest !== undefined ? [svc.pullRequest] : []))),
    ];
    const states = new Map(await Promise.all(numbers.map(async (pr) => [pr, await state(pr)] as const)));
    const decisions = sweepPreviews({
      previews,
      states,
      ...(inputs.previewTtlSeconds !== undefined ? { ttlSeconds: inputs.previewTtlSeconds } : {}),
      now: new Date(),
    });
    const outcomes: FunctionOutcome[] = [];
    await core.group('Sweep', async () => {
      for (const decision of decisions) {
        const base = { name: decision.function, service: decision.service };
        if (!decision.delete) {
          outcomes.push({ ...base, action: 'skip', status: 'skipped', reason: decision.reason });
          continue;
        }
        try {
          const result = await cluster.deleteService(decision.service, {
            kind: 'preview',
            pullRequest: decision.pullRequest,
          });
          outcomes.push({
            ...base,
            action: 'delete',
            status: result.deleted ? 'deleted' : 'skipped',
            reason: result.deleted ? decision.reason : (result.reason ?? 'nothing to delete'),
            updatedAt: new Date().toISOString(),
          });
        } catch (error) {
          outcomes.push({ ...base, action: 'delete', status: 'failed', reason: describeError(error) });
        }
        core.info(`${decision.service}: ${outcomes.at(-1)?.status ?? ''} (${decision.reason})`);
      }
    });
    const plan: Plan = {
      mode: 'cleanup',
      dryRun: false,
      eventName: event.name,
      functions: decisions.map((d) => deletion(d.function, d.service, d.reason, d.delete)),
      notes: [],
    };
    return { plan, outcomes };
  });
  const context = reportContext(process.env, event, inputs);
  await core.group('Report', () => reportRun({ github: undefined, plan, outcomes, context }));
  failOnFailures(outcomes);
}

function deletion(name: string, service: string, reason: string, remove = true): PlannedFunction {
  return { name, directory: '', changed: remove, action: remove ? 'delete' : 'skip', service, reason };
}

interface ClusterRun {
  kube: KubeConnection;
  cluster: Cluster;
  tempDir: string;
  runId: string;
  signal: AbortSignal;
}

/** Opens the run's temp dir, state, connection and cluster around `work`, and closes them after. */
async function withCluster<T>(
  inputs: Inputs,
  event: EventInfo,
  repository: string,
  namespace: string,
  work: (run: ClusterRun) => Promise<T>,
): Promise<T> {
  const tempDir = await createRunTempDir(process.env);
  const runId = newRunId();
  saveRunState({ namespace, runId, tempDir });
  const cancel = cancelOnSignals();
  let kube: KubeConnection | undefined;
  let cluster: Cluster | undefined;
  try {
    kube = await connectKube(kubeOptions(inputs, tempDir));
    cluster = await connectCluster(kube, clusterOptions(inputs, repository, namespace));
    return await work({ kube, cluster, tempDir, runId, signal: cancel.signal });
  } finally {
    await cluster?.close();
    await kube?.close();
    cancel.release();
    await removeRunTempDir(tempDir);
  }
}

function failOnProblems(problems: readonly ManifestProblem[], functionsDir: string): void {
  for (const problem of problems) {
    core.error(formatProblem(problem), {
      title: 'Invalid function',
      file: problem.file,
      ...(problem.line ? { startLine: problem.line } : {}),
      ...(problem.column ? { startColumn: problem.column } : {}),
    });
  }
  core.setFailed(
    `${problems.length} problem(s) in the functions under ${functionsDir}/; see the annotations.`,
  );
}

function failOnFailures(outcomes: readonly FunctionOutcome[]): void {
  const failed = outcomes.filter((outcome) => outcome.status === 'failed');
  if (failed.length === 0) return;
  core.setFailed(
    `${failed.length} of ${outcomes.length} function(s) failed: ${failed.map((outcome) => `${outcome.name} (${outcome.reason ?? 'failed'})`).join('; ')}`,
  );
}
