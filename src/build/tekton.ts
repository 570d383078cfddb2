/**
 * Tekton on the cluster: per function, the build context goes into ConfigMap(s), a TaskRun runs the
 * kaniko step (tekton-task.ts), the action follows it by watch, reports the failing step, cancels it
 * (spec.status: TaskRunCancelled) when the action is cancelled or the build outlives its timeout,
 * and deletes what it created. @kubernetes/client-node loads here, on the first build, and only then.
 */
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
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
  MAX_CONTEXT_PARTS,
  TEKTON_API_VERSION,
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
import type { BuildContext, BuildRequest, BuildResult, Builder } from './types.js';

/** Where the cluster configuration comes from. */
export type KubeSource = { file: string } | { yaml: string } | { config: KubeConfig } | { default: true };

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
  kube: KubeSource;
  namespace: string;
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

type TaskRunObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
  spec?: Record<string, unknown>;
  status?: TaskRunStatusView;
};

type ClientNode = typeof import('@kubernetes/client-node');

interface Clients {
  lib: ClientNode;
  kc: KubeConfig;
  objects: InstanceType<ClientNode['KubernetesObjectApi']>;
  core: InstanceType<ClientNode['CoreV1Api']>;
  custom: InstanceType<ClientNode['CustomObjectsApi']>;
}

/** HTTP status of a client-node error, if it has one. */
function statusOf(error: unknown): number | undefined {
  if (error && typeof error === 'object') {
    const code = (error as { code?: unknown }).code ?? (error as { statusCode?: unknown }).statusCode;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

function apiMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      return body.slice(0, 300);
    }
  } else if (
    body &&
    typeof body === 'object' &&
    typeof (body as { message?: unknown }).message === 'string'
  ) {
    return (body as { message: string }).message;
  }
  // undici's "fetch failed" says nothing; the cause (ECONNREFUSED, certificate errors) does.
  const cause = (error as { cause?: { message?: unknown; code?: unknown } }).cause;
  const detail = typeof cause?.message === 'string' && cause.message !== '' ? cause.message : cause?.code;
  return typeof detail === 'string' ? `${describeError(error)}: ${detail}` : describeError(error);
}

