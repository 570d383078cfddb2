/**
 * Carries out a plan: builds what must be built, deploys each built image as its Service, deletes
 * the Services the plan removes, and turns every result into a FunctionOutcome for the report. One
 * function's failure never stops the others. Orchestration only: the build stage and the cluster
 * come in through `ExecuteDeps`.
 */
import type { BuildRequest, BuildResult } from './build/types.js';
import type { Cluster, DeployResult } from './deploy/cluster.js';
import type { PackagedPlanEntry } from './package/index.js';
import type { Plan, PlannedFunction } from './plan/types.js';
import type { FunctionOutcome } from './report/outputs.js';
import { describeError } from './util/errors.js';
import { mapPool } from './util/pool.js';

export interface ExecuteDeps {
  /** The build stage over every request at once (it runs them under input `concurrency`). */
  build(requests: BuildRequest[]): Promise<Map<string, BuildResult>>;
  cluster: Pick<Cluster, 'deployFunction' | 'deleteService' | 'deletePreviews'>;
  /**
   * Runs the deploy phase inside a log group (core.group). The build phase has none: the build
   * stage writes one group per function, and GitHub's log does not nest groups.
   */
  group?<T>(title: string, run: () => Promise<T>): Promise<T>;
}

export interface ExecuteOptions {
  concurrency: number;
  waitTimeoutSeconds: number;
  commit?: string;
  runUrl?: string;
  imagePullSecret?: string;
  signal?: AbortSignal;
}

/** What the package stage made of a function, as the build stage's request. */
export function buildRequest(name: string, entry: PackagedPlanEntry): BuildRequest {
  return {
    name,
    image: entry.image,
    tag: entry.tag,
    entries: entry.entries,
    dockerfile: entry.dockerfile,
    dockerfilePath: entry.dockerfilePath,
  };
}

function deployedOutcome(
  fn: PlannedFunction,
  built: Extract<BuildResult, { image: string }>,
  result: DeployResult,
): FunctionOutcome {
  const base: FunctionOutcome = {
    name: fn.name,
    service: fn.service,
    action: fn.action,
    status: result.status,
    image: built.image,
    digest: built.digest,
    buildSeconds: built.seconds,
    buildSkipped: built.status === 'skipped',
  };
  if (result.status === 'ready') {
    return {
      ...base,
      // Why it was deployed (the reconcile's cause), for the outputs, summary and comment.
      ...(fn.reason ? { reason: fn.reason } : {}),
      url: result.url,
      revision: result.revision,
      updatedAt: new Date(result.timing.settledAt).toISOString(),
    };
  }
  return { ...base, reason: result.reason, ...(result.url ? { url: result.url } : {}) };
}

function failedOutcome(fn: PlannedFunction, error: unknown): FunctionOutcome {
  return {
    name: fn.name,
    service: fn.service,
    action: fn.action,
    status: 'failed',
    reason: describeError(error),
  };
}

/** Deletes what the plan removes; every deletion gets an outcome, a failure included. */
async function deleteRemoved(
  plan: Plan,
  cluster: ExecuteDeps['cluster'],
  concurrency: number,
  outcomes: Map<string, FunctionOutcome>,
): Promise<void> {
  const deletions = plan.functions.filter((fn) => fn.action === 'delete');
  try {
    if (plan.mode === 'cleanup' && plan.pullRequest !== undefined) {
      // Every Service labelled with the pull request goes, also those of functions since removed.
      const removed = new Set(await cluster.deletePreviews(plan.pullRequest));
      for (const fn of deletions) {
        outcomes.set(fn.name, {
          name: fn.name,
          service: fn.service,
          action: 'delete',
          status: removed.has(fn.service) ? 'deleted' : 'skipped',
          reason: removed.has(fn.service)
            ? (fn.reason ?? 'the pull request was closed')
            : 'no preview to remove',
          updatedAt: new Date().toISOString(),
        });
      }
      return;
    }
    await mapPool(deletions, concurrency, async (fn) => {
      const result = await cluster.deleteService(
        fn.service,
        plan.pullRequest !== undefined
          ? { kind: 'preview', pullRequest: plan.pullRequest }
          : { kind: 'deploy' },
      );
      outcomes.set(fn.name, {
        name: fn.name,
        service: fn.service,
        action: 'delete',
        status: result.deleted ? 'deleted' : 'skipped',
        reason: result.deleted ? (fn.reason ?? 'removed') : (result.reason ?? 'nothing to delete'),
        updatedAt: new Date().toISOString(),
      });
    });
  } catch (error) {
    for (const fn of deletions) if (!outcomes.has(fn.name)) outcomes.set(fn.name, failedOutcome(fn, error));
  }
}

