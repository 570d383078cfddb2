/**
 * Tekton on the cluster: per function, the build context goes into ConfigMap(s), a TaskRun runs the
 * kaniko step (tekton-task.ts), the action follows it by watch, reports the failing step, cancels it
 * (spec.status: TaskRunCancelled) when the action is cancelled or the build outlives its timeout,
 * and deletes what it created. Every request goes through the connection main opened (src/kube).
 */
import { ownerMetadata } from '../kube/ownership.js';
import { randomBytes } from 'node:crypto';
import type { KubeConnection } from '../kube/connection.js';
import { apiError } from '../kube/errors.js';
import { CONFIG_MAPS, KubeResources, SECRETS, type ResourceType } from '../kube/resources.js';
import type { CollectionWatch } from '../kube/watch.js';
import { describeError } from '../util/errors.js';
import { dockerConfigJson } from './docker-config.js';
import { digestReference } from './image-ref.js';
import { kanikoFlags } from './kaniko-args.js';
import { kanikoErrorLine, LOG_TAIL_LINES, tailOf } from './log.js';
import type { RegistryCredentials } from './registry.js';
import { contextTarball } from './tar.js';
import {
  BUILD_STEP,
  CONTEXT_PART_BYTES,
  LABELS,
  MAX_CONTEXT_PARTS,
  TASK_RUNS,
  TEKTON_API_VERSION,
  TektonNotInstalledError,
  digestResult,
  failedStep,
  isFinished,
  labels,
  partKeys,
  splitContext,
  succeeded,
  taskRun,
  taskRunName,
  type TaskRunStatusView,
} from './tekton-task.js';
import type { BuildControls, BuildRequest, BuildResult, Builder } from './types.js';

export { TASK_RUNS, TektonNotInstalledError } from './tekton-task.js';

export interface TaskRunRef {
  name: string;
  namespace: string;
  podName: string;
}

/**
 * Reads the last lines of one step container's log. The default reads `pods/<podName>/log`, as
 * Tekton serves step logs; an environment without pods (the test stand-in) plugs in its own.
 */
export type StepLogReader = (
  taskRun: TaskRunRef,
  container: string,
  tailLines: number,
) => Promise<string | undefined>;

export interface TektonBuilderOptions {
  kube: KubeConnection;
  namespace: string;
  /** Value of the run label (RUN_LABEL) on everything the builder creates (default: a random id). */
  runId?: string;
  /** `owner/repo` of the run: the ownership labels and annotation on everything it creates. */
  repository?: string;
  kanikoImage: string;
  /** The input registry prefix (for the cache repository). */
  registry: string;
  /** Input registry-secret: a kubernetes.io/dockerconfigjson Secret in the namespace. */
  registrySecret?: string;
  /** Without registry-secret: a Secret is made from these for the build and deleted after it. */
  credentials?: Record<string, RegistryCredentials>;
  serviceAccount?: string;
  insecureRegistries?: readonly string[];
  /** spec.timeout of the TaskRun; the action cancels it itself a minute later. Default 30 min. */
  timeoutSeconds?: number;
  /** Reference this installed Task (templates/tekton/task.yaml) instead of embedding the spec. */
  taskRef?: string;
  toolsImage?: string;
  reproducible?: boolean;
  stepLogs?: StepLogReader;
  maxContextParts?: number;
  /** How long to wait for a cancelled TaskRun to report its end before deleting it. Default 30 s. */
  cancelGraceMs?: number;
}

interface TaskRunObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string };
  spec?: Record<string, unknown>;
  status?: TaskRunStatusView;
}

/** Read through a call, so a check made earlier does not narrow a later one away. */
const aborted = (signal: AbortSignal): boolean => signal.aborted;

export class TektonBuilder implements Builder {
  readonly kind = 'tekton' as const;
  private readonly options: TektonBuilderOptions & { runId: string };
  private readonly resources: KubeResources;
  private tektonCheck: Promise<string | undefined> | undefined;
  /** One watch of this run's TaskRuns (by the run label), shared by the builds. */
  private watch: CollectionWatch<TaskRunObject> | undefined;

  constructor(options: TektonBuilderOptions) {
    this.options = { ...options, runId: options.runId ?? randomBytes(6).toString('hex') };
    this.resources = new KubeResources(options.kube.http, options.namespace);
  }

