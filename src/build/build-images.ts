/**
 * The build stage: for every packaged function, ask the registry whether `<registry>/<fn>:<content
 * tag>` exists — then the build is skipped and the existing digest is used — else build and push
 * it with the builder of input `builder`, at most `concurrency` at a time. A failure is that
 * function's result; the others carry on.
 */
import type { Inputs } from '../inputs.js';
import type { KubeConnection } from '../kube/connection.js';
import { describeError, UserError } from '../util/errors.js';
import type { CommandRunner } from '../util/exec.js';
import { mapPool } from '../util/pool.js';
import { digestReference, registryHost } from './image-ref.js';
import { KanikoBuilder } from './kaniko.js';
import { actionsLog, type BuildLog } from './log.js';
import { RegistryClient, RegistryError, type RegistryCredentials } from './registry.js';
import { TektonBuilder, type StepLogReader } from './tekton.js';
import type { BuildRequest, BuildResult, Builder } from './types.js';

/** What the build stage needs from the inputs, plus settings that have no input (yet). */
export type BuildSettings = Pick<
  Inputs,
  | 'builder'
  | 'registry'
  | 'registryUsername'
  | 'registryPassword'
  | 'kanikoImage'
  | 'concurrency'
  | 'namespace'
  | 'tektonServiceAccount'
  | 'registrySecret'
> & {
  /** The cluster connection (src/kube) builder tekton runs its TaskRuns on; required for it. */
  kube?: KubeConnection;
  /** Registries reached over plain HTTP besides 127.0.0.0/8 and localhost. */
  insecureRegistries?: string[];
  /** Per build; default 30 min. */
  timeoutSeconds?: number;
  /** Name of an installed Task (templates/tekton/task.yaml) to reference instead of embedding it. */
  tektonTask?: string;
  /** Image with sh and cat for joining a multi-ConfigMap context (Tekton). */
  toolsImage?: string;
  /** kaniko --reproducible (default true): equal content gives an equal digest. */
  reproducible?: boolean;
  /** kaniko: the docker CLI's runner, environment and temp dir; a label value for the run. */
  runner?: CommandRunner;
  dockerEnv?: NodeJS.ProcessEnv;
  tempDir?: string;
  runId?: string;
  /** `owner/repo` of the run, for the ownership labels of what the Tekton builder creates. */
  repository?: string;
  stepLogs?: StepLogReader;
};

export interface BuildStageOptions {
  log?: BuildLog;
  signal?: AbortSignal;
  /** Replace the builder or registry client (tests, benchmarks); default from the settings. */
  builder?: Builder;
  registryClient?: RegistryClient;
}

/** Credentials of input registry-username/registry-password, by the registry's host. */
export function registryCredentials(settings: BuildSettings): Record<string, RegistryCredentials> {
  if (settings.registryUsername === '' || settings.registryPassword === '') return {};
  return {
    [registryHost(settings.registry)]: {
      username: settings.registryUsername,
      password: settings.registryPassword,
    },
  };
}

export function createBuilder(settings: BuildSettings): Builder {
  const credentials = registryCredentials(settings);
  const common = {
    kanikoImage: settings.kanikoImage,
    registry: settings.registry,
    credentials,
    ...(settings.insecureRegistries ? { insecureRegistries: settings.insecureRegistries } : {}),
    ...(settings.timeoutSeconds ? { timeoutSeconds: settings.timeoutSeconds } : {}),
    // --reproducible: equal content, equal digest (in the runner or on the cluster); caching still works.
    reproducible: settings.reproducible ?? true,
  };
  if (settings.builder === 'tekton') {
    if (!settings.kube) throw new Error('builder tekton needs the cluster connection (BuildSettings.kube).');
    return new TektonBuilder({
      ...common,
      kube: settings.kube,
      namespace: settings.namespace,
      ...(settings.runId ? { runId: settings.runId } : {}),
      ...(settings.repository ? { repository: settings.repository } : {}),
      ...(settings.registrySecret ? { registrySecret: settings.registrySecret } : {}),
      ...(settings.tektonServiceAccount ? { serviceAccount: settings.tektonServiceAccount } : {}),
      ...(settings.tektonTask ? { taskRef: settings.tektonTask } : {}),
      ...(settings.toolsImage ? { toolsImage: settings.toolsImage } : {}),
      ...(settings.stepLogs ? { stepLogs: settings.stepLogs } : {}),
    });
  }
  return new KanikoBuilder({
    ...common,
    ...(settings.runner ? { runner: settings.runner } : {}),
    ...(settings.dockerEnv ? { env: settings.dockerEnv } : {}),
    ...(settings.tempDir ? { tempDir: settings.tempDir } : {}),
    ...(settings.runId ? { runId: settings.runId } : {}),
  });
}

function summary(name: string, result: BuildResult): string {
  const time = `${result.seconds.toFixed(1)} s`;
  if (result.status !== 'failed') {
    return result.status === 'skipped'
      ? `${name}: unchanged, ${result.image} exists (${time})`
      : `${name}: built and pushed ${result.image} (${time})`;
  }
  return `${name}: build FAILED (${time}): ${result.reason}`;
}

/**
 * Builds what the registry does not have yet. Returns one result per request, by function name.
 * Never throws for a function's failure; closes the builder (credentials files, clients) at the end.
 */
export async function buildImages(
  requests: readonly BuildRequest[],
  settings: BuildSettings,
  options: BuildStageOptions = {},
): Promise<Map<string, BuildResult>> {
  if (requests.length > 0 && settings.registry === '') {
    throw new UserError('Input "registry" is required to build images (for example ghcr.io/my-org).');
  }
  const log = options.log ?? actionsLog;
  const signal = options.signal ?? new AbortController().signal;
  const credentials = registryCredentials(settings);
  for (const creds of Object.values(credentials)) log.secret(creds.password);
  const client =
    options.registryClient ??
    new RegistryClient({
      credentials,
      ...(settings.insecureRegistries ? { insecureRegistries: settings.insecureRegistries } : {}),
    });
  const builder = options.builder ?? createBuilder(settings);
  try {
    const results = await mapPool(requests, settings.concurrency, async (request): Promise<BuildResult> => {
      const started = Date.now();
      const seconds = (): number => (Date.now() - started) / 1000;
      let result: BuildResult;
      try {
        if (signal.aborted) {
          result = {
            status: 'failed',
            reason: 'Build cancelled before it started.',
            logTail: '',
            seconds: 0,
          };
        } else {
          const existing = await client.manifestDigest(request.image, signal);
          if (existing) {
            result = {
              status: 'skipped',
              image: digestReference(request.image, existing),
              digest: existing,
              seconds: seconds(),
            };
          } else {
            result = { ...(await builder.build(request, { signal, log })), seconds: seconds() };
          }
        }
      } catch (error) {
        const reason =
          error instanceof RegistryError
            ? `${error.message} The image was not built.`
            : signal.aborted
              ? 'Build cancelled.'
              : `Build failed: ${describeError(error)}`;
        result = { status: 'failed', reason, logTail: '', seconds: seconds() };
      }
      if (result.status === 'failed') log.warning(summary(request.name, result));
      else log.info(summary(request.name, result));
      return result;
    });
    return new Map(requests.map((request, i) => [request.name, results[i] as BuildResult]));
  } finally {
    await builder.close();
  }
}