/** Deploys one built function; a throw becomes its failed outcome, with the image it was built as. */
async function deployBuilt(
  plan: Plan,
  fn: PlannedFunction,
  contentTag: string,
  built: BuildResult | undefined,
  cluster: ExecuteDeps['cluster'],
  options: ExecuteOptions,
): Promise<FunctionOutcome | undefined> {
  if (!built || built.status === 'failed') {
    return {
      name: fn.name,
      service: fn.service,
      action: fn.action,
      status: 'failed',
      reason: built ? `build failed: ${built.reason}` : 'not built',
      ...(built?.logTail ? { logTail: built.logTail } : {}),
      ...(built ? { buildSeconds: built.seconds } : {}),
    };
  }
  if (!fn.spec) return undefined;
  try {
    const result = await cluster.deployFunction({
      spec: fn.spec,
      service: fn.service,
      image: built.image,
      contentTag,
      ...(plan.pullRequest !== undefined && fn.action === 'preview' ? { pullRequest: plan.pullRequest } : {}),
      ...(options.commit ? { commit: options.commit } : {}),
      ...(options.runUrl ? { runUrl: options.runUrl } : {}),
      ...(options.imagePullSecret ? { imagePullSecret: options.imagePullSecret } : {}),
      waitTimeoutSeconds: options.waitTimeoutSeconds,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return deployedOutcome(fn, built, result);
  } catch (error) {
    return {
      ...failedOutcome(fn, error),
      image: built.image,
      digest: built.digest,
      buildSkipped: built.status === 'skipped',
    };
  }
}

/**
 * Deletions run while the images build and deploy; the built images deploy at most `concurrency`
 * at a time. Returns one outcome per planned function, in plan order.
 */
export async function executePlan(
  plan: Plan,
  packaged: ReadonlyMap<string, PackagedPlanEntry>,
  deps: ExecuteDeps,
  options: ExecuteOptions,
): Promise<FunctionOutcome[]> {
  const outcomes = new Map<string, FunctionOutcome>();
  const deleting = deleteRemoved(plan, deps.cluster, options.concurrency, outcomes);

  const toBuild = plan.functions.filter(
    (fn) => (fn.action === 'deploy' || fn.action === 'preview') && packaged.has(fn.name),
  );
  const requests = toBuild.map((fn) => buildRequest(fn.name, packaged.get(fn.name) as PackagedPlanEntry));
  let builds: Map<string, BuildResult>;
  try {
    builds = requests.length > 0 ? await deps.build(requests) : new Map<string, BuildResult>();
  } catch (error) {
    // A build stage that throws (no registry, say) lets the deletions finish before the cluster closes.
    await deleting;
    throw error;
  }
  const deploy = (): Promise<unknown> =>
    mapPool(toBuild, options.concurrency, async (fn) => {
      const entry = packaged.get(fn.name) as PackagedPlanEntry;
      const outcome = await deployBuilt(plan, fn, entry.tag, builds.get(fn.name), deps.cluster, options);
      if (outcome) outcomes.set(fn.name, outcome);
    });
  if (toBuild.length > 0) await (deps.group ? deps.group('Deploy', deploy) : deploy());
  await deleting;

  return plan.functions.map(
    (fn) =>
      outcomes.get(fn.name) ?? {
        name: fn.name,
        service: fn.service,
        action: fn.action,
        // Refused (a Service of that name is someone else's): a failure the user must act on.
        status: fn.refused ? 'failed' : 'skipped',
        ...(fn.reason ? { reason: fn.reason } : {}),
      },
  );
}