  /** Why the cluster cannot run TaskRuns (no Tekton API), or undefined when it can. Asked once. */
  private checkTekton(): Promise<string | undefined> {
    const http = this.options.kube.http;
    this.tektonCheck ??= http
      .request({ method: 'GET', path: `/apis/${TEKTON_API_VERSION}`, idempotent: true })
      .then((res) => {
        if (res.status === 404) return new TektonNotInstalledError().message;
        if (res.status !== 200) {
          throw apiError(http.server, { verb: 'get', resource: `/apis/${TEKTON_API_VERSION}` }, res);
        }
        const list = JSON.parse(res.body) as { resources?: { kind?: string }[] };
        return (list.resources ?? []).some((r) => r.kind === 'TaskRun')
          ? undefined
          : `The cluster serves ${TEKTON_API_VERSION} but has no TaskRun resource; install Tekton Pipelines or use builder: kaniko.`;
      })
      .catch((error: unknown) => {
        this.tektonCheck = undefined;
        throw error;
      });
    return this.tektonCheck;
  }

  private taskRuns(): CollectionWatch<TaskRunObject> {
    this.watch ??= this.resources.watch<TaskRunObject>(TASK_RUNS, {
      labelSelector: `${LABELS.run}=${this.options.runId}`,
    });
    return this.watch;
  }

  async build(request: BuildRequest, context: BuildControls): Promise<BuildResult> {
    const started = Date.now();
    const seconds = (): number => (Date.now() - started) / 1000;
    const lines: string[] = [];
    const note = (line: string): void => {
      lines.push(line);
    };
    const failed = (reason: string, logTail = ''): BuildResult => ({
      status: 'failed',
      reason,
      logTail,
      seconds: seconds(),
    });

    const tarball = contextTarball(request);
    const parts = splitContext(tarball);
    const maxParts = this.options.maxContextParts ?? MAX_CONTEXT_PARTS;
    if (parts.length > maxParts) {
      return failed(
        `The build context of ${request.name} is ${(tarball.length / 2 ** 20).toFixed(1)} MiB compressed; the Tekton builder carries at most ${((maxParts * CONTEXT_PART_BYTES) / 2 ** 20).toFixed(1)} MiB (${maxParts} ConfigMaps of ${(CONTEXT_PART_BYTES / 2 ** 20).toFixed(2)} MiB). Leave files out with a .dockerignore, or use builder: kaniko.`,
      );
    }
    if (context.signal.aborted) return failed('Build cancelled before it started.');

    try {
      const missing = await this.checkTekton();
      if (missing) return failed(missing);
    } catch (error) {
      return failed(
        `Cannot reach the cluster at ${this.options.kube.server} to run the Tekton build: ${describeError(error)}`,
      );
    }

    const ns = this.options.namespace;
    const name = taskRunName(request.name, randomBytes(3).toString('hex'));
    const created: { type: ResourceType; name: string }[] = [];
    const labelSet = labels({
      functionName: request.name,
      contentTag: request.tag,
      build: name,
      runId: this.options.runId,
      ...(this.options.repository ? { repository: this.options.repository } : {}),
    });
    const annotations = this.options.repository
      ? ownerMetadata(this.options.repository, { kind: 'deploy' }).annotations
      : {};
    try {
      const keys = partKeys(parts.length);
      const configMaps = parts.map((_, i) =>
        parts.length === 1 ? `${name}-context` : `${name}-context-${i}`,
      );
      for (const [i, part] of parts.entries()) {
        await this.resources.create(CONFIG_MAPS, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: configMaps[i], namespace: ns, labels: labelSet, annotations },
          binaryData: { [keys[i] ?? '']: part.toString('base64') },
        });
        created.push({ type: CONFIG_MAPS, name: configMaps[i] ?? '' });
      }
      let secret = this.options.registrySecret;
      const credentials = this.options.credentials ?? {};
      if (!secret && Object.keys(credentials).length > 0) {
        const { json, secrets } = dockerConfigJson(credentials);
        for (const value of secrets) if (value !== '') context.log.secret(value);
        secret = `${name}-docker`;
        await this.resources.create(SECRETS, {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'kubernetes.io/dockerconfigjson',
          metadata: { name: secret, namespace: ns, labels: labelSet, annotations },
          data: { '.dockerconfigjson': Buffer.from(json).toString('base64') },
        });
        created.push({ type: SECRETS, name: secret });
      }
      const timeoutSeconds = this.options.timeoutSeconds ?? 1800;
      const manifest = taskRun({
        name,
        namespace: ns,
        functionName: request.name,
        contentTag: request.tag,
        runId: this.options.runId,
        ...(this.options.repository ? { repository: this.options.repository } : {}),
        image: request.image,
        dockerfilePath: request.dockerfilePath,
        kanikoImage: this.options.kanikoImage,
        ...(this.options.toolsImage ? { toolsImage: this.options.toolsImage } : {}),
        kanikoArgs: kanikoFlags({
          image: request.image,
          registry: this.options.registry,
          dockerfile: request.dockerfile,
          ...(this.options.insecureRegistries ? { insecureRegistries: this.options.insecureRegistries } : {}),
          ...(this.options.reproducible ? { reproducible: true } : {}),
        }),
        contextConfigMaps: configMaps,
        ...(secret ? { dockerConfigSecret: secret } : {}),
        ...(this.options.serviceAccount ? { serviceAccount: this.options.serviceAccount } : {}),
        timeoutSeconds,
        ...(this.options.taskRef ? { taskRef: this.options.taskRef } : {}),
      });
      if (aborted(context.signal)) return failed('Build cancelled before the TaskRun was created.');
      await this.resources.create(TASK_RUNS, manifest);
      created.push({ type: TASK_RUNS, name });
      context.log.info(
        `${request.name}: building ${request.image} with TaskRun ${ns}/${name} (context ${(tarball.length / 1024).toFixed(1)} KiB in ${parts.length} ConfigMap${parts.length > 1 ? 's' : ''})`,
      );
      note(`TaskRun ${ns}/${name} created; context ${tarball.length} bytes in ${parts.length} ConfigMap(s)`);

