import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as core from '@actions/core';
import { readInputs, type InputSource } from './inputs.js';
import { compareClient, type CompareClient } from './plan/compare.js';
import { describeError } from './util/errors.js';
import { VERSION } from './version.js';

/** GitHub's compare API through @actions/github, loaded only if a run needs it. */
function githubCompare(owner: string, repo: string, token: string): CompareClient {
  return compareClient(owner, repo, async (request) => {
    const { getOctokit } = await import('@actions/github');
    return getOctokit(token).rest.repos.compareCommitsWithBasehead(request);
  });
}

/** Inputs from the runner's INPUT_* variables. */
const runnerInputs: InputSource = {
  get: (name) => core.getInput(name, { trimWhitespace: false }),
  secret: (value) => {
    core.setSecret(value);
  },
};

async function readEventPayload(file: string | undefined): Promise<unknown> {
  if (!file) return {};
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (error) {
    throw new Error(
      `Could not read the event payload at GITHUB_EVENT_PATH (${file}): ${describeError(error)}`,
      { cause: error },
    );
  }
}

/** The action: inputs → plan → package → build → deploy → report. */
export async function run(): Promise<void> {
  try {
    const inputs = readInputs(runnerInputs);
    const eventName = process.env['GITHUB_EVENT_NAME'] ?? '';
    core.info(
      `faas-deploy ${VERSION}: ${eventName || 'no'} event, mode ${inputs.mode}, functions in ${inputs.functionsDir}/`,
    );
    // The stages load after the first line of output (src/stages.ts).
    const stages = await import('./stages.js');
    const { readEventInfo, planRepository, formatProblem, processRunner, packagePlan, resolveBaseImages } =
      stages;
    const {
      plannedOutcomes,
      skippedOutcomes,
      reportRun,
      reportContextFromEnv,
      forkNotice,
      githubCommentApi,
    } = stages;
    const event = readEventInfo(eventName, await readEventPayload(process.env['GITHUB_EVENT_PATH']), {
      ...(process.env['GITHUB_REF'] ? { ref: process.env['GITHUB_REF'] } : {}),
      ...(process.env['GITHUB_SHA'] ? { sha: process.env['GITHUB_SHA'] } : {}),
    });
    const repoRoot = process.env['GITHUB_WORKSPACE'] || process.cwd();

    const result = await planRepository({
      repoRoot,
      settings: inputs,
      defaultWatchdog: inputs.watchdog,
      event,
      runner: processRunner,
      ...(event.repository && inputs.githubToken
        ? { compare: githubCompare(event.repository.owner, event.repository.name, inputs.githubToken) }
        : {}),
    });
    if (!result.ok) {
      for (const problem of result.problems) {
        core.error(formatProblem(problem), {
          title: 'Invalid function',
          file: problem.file,
          ...(problem.line ? { startLine: problem.line } : {}),
          ...(problem.column ? { startColumn: problem.column } : {}),
        });
      }
      core.setFailed(
        `${result.problems.length} problem(s) in the functions under ${inputs.functionsDir}/; see the annotations.`,
      );
      return;
    }
    const plan = result.plan;
    for (const note of plan.notes) core.notice(note);
    const reportContext = reportContextFromEnv(process.env, event, {
      ingressAddress: inputs.ingressAddress,
      secrets: [inputs.githubToken, inputs.registryPassword],
    });

    // A fork pull request runs without secrets: nothing to deploy with, so stop cleanly and say why.
    const fork = plan.dryRun
      ? undefined
      : forkNotice(event, {
          secretsAvailable:
            inputs.kubeconfig !== '' ||
            Boolean(process.env['KUBECONFIG']) ||
            Boolean(process.env['KUBERNETES_SERVICE_HOST']),
        });
    if (fork) {
      core.notice(fork.message);
      await reportRun({
        github: undefined,
        plan,
        outcomes: skippedOutcomes(plan, fork.reason),
        context: reportContext,
        notices: [fork.markdown],
      });
      return;
    }

    const packaged = await packagePlan(repoRoot, plan, resolveBaseImages(inputs.baseImages), inputs.registry);
    const images = new Map([...packaged].map(([name, entry]) => [name, entry.image]));

    if (plan.dryRun) {
      const outcomes = plannedOutcomes(plan, images);
      await reportRun({ github: undefined, plan, outcomes, context: reportContext });
      core.info(
        `Planned ${plan.functions.length} function(s): ${plan.functions.map((fn) => `${fn.name} → ${fn.action}`).join(', ') || 'none'}.`,
      );
      return;
    }

    // Deploy, preview or clean up: the build and deploy stages load now, with their clients.
    const [{ buildImages }, { connectCluster, decodeKubeconfigInput }, { executePlan }] = await Promise.all([
      import('./build/index.js'),
      import('./deploy/index.js'),
      import('./execute.js'),
    ]);
    const tempDir = process.env['RUNNER_TEMP'] || tmpdir();
    const cancel = new AbortController();
    const onSignal = (): void => {
      core.warning('Cancelled: stopping builds and waits.');
      cancel.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const cluster = await connectCluster({
      kubeconfig: inputs.kubeconfig,
      namespace: inputs.namespace,
      tempDir,
      secret: (value) => {
        core.setSecret(value);
      },
      ingressAddress: inputs.ingressAddress,
      ...(inputs.ingressService ? { ingressService: inputs.ingressService } : {}),
      info: (message) => {
        core.info(message);
      },
      warn: (message) => {
        core.warning(message);
      },
      debug: (message) => {
        core.debug(message);
      },
    });
    let outcomes;
    try {
      outcomes = await executePlan(
        plan,
        packaged,
        {
          build: (requests) =>
            buildImages(
              requests,
              {
                ...inputs,
                tempDir,
                ...(reportContext.run.id > 0 ? { runId: String(reportContext.run.id) } : {}),
                ...(inputs.builder === 'tekton' && inputs.kubeconfig !== ''
                  ? { kube: { yaml: decodeKubeconfigInput(inputs.kubeconfig) } }
                  : {}),
              },
              { signal: cancel.signal },
            ),
          cluster,
        },
        {
          concurrency: inputs.concurrency,
          waitTimeoutSeconds: inputs.waitTimeoutSeconds,
          ...(event.headSha ? { commit: event.headSha } : {}),
          ...(reportContext.runUrl ? { runUrl: reportContext.runUrl } : {}),
          ...(inputs.imagePullSecret ? { imagePullSecret: inputs.imagePullSecret } : {}),
          signal: cancel.signal,
        },
      );
      const ingress = await cluster.ingressAddress();
      if (ingress) reportContext.ingressAddress = ingress;
    } finally {
      await cluster.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }

    const github =
      inputs.comment && inputs.githubToken && reportContext.repo && plan.pullRequest !== undefined
        ? await githubCommentApi(
            inputs.githubToken,
            { owner: reportContext.repo.owner, name: reportContext.repo.name },
            process.env['GITHUB_API_URL'],
          )
        : undefined;
    await reportRun({ github, plan, outcomes, context: reportContext });

    const failed = outcomes.filter((outcome) => outcome.status === 'failed');
    if (failed.length > 0) {
      core.setFailed(
        `${failed.length} of ${outcomes.length} function(s) failed: ${failed.map((outcome) => `${outcome.name} (${outcome.reason ?? 'failed'})`).join('; ')}`,
      );
    }
  } catch (error) {
    core.setFailed(describeError(error));
  }
}
