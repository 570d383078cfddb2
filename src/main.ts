import * as core from '@actions/core';
import { buildImages } from './build/index.js';
import {
  buildSettings,
  cancelOnSignals,
  clusterOptions,
  commentApi,
  createRunTempDir,
  executeOptions,
  kubeOptions,
  newRunId,
  planRequest,
  readRunEvent,
  removeRunTempDir,
  reportContext,
  runnerInputs,
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
import { planRepository } from './plan/index.js';
import { formatProblem } from './plan/problems.js';
import type { ManifestProblem, Plan } from './plan/types.js';
import {
  forkNotice,
  plannedOutcomes,
  reportRun,
  skippedOutcomes,
  type FunctionOutcome,
} from './report/index.js';
import { saveRunState } from './state-helper.js';
import { describeError } from './util/errors.js';
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

    const packaged = await core.group('Package', () =>
      packagePlan(repoRoot, plan, resolveBaseImages(inputs.baseImages), inputs.registry),
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

    const { outcomes, ingressAddress } = await buildAndDeploy(inputs, event, plan, packaged);
    const context = reportContext(env, event, inputs, ingressAddress);
    const github = await commentApi(inputs, context, plan, env);
    await core.group('Report', () => reportRun({ github, plan, outcomes, context }));
    failOnFailures(outcomes);
  } catch (error) {
    core.setFailed(describeError(error));
  }
}

/**
 * Builds, deploys and deletes in the run's own temp dir, over one Kubernetes connection that the
 * deploy stage and the Tekton builder share. What the post step needs to clean up after a cancelled
 * run is saved before anything is created; a run that ends here removes its temp dir itself.
 */
async function buildAndDeploy(
  inputs: Inputs,
  event: EventInfo,
  plan: Plan,
  packaged: ReadonlyMap<string, PackagedPlanEntry>,
): Promise<{ outcomes: FunctionOutcome[]; ingressAddress: string }> {
  const tempDir = await createRunTempDir(process.env);
  const runId = newRunId();
  saveRunState({ namespace: inputs.namespace, runId, tempDir });
  const cancel = cancelOnSignals();
  let kube: KubeConnection | undefined;
  let cluster: Cluster | undefined;
  try {
    kube = await connectKube(kubeOptions(inputs, tempDir));
    cluster = await connectCluster(kube, clusterOptions(inputs));
    const settings = buildSettings(inputs, { tempDir, runId, kube });
    const outcomes = await executePlan(
      plan,
      packaged,
      {
        build: (requests) => buildImages(requests, settings, { signal: cancel.signal }),
        cluster,
        group: (title, stage) => core.group(title, stage),
      },
      executeOptions(inputs, event, runUrl(process.env, event, inputs), cancel.signal),
    );
    return { outcomes, ingressAddress: (await cluster.ingressAddress()) ?? inputs.ingressAddress };
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