      const observe = stepNotes(note);
      const outcome = await this.follow(name, context.signal, (timeoutSeconds + 60) * 1000, observe);
      let final = outcome.taskRun;
      if (outcome.stop === 'deleted') {
        context.log.group(`tekton: ${request.name} → ${request.image} (TaskRun ${ns}/${name})`, lines);
        return failed(`TaskRun ${ns}/${name} was deleted while it ran.`, tailOf(lines));
      }
      if (outcome.stop) {
        note(`cancelling TaskRun ${name} (${outcome.stop})`);
        await this.resources
          .mergePatch(TASK_RUNS, name, {
            spec: {
              status: 'TaskRunCancelled',
              statusMessage:
                outcome.stop === 'cancelled'
                  ? 'The faas-deploy run was cancelled.'
                  : 'faas-deploy stopped waiting for the build.',
            },
          })
          .catch((error: unknown) => {
            note(`cancelling failed: ${describeError(error)}`);
          });
        const after = await this.follow(
          name,
          new AbortController().signal,
          this.options.cancelGraceMs ?? 30_000,
          observe,
        );
        final = after.taskRun ?? final;
      }

      const condition = succeeded(final?.status);
      const ref: TaskRunRef = { name, namespace: ns, podName: final?.status?.podName ?? '' };
      const logs = await this.stepLogs(ref, final?.status, note);
      context.log.group(`tekton: ${request.name} → ${request.image} (TaskRun ${ns}/${name})`, lines);
      if (outcome.stop) {
        const how =
          condition?.status === 'False' ? ` (${condition.reason ?? ''}: ${condition.message ?? ''})` : '';
        return failed(
          outcome.stop === 'cancelled'
            ? `Build cancelled; TaskRun ${ns}/${name} was cancelled${how}.`
            : `Build timed out after ${timeoutSeconds} s; TaskRun ${ns}/${name} was cancelled${how}.`,
          logs.tail,
        );
      }
      if (condition?.status === 'True') {
        const digest = digestResult(final?.status);
        if (!digest)
          return failed(`TaskRun ${ns}/${name} succeeded without a valid IMAGE_DIGEST result.`, logs.tail);
        return { status: 'built', image: digestReference(request.image, digest), digest, seconds: seconds() };
      }
      const why = `${condition?.reason ?? 'Failed'}: ${condition?.message ?? 'no message'}`;
      return failed(
        `TaskRun ${ns}/${name} failed: ${why}${logs.errorLine ? ` — ${logs.errorLine}` : ''}`,
        logs.tail,
      );
    } catch (error) {
      context.log.group(`tekton: ${request.name} → ${request.image} (TaskRun ${ns}/${name})`, lines);
      return failed(`Tekton build of ${request.name} failed: ${describeError(error)}`, tailOf(lines));
    } finally {
      await this.remove(created, context);
    }
  }

  /**
   * Follows the TaskRun on the run's watch until it finishes, the signal fires, `limitMs` pass or it
   * is deleted; `observe` sees every state on the way.
   */
  private async follow(
    name: string,
    signal: AbortSignal,
    limitMs: number,
    observe: (taskRun: TaskRunObject) => void,
  ): Promise<{ taskRun: TaskRunObject | undefined; stop?: 'cancelled' | 'timed out' | 'deleted' }> {
    const watch = this.taskRuns();
    const deadline = AbortSignal.timeout(limitMs);
    let last: TaskRunObject | undefined;
    try {
      const final = await watch.waitFor(
        name,
        (tr) => {
          if (!tr) return last !== undefined; // deleted after it was seen; not seen yet: wait
          last = tr;
          observe(tr);
          return isFinished(tr.status);
        },
        AbortSignal.any([signal, deadline]),
      );
      return final ? { taskRun: final } : { taskRun: last, stop: 'deleted' };
    } catch (error) {
      if (signal.aborted) return { taskRun: last ?? watch.latest(name), stop: 'cancelled' };
      if (deadline.aborted) return { taskRun: last ?? watch.latest(name), stop: 'timed out' };
      throw error;
    }
  }

  /** Reads every step's log into the group; returns the failed (or last) step's tail and kaniko's error line. */
  private async stepLogs(
    ref: TaskRunRef,
    status: TaskRunStatusView | undefined,
    note: (line: string) => void,
  ): Promise<{ tail: string; errorLine?: string }> {
    const reader: StepLogReader =
      this.options.stepLogs ??
      (async (taskRun, container, tailLines) => {
        if (!taskRun.podName) return undefined;
        const query = new URLSearchParams({ container, tailLines: String(tailLines) });
        const res = await this.options.kube.http.request({
          method: 'GET',
          path: `/api/v1/namespaces/${encodeURIComponent(taskRun.namespace)}/pods/${encodeURIComponent(taskRun.podName)}/log?${query.toString()}`,
          idempotent: true,
        });
        return res.status === 200 ? res.body : undefined;
      });
    const failing = failedStep(status);
    let tail = '';
    let errorLine: string | undefined;
    for (const step of status?.steps ?? []) {
      const container = step.container ?? `step-${step.name ?? ''}`;
      if (step.terminationReason === 'Skipped') continue;
      const text = await reader(ref, container, 500).catch(() => undefined);
      if (text === undefined) {
        note(`(${container}: no log available)`);
        continue;
      }
      const stepLines = text.split('\n');
      note(`----- ${container} -----`);
      for (const line of stepLines) note(line);
      if (failing ? failing.container === container : step.name === BUILD_STEP) {
        tail = tailOf(stepLines, LOG_TAIL_LINES);
        errorLine = failing ? kanikoErrorLine(stepLines) : undefined;
      }
    }
    return errorLine ? { tail, errorLine } : { tail };
  }

  /** Deletes what a build created, TaskRun first; reports what it could not delete. */
  private async remove(
    created: { type: ResourceType; name: string }[],
    context: BuildControls,
  ): Promise<void> {
    for (const object of [...created].reverse()) {
      await this.resources.delete(object.type, object.name).catch((error: unknown) => {
        context.log.warning(
          `Could not delete ${object.type.plural} ${this.options.namespace}/${object.name}: ${describeError(error)}`,
        );
      });
    }
  }

  async close(): Promise<void> {
    await this.watch?.stop();
    this.watch = undefined;
    this.tektonCheck = undefined;
  }
}

/** An observer that notes every step's transitions (waiting → running → terminated) once. */
function stepNotes(note: (line: string) => void): (taskRun: TaskRunObject) => void {
  const seen = new Map<string, string>();
  return (tr) => {
    for (const step of tr.status?.steps ?? []) {
      const state = step.terminated
        ? `terminated (exit ${step.terminated.exitCode ?? '?'}, ${step.terminationReason ?? step.terminated.reason ?? ''})`
        : step.running
          ? 'running'
          : 'waiting';
      const key = step.container ?? step.name ?? '?';
      if (seen.get(key) !== state) {
        seen.set(key, state);
        note(`${key}: ${state}`);
      }
    }
  };
}
