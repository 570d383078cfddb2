/**
 * Carries out a plan: builds what must be built, deploys each built image as its Service, deletes
 * the Services the plan removes, and turns every result into a FunctionOutcome for the report. One
 * function's failure never stops the others.
 */
import type { BuildRequest, BuildResult } from './build/types.js';
import type { Cluster, DeployResult } from './deploy/cluster.js';
import type { PackagedPlanEntry } from './package/index.js';
import type { Plan, PlannedFunction } from './plan/types.js';
import type { FunctionOutcome } from './report/outputs.js';
import { describeError } from './util/errors.js';

export interface ExecuteDeps {
  /** The build stage over every request at once (it runs them under input `concurrency`). */
  build(requests: BuildRequest[]): Promise<Map<string, BuildResult>>;
  cluster: Pick<Cluster, 'deployFunction' | 'deleteService' | 'deletePreviews'>;
}

export interface ExecuteOptions {
  concurrency: number;
  waitTimeoutSeconds: number;
  commit?: string;
  runUrl?: string;
  imagePullSecret?: string;
  signal?: AbortSignal;
}

async function inPool<T>(
  items: readonly T[],
  limit: number,
  worker: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await worker(items[next++] as T);
  });
  await Promise.all(lanes);
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
      url: result.url,
      revision: result.revision,
      updatedAt: new Date(result.timing.settledAt).toISOString(),
    };
  }
  return { ...base, reason: result.reason, ...(result.url ? { url: result.url } : {}) };
}

export async function executePlan(
  plan: Plan,
  packaged: ReadonlyMap<string, PackagedPlanEntry>,
  deps: ExecuteDeps,
  options: ExecuteOptions,
): Promise<FunctionOutcome[]> {
  const outcomes = new Map<string, FunctionOutcome>();
  const toBuild = plan.functions.filter((fn) => packaged.has(fn.name));
  const requests: BuildRequest[] = toBuild.map((fn) => {
    const entry = packaged.get(fn.name) as PackagedPlanEntry;
    return {
      name: fn.name,
      image: entry.image,
      tag: entry.tag,
      entries: entry.entries,
      dockerfile: entry.dockerfile,
      dockerfilePath: entry.dockerfilePath,
    };
  });

  const deletions = plan.functions.filter((fn) => fn.action === 'delete');
  const failed = (fn: PlannedFunction, error: unknown): FunctionOutcome => ({
    name: fn.name,
    service: fn.service,
    action: fn.action,
    status: 'failed',
    reason: describeError(error),
  });
  // Deletions run while the images build; a failure becomes each deletion's outcome, never an
  // unhandled rejection.
  const deleting = (async () => {
    if (plan.mode === 'cleanup' && plan.pullRequest !== undefined) {
      // Every Service labelled with the pull request goes, also those of functions since removed.
      const removed = new Set(await deps.cluster.deletePreviews(plan.pullRequest));
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
    await inPool(deletions, options.concurrency, async (fn) => {
      const result = await deps.cluster.deleteService(fn.service);
      outcomes.set(fn.name, {
        name: fn.name,
        service: fn.service,
        action: 'delete',
        status: result.deleted ? 'deleted' : 'skipped',
        reason: result.deleted ? (fn.reason ?? 'removed') : (result.reason ?? 'nothing to delete'),
        updatedAt: new Date().toISOString(),
      });
    });
  })().catch((error: unknown) => {
    for (const fn of deletions) if (!outcomes.has(fn.name)) outcomes.set(fn.name, failed(fn, error));
  });

  const builds = requests.length > 0 ? await deps.build(requests) : new Map<string, BuildResult>();
  await inPool(toBuild, options.concurrency, async (fn) => {
    const built = builds.get(fn.name);
    if (!built || built.status === 'failed') {
      outcomes.set(fn.name, {
        name: fn.name,
        service: fn.service,
        action: fn.action,
        status: 'failed',
        reason: built ? `build failed: ${built.reason}` : 'not built',
        ...(built?.logTail ? { logTail: built.logTail } : {}),
        ...(built ? { buildSeconds: built.seconds } : {}),
      });
      return;
    }
    const spec = fn.spec;
    if (!spec) return;
    let result: DeployResult;
    try {
      result = await deps.cluster.deployFunction({
        spec,
        service: fn.service,
        image: built.image,
        ...(plan.pullRequest !== undefined && fn.action === 'preview'
          ? { pullRequest: plan.pullRequest }
          : {}),
        ...(options.commit ? { commit: options.commit } : {}),
        ...(options.runUrl ? { runUrl: options.runUrl } : {}),
        ...(options.imagePullSecret ? { imagePullSecret: options.imagePullSecret } : {}),
        waitTimeoutSeconds: options.waitTimeoutSeconds,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      outcomes.set(fn.name, {
        ...failed(fn, error),
        image: built.image,
        digest: built.digest,
        buildSkipped: built.status === 'skipped',
      });
      return;
    }
    outcomes.set(fn.name, deployedOutcome(fn, built, result));
  });
  await deleting;

  return plan.functions.map(
    (fn) =>
      outcomes.get(fn.name) ?? {
        name: fn.name,
        service: fn.service,
        action: fn.action,
        status: 'skipped',
        ...(fn.reason ? { reason: fn.reason } : {}),
      },
  );
}
