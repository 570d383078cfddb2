/**
 * The action's inputs, read once into one typed object. Every parser names the input it rejects.
 * Reading goes through a narrow `InputSource` so tests can hand plain objects; production reads
 * the runner's INPUT_* variables through @actions/core.
 */
import { UserError } from './util/errors.js';
import { parseDurationSeconds } from './util/duration.js';

/** What input `mode` asks of the plan stage. */
export type Mode = 'auto' | 'deploy' | 'preview' | 'cleanup' | 'plan';
/** Input `mode`: a plan mode, or `sweep` (a scheduled clean-up of previews, no plan). */
export type RunMode = Mode | 'sweep';
export type BuilderKind = 'kaniko' | 'tekton';
export type WatchdogKind = 'classic' | 'of-watchdog';

export interface BaseImages {
  builder?: string;
  runtime?: string;
  watchdog?: string;
  ofWatchdog?: string;
  node?: string;
  /** Final stage of Node functions (default: a distroless Node image); `node` is the build stage. */
  nodeRuntime?: string;
  python?: string;
  /** Final stage of Python functions (default: a distroless Python image); `python` is the build stage. */
  pythonRuntime?: string;
}

export interface Inputs {
  functionsDir: string;
  /** workflow_dispatch selection: undefined = not given, 'all', or names. */
  functions: 'all' | string[] | undefined;
  deployAllOn: string[];
  deployBranches: string[];
  mode: RunMode;
  registry: string;
  registryUsername: string;
  registryPassword: string;
  builder: BuilderKind;
  kanikoImage: string;
  baseImages: BaseImages;
  watchdog: WatchdogKind;
  kubeconfig: string;
  namespace: string;
  /** Input `preview-namespace`: where previews live (default: `namespace`). */
  previewNamespace: string;
  /** Input `preview-ttl`: `mode: sweep` deletes previews deployed longer ago; undefined: no limit. */
  previewTtlSeconds: number | undefined;
  tektonServiceAccount: string;
  registrySecret: string;
  imagePullSecret: string;
  waitTimeoutSeconds: number;
  concurrency: number;
  ingressAddress: string;
  /** `<namespace>/<name>` of the ingress gateway's LoadBalancer Service; '' when not given. */
  ingressService: string;
  githubToken: string;
  comment: boolean;
}

/** Where raw input strings come from (empty string = not set, as on a runner). */
export interface InputSource {
  get(name: string): string;
  /** Marks a value as secret so the runner masks it. */
  secret(value: string): void;
}

export const DEFAULT_KANIKO_IMAGE = 'ghcr.io/osscontainertools/kaniko:v1.28.3';

const BASE_IMAGE_KEYS: Record<string, keyof BaseImages> = {
  builder: 'builder',
  go: 'builder',
  runtime: 'runtime',
  watchdog: 'watchdog',
  'classic-watchdog': 'watchdog',
  'of-watchdog': 'ofWatchdog',
  node: 'node',
  'node-runtime': 'nodeRuntime',
  python: 'python',
  'python-runtime': 'pythonRuntime',
};

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[], fallback: T): T {
  if (value === '') return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UserError(`Input "${name}" must be one of ${allowed.join(', ')}; got "${value}".`);
}