/** Read through a call, so a check made earlier does not narrow a later one away. */
const aborted = (signal: AbortSignal): boolean => signal.aborted;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class TektonBuilder implements Builder {
  readonly kind = 'tekton' as const;
  private readonly options: TektonBuilderOptions;
  private clientsPromise: Promise<Clients> | undefined;
  private tektonCheck: Promise<string | undefined> | undefined;

  constructor(options: TektonBuilderOptions) {
    this.options = options;
  }

  private clients(): Promise<Clients> {
    this.clientsPromise ??= (async () => {
      const lib = await import('@kubernetes/client-node');
      const source = this.options.kube;
      let kc: KubeConfig;
      if ('config' in source) kc = source.config;
      else {
        kc = new lib.KubeConfig();
        if ('file' in source) kc.loadFromFile(source.file);
        else if ('yaml' in source) kc.loadFromString(source.yaml);
        else kc.loadFromDefault();
      }
      return {
        lib,
        kc,
        objects: lib.KubernetesObjectApi.makeApiClient(kc),
        core: kc.makeApiClient(lib.CoreV1Api),
        custom: kc.makeApiClient(lib.CustomObjectsApi),
      };
    })();
    return this.clientsPromise;
  }

  /** Why the cluster cannot run TaskRuns (no Tekton API), or undefined when it can. Asked once. */
  private checkTekton(clients: Clients): Promise<string | undefined> {
    const [group, version] = TEKTON_API_VERSION.split('/') as [string, string];
    this.tektonCheck ??= clients.custom.getAPIResources({ group, version }).then(
      (list) =>
        list.resources.some((r) => r.kind === 'TaskRun')
          ? undefined
          : `The cluster serves ${TEKTON_API_VERSION} but has no TaskRun resource; install Tekton Pipelines or use builder: kaniko.`,
      (error: unknown) => {
        if (statusOf(error) === 404) {
          return `The cluster has no Tekton Pipelines: the API server does not serve ${TEKTON_API_VERSION} (HTTP 404 for /apis/${TEKTON_API_VERSION}). Install Tekton Pipelines (v0.44 or newer), or use builder: kaniko.`;
        }
        this.tektonCheck = undefined;
        throw error;
      },
    );
    return this.tektonCheck;
  }

  async build(request: BuildRequest, context: BuildContext): Promise<BuildResult> {
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

    let clients: Clients;
    try {
      clients = await this.clients();
      const missing = await this.checkTekton(clients);
      if (missing) return failed(missing);
    } catch (error) {
      const server = this.clientsPromise
        ? (await this.clientsPromise.catch(() => undefined))?.kc.getCurrentCluster()?.server
        : undefined;
      return failed(
        `Cannot reach the cluster${server ? ` at ${server}` : ''} to run the Tekton build: ${apiMessage(error)}`,
      );
    }

    const ns = this.options.namespace;
    const name = taskRunName(request.name, randomBytes(3).toString('hex'));
    const created: { apiVersion: string; kind: string; name: string }[] = [];
    const labelSet = labels(request.name, request.tag, name);
    try {
      const keys = partKeys(parts.length);
      const configMaps = parts.map((_, i) =>
        parts.length === 1 ? `${name}-context` : `${name}-context-${i}`,
      );
      for (const [i, part] of parts.entries()) {
        await clients.objects.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: configMaps[i], namespace: ns, labels: labelSet },
          binaryData: { [keys[i] ?? '']: part.toString('base64') },
        } as never);
        created.push({ apiVersion: 'v1', kind: 'ConfigMap', name: configMaps[i] ?? '' });
      }
      let secret = this.options.registrySecret;
      const credentials = this.options.credentials ?? {};
      if (!secret && Object.keys(credentials).length > 0) {
        const { json, secrets } = dockerConfigJson(credentials);
        for (const value of secrets) if (value !== '') context.log.secret(value);
        secret = `${name}-docker`;
        await clients.objects.create({
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'kubernetes.io/dockerconfigjson',
          metadata: { name: secret, namespace: ns, labels: labelSet },
          data: { '.dockerconfigjson': Buffer.from(json).toString('base64') },
        } as never);
        created.push({ apiVersion: 'v1', kind: 'Secret', name: secret });
      }
      const timeoutSeconds = this.options.timeoutSeconds ?? 1800;
      const manifest = taskRun({
        name,
        namespace: ns,
        functionName: request.name,
        contentTag: request.tag,
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
      const createdRun = (await clients.objects.create(manifest as never)) as TaskRunObject;
      created.push({ apiVersion: TEKTON_API_VERSION, kind: 'TaskRun', name });
      context.log.info(
        `${request.name}: building ${request.image} with TaskRun ${ns}/${name} (context ${(tarball.length / 1024).toFixed(1)} KiB in ${parts.length} ConfigMap${parts.length > 1 ? 's' : ''})`,
      );
      note(`TaskRun ${ns}/${name} created; context ${tarball.length} bytes in ${parts.length} ConfigMap(s)`);

      const outcome = await this.follow(
        clients,
        name,
        createdRun.metadata?.resourceVersion,
        context.signal,
        (timeoutSeconds + 60) * 1000,
        note,
      );
      let final = outcome.taskRun;
      if (outcome.stop) {
        note(`cancelling TaskRun ${name} (${outcome.stop})`);
        await clients.objects
          .patch(
            {
              apiVersion: TEKTON_API_VERSION,
              kind: 'TaskRun',
              metadata: { name, namespace: ns },
              spec: {
                status: 'TaskRunCancelled',
                statusMessage:
                  outcome.stop === 'cancelled'
                    ? 'The faas-deploy run was cancelled.'
                    : 'faas-deploy stopped waiting for the build.',
              },
            } as never,
            undefined,
            undefined,
            undefined,
            undefined,
            clients.lib.PatchStrategy.MergePatch,
          )
          .catch((error: unknown) => {
            note(`cancelling failed: ${apiMessage(error)}`);
          });
        const after = await this.follow(
          clients,
          name,
          undefined,
          new AbortController().signal,
          this.options.cancelGraceMs ?? 30_000,
          note,
        );
        final = after.taskRun ?? final;
      }

      const condition = succeeded(final?.status);
      const ref: TaskRunRef = { name, namespace: ns, podName: final?.status?.podName ?? '' };
      const logs = await this.stepLogs(clients, ref, final?.status, note);
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
      const status = statusOf(error);
      return failed(
        `Tekton build of ${request.name} failed${status ? ` (HTTP ${status})` : ''}: ${apiMessage(error)}`,
        tailOf(lines),
      );
    } finally {
      await this.remove(clients, created, context);
    }
  }

  /**
   * Watches the TaskRun until it finishes, the signal fires or the deadline passes; re-watches when
   * the stream ends (from the last resourceVersion, or from a fresh read after 410 Gone).
   */
  private async follow(
    clients: Clients,
    name: string,
    fromVersion: string | undefined,
    signal: AbortSignal,
    limitMs: number,
    note: (line: string) => void,
  ): Promise<{ taskRun: TaskRunObject | undefined; stop?: 'cancelled' | 'timed out' }> {
    const ns = this.options.namespace;
    const path = `/apis/${TEKTON_API_VERSION}/namespaces/${ns}/taskruns`;
    const deadline = Date.now() + limitMs;
    const watch = new clients.lib.Watch(clients.kc);
    let last: TaskRunObject | undefined;
    let version = fromVersion;
    const seen = new Map<string, string>();
    const observe = (tr: TaskRunObject): void => {
      last = tr;
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
    let failures = 0;
    while (!isFinished(last?.status)) {
      if (signal.aborted) return { taskRun: last, stop: 'cancelled' };
      if (Date.now() >= deadline) return { taskRun: last, stop: 'timed out' };
      if (version === undefined) {
        const fresh: TaskRunObject = await clients.objects.read({
          apiVersion: TEKTON_API_VERSION,
          kind: 'TaskRun',
          metadata: Object.assign(new clients.lib.V1ObjectMeta(), { name, namespace: ns }),
        });
        observe(fresh);
        version = fresh.metadata?.resourceVersion;
        continue;
      }
      const ended = await new Promise<'done' | 'gone' | 'deleted' | 'stream' | { error: unknown }>(
        (resolve) => {
          let controller: AbortController | undefined;
          let settled = false;
          const finish = (value: 'done' | 'gone' | 'deleted' | 'stream' | { error: unknown }): void => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            signal.removeEventListener('abort', onAbort);
            controller?.abort();
            resolve(value);
          };
          const onAbort = (): void => {
            finish('stream');
          };
          const timer = setTimeout(
            () => {
              finish('stream');
            },
            Math.max(1, deadline - Date.now()),
          );
          signal.addEventListener('abort', onAbort, { once: true });
          watch
            .watch(
              path,
              {
                fieldSelector: `metadata.name=${name}`,
                resourceVersion: version,
                allowWatchBookmarks: true,
                timeoutSeconds: 25,
              },
              (type: string, object: TaskRunObject & { code?: number }) => {
                if (type === 'ERROR') {
                  finish(
                    object.code === 410
                      ? 'gone'
                      : { error: new Error(`watch error: ${JSON.stringify(object)}`) },
                  );
                  return;
                }
                if (object.metadata?.resourceVersion) version = object.metadata.resourceVersion;
                if (type === 'BOOKMARK') return;
                if (type === 'DELETED') {
                  finish('deleted');
                  return;
                }
                observe(object);
                if (isFinished(object.status)) finish('done');
              },
              (error: unknown) => {
                finish(error ? { error } : 'stream');
              },
            )
            .then(
              (c) => {
                controller = c;
                if (settled) c.abort();
              },
              (error: unknown) => {
                finish({ error });
              },
            );
        },
      );
      if (ended === 'deleted') throw new Error(`TaskRun ${ns}/${name} was deleted while it ran.`);
      if (ended === 'gone') version = undefined;
      if (typeof ended === 'object') {
        const status = statusOf(ended.error);
        if (status === 401 || status === 403)
          throw new Error(`Watching TaskRun ${ns}/${name} was refused (HTTP ${status}).`);
        failures++;
        if (failures > 20)
          throw new Error(`Watching TaskRun ${ns}/${name} keeps failing: ${describeError(ended.error)}`);
        await sleep(Math.min(5000, 250 * failures));
        version = undefined;
      } else failures = 0;
    }
    return { taskRun: last };
  }

  /** Reads every step's log into the group; returns the failed (or last) step's tail and kaniko's error line. */
  private async stepLogs(
    clients: Clients,
    ref: TaskRunRef,
    status: TaskRunStatusView | undefined,
    note: (line: string) => void,
  ): Promise<{ tail: string; errorLine?: string }> {
    const reader: StepLogReader =
      this.options.stepLogs ??
      (async (taskRun, container, tailLines) => {
        if (!taskRun.podName) return undefined;
        return clients.core
          .readNamespacedPodLog({ name: taskRun.podName, namespace: taskRun.namespace, container, tailLines })
          .catch(() => undefined);
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
    clients: Clients | undefined,
    created: { apiVersion: string; kind: string; name: string }[],
    context: BuildContext,
  ): Promise<void> {
    if (!clients) return;
    for (const object of [...created].reverse()) {
      await clients.objects
        .delete(
          {
            apiVersion: object.apiVersion,
            kind: object.kind,
            metadata: Object.assign(new clients.lib.V1ObjectMeta(), {
              name: object.name,
              namespace: this.options.namespace,
            }),
          },
          undefined,
          undefined,
          undefined,
          undefined,
          'Background',
        )
        .catch((error: unknown) => {
          if (statusOf(error) !== 404)
            context.log.warning(
              `Could not delete ${object.kind} ${this.options.namespace}/${object.name}: ${apiMessage(error)}`,
            );
        });
    }
  }

  close(): Promise<void> {
    this.clientsPromise = undefined;
    this.tektonCheck = undefined;
    return Promise.resolve();
  }
}