/** Comma- or newline-separated list, trimmed, empties dropped. */
export function parseList(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function parseBoolean(name: string, value: string, fallback: boolean): boolean {
  if (value === '') return fallback;
  if (/^(true|yes|on|1)$/i.test(value)) return true;
  if (/^(false|no|off|0)$/i.test(value)) return false;
  throw new UserError(`Input "${name}" must be true or false; got "${value}".`);
}

function parsePositiveInteger(name: string, value: string, fallback: number): number {
  if (value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new UserError(`Input "${name}" must be a whole number of at least 1; got "${value}".`);
  }
  return Number(value);
}

function parseBaseImages(value: string): BaseImages {
  const images: BaseImages = {};
  for (const line of parseList(value)) {
    const eq = line.indexOf('=');
    const key = eq > 0 ? BASE_IMAGE_KEYS[line.slice(0, eq).trim()] : undefined;
    const image = eq > 0 ? line.slice(eq + 1).trim() : '';
    if (!key || image === '' || /\s/.test(image)) {
      throw new UserError(
        `Input "base-images" takes lines of KEY=IMAGE with KEY one of ${Object.keys(BASE_IMAGE_KEYS).join(', ')}; got "${line}".`,
      );
    }
    images[key] = image;
  }
  return images;
}

/** A registry prefix such as ghcr.io/owner or 127.0.0.1:5000/team: lowercased, no scheme, no trailing slash. */
export function normaliseRegistry(value: string): string {
  const registry = value.trim().replace(/\/+$/, '').toLowerCase();
  if (registry === '') return '';
  if (/^[a-z]+:\/\//.test(registry) || !/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/.test(registry)) {
    throw new UserError(
      `Input "registry" must be a registry host with an optional path, like ghcr.io/my-org; got "${value}".`,
    );
  }
  return registry;
}

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function readInputs(source: InputSource): Inputs {
  const get = (name: string): string => source.get(name).trim();

  const functionsDir = get('functions-dir') || 'functions';
  if (functionsDir.split(/[\\/]/).includes('..') || functionsDir.startsWith('/')) {
    throw new UserError(`Input "functions-dir" must be a path inside the repository; got "${functionsDir}".`);
  }

  const functionsValue = get('functions');
  const functions =
    functionsValue === '' ? undefined : functionsValue === 'all' ? 'all' : parseList(functionsValue);

  const namespaceInput = (name: string, fallback: string): string => {
    const value = get(name) || fallback;
    if (!DNS_LABEL.test(value) || value.length > 63) {
      throw new UserError(`Input "${name}" must be a Kubernetes namespace name (DNS label); got "${value}".`);
    }
    return value;
  };
  const namespace = namespaceInput('namespace', 'default');
  const previewNamespace = namespaceInput('preview-namespace', namespace);

  const previewTtl = get('preview-ttl');
  const previewTtlSeconds = previewTtl === '' ? undefined : parseDurationSeconds(previewTtl);
  if (previewTtl !== '' && (previewTtlSeconds === undefined || previewTtlSeconds <= 0)) {
    throw new UserError(`Input "preview-ttl" must be a duration such as 12h or 14d; got "${previewTtl}".`);
  }

  const waitTimeout = get('wait-timeout') || '5m';
  const waitTimeoutSeconds = parseDurationSeconds(waitTimeout);
  if (waitTimeoutSeconds === undefined || waitTimeoutSeconds <= 0) {
    throw new UserError(`Input "wait-timeout" must be a duration such as 90s or 5m; got "${waitTimeout}".`);
  }

  // Secrets are masked before anything else can print them; the raw kubeconfig carries tokens and keys.
  const registryPassword = source.get('registry-password');
  const kubeconfig = source.get('kubeconfig');
  const githubToken = source.get('github-token');
  for (const secret of [registryPassword, kubeconfig, githubToken])
    if (secret.trim() !== '') source.secret(secret);

  return {
    functionsDir: functionsDir.replace(/\/+$/, ''),
    functions,
    deployAllOn: parseList(get('deploy-all-on')),
    deployBranches: parseList(get('deploy-branches')),
    mode: oneOf('mode', get('mode'), ['auto', 'deploy', 'preview', 'cleanup', 'plan', 'sweep'], 'auto'),
    registry: normaliseRegistry(get('registry')),
    registryUsername: get('registry-username'),
    registryPassword,
    builder: oneOf('builder', get('builder'), ['kaniko', 'tekton'], 'kaniko'),
    kanikoImage: get('kaniko-image') || DEFAULT_KANIKO_IMAGE,
    baseImages: parseBaseImages(get('base-images')),
    watchdog: oneOf('watchdog', get('watchdog'), ['classic', 'of-watchdog'], 'classic'),
    kubeconfig,
    namespace,
    previewNamespace,
    previewTtlSeconds,
    tektonServiceAccount: get('tekton-service-account'),
    registrySecret: get('registry-secret'),
    imagePullSecret: get('image-pull-secret'),
    waitTimeoutSeconds,
    concurrency: parsePositiveInteger('concurrency', get('concurrency'), 4),
    ingressAddress: get('ingress-address'),
    ingressService: get('ingress-service'),
    githubToken,
    comment: parseBoolean('comment', get('comment'), true),
  };
}
