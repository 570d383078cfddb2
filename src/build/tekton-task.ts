/**
 * The Tekton side of a build, as data: the Task (embedded in each TaskRun by default; the same Task
 * ships as templates/tekton/task.yaml for clusters that prefer to install it), the ConfigMaps that
 * carry the build context, and the TaskRun. No I/O here; tekton.ts talks to the cluster.
 *
 * The context travels as a gzipped tar in ConfigMap binaryData, so the cluster needs no git
 * credentials and builds exactly what the content tag names. One ConfigMap holds at most
 * CONTEXT_PART_BYTES; a larger tarball is split over several ConfigMaps (projected into one
 * workspace) and a first step joins the parts; above MAX_CONTEXT_PARTS the build is refused.
 */
import { ownerMetadata } from '../kube/ownership.js';
import { DEFAULT_KANIKO_IMAGE } from '../inputs.js';
import { ApiNotInstalledError } from '../kube/errors.js';
import type { ResourceType } from '../kube/resources.js';
import { RUN_LABEL } from './types.js';

export const TEKTON_GROUP = 'tekton.dev';
export const TEKTON_API_VERSION = `${TEKTON_GROUP}/v1`;

/** The tekton.dev API group is unknown to the server. */
export class TektonNotInstalledError extends ApiNotInstalledError {
  override name = 'TektonNotInstalledError';
  constructor() {
    super(
      `The cluster has no Tekton Pipelines: the API server does not serve ${TEKTON_API_VERSION} (HTTP 404 for /apis/${TEKTON_API_VERSION}). Install Tekton Pipelines (v0.44 or newer), or use builder: kaniko.`,
    );
  }
}

export const TASK_RUNS: ResourceType = {
  group: TEKTON_GROUP,
  version: 'v1',
  plural: 'taskruns',
  notInstalled: () => new TektonNotInstalledError(),
};

/** Name of the installable Task (templates/tekton/task.yaml). */
export const TASK_NAME = 'faas-deploy-kaniko';
/** Bumped when the Task's interface (params, workspaces, results) changes. */
export const TASK_VERSION = '1';
/** Shell image of the join step; only used when the context needs more than one ConfigMap. */
export const DEFAULT_TOOLS_IMAGE = 'docker.io/library/busybox:1.37.0';

/**
 * Bytes of tarball per ConfigMap. The API server refuses a ConfigMap whose data and binaryData
 * together exceed 1 MiB (1,048,576 bytes, counted decoded: base64 in the request does not count;
 * measured on kube-apiserver v1.37, see docs/builders.md); 4 KiB stay free for the object's metadata.
 */
export const CONTEXT_PART_BYTES = 1024 * 1024 - 4096;
/** At most this many ConfigMaps per build (8 MiB of compressed context). */
export const MAX_CONTEXT_PARTS = 8;

export const CONTEXT_KEY = 'context.tar.gz';
export const DIGEST_RESULT = 'IMAGE_DIGEST';
export const BUILD_STEP = 'build';
export const JOIN_STEP = 'join-context';

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  function: 'faas-deploy.dev/function',
  contentTag: 'faas-deploy.dev/content-tag',
  build: 'faas-deploy.dev/build',
  run: RUN_LABEL,
} as const;

/** Keys of the context parts: one `context.tar.gz`, or `context.tar.gz.000`, `.001`, … */
export function partKeys(parts: number): string[] {
  if (parts === 1) return [CONTEXT_KEY];
  return Array.from({ length: parts }, (_, i) => `${CONTEXT_KEY}.${String(i).padStart(3, '0')}`);
}

export function splitContext(tarball: Buffer, partBytes = CONTEXT_PART_BYTES): Buffer[] {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < tarball.length; offset += partBytes)
    parts.push(tarball.subarray(offset, offset + partBytes));
  return parts.length === 0 ? [tarball] : parts;
}

export interface TaskSpecOptions {
  /** Whether a first step joins the context parts (always in the installable Task). */
  join: boolean;
}

/**
 * The Task spec. The kaniko step reads the gzipped tar (`--context=tar://…`), pushes
 * `$(params.IMAGE)` and writes the digest as the IMAGE_DIGEST result (kaniko writes it without a
 * newline). Registry credentials come from the optional `dockerconfig` workspace (a Secret whose
 * `.dockerconfigjson` is mapped to config.json).
 */
export function taskSpec(options: TaskSpecOptions): Record<string, unknown> {
  const contextPath = options.join
    ? `/faas-build/${CONTEXT_KEY}`
    : `$(workspaces.context.path)/${CONTEXT_KEY}`;
  const buildMount = options.join ? { volumeMounts: [{ name: 'faas-build', mountPath: '/faas-build' }] } : {};
  const steps: Record<string, unknown>[] = [];
  if (options.join) {
    steps.push({
      name: JOIN_STEP,
      image: '$(params.TOOLS_IMAGE)',
      script: [
        '#!/bin/sh',
        'set -eu',
        '# One key context.tar.gz, or the parts context.tar.gz.000, .001, … in order.',
        `cat "$(workspaces.context.path)"/${CONTEXT_KEY}* > /faas-build/${CONTEXT_KEY}`,
        `ls -l /faas-build/${CONTEXT_KEY}`,
        '',
      ].join('\n'),
      ...buildMount,
    });
  }
  steps.push({
    name: BUILD_STEP,
    image: '$(params.KANIKO_IMAGE)',
    args: [
      `--context=tar://${contextPath}`,
      '--dockerfile=$(params.DOCKERFILE)',
      '--destination=$(params.IMAGE)',
      `--digest-file=$(results.${DIGEST_RESULT}.path)`,
      '$(params.KANIKO_ARGS[*])',
    ],
    env: [{ name: 'DOCKER_CONFIG', value: '$(workspaces.dockerconfig.path)' }],
    ...buildMount,
  });
  return {
    description:
      'Builds a function image with kaniko from a gzipped tar build context in ConfigMaps and pushes it (faas-deploy).',
    params: [
      { name: 'IMAGE', type: 'string', description: 'Image to push: <registry>/<function>:<content tag>.' },
      {
        name: 'DOCKERFILE',
        type: 'string',
        default: '.faas/Dockerfile',
        description: 'Path of the Dockerfile inside the build context.',
      },
      {
        name: 'KANIKO_IMAGE',
        type: 'string',
        default: DEFAULT_KANIKO_IMAGE,
        description: 'kaniko executor image.',
      },
      ...(options.join
        ? [
            {
              name: 'TOOLS_IMAGE',
              type: 'string',
              default: DEFAULT_TOOLS_IMAGE,
              description: 'Image with sh and cat, joins the context parts.',
            },
          ]
        : []),
      {
        name: 'KANIKO_ARGS',
        type: 'array',
        default: [],
        description: 'More executor flags: cache, --build-arg, --insecure-registry.',
      },
    ],
    workspaces: [
      {
        name: 'context',
        readOnly: true,
        description: `The build context as a gzipped tar: key ${CONTEXT_KEY}, or parts ${CONTEXT_KEY}.000, .001, … (a projected volume of several ConfigMaps).`,
      },
      {
        name: 'dockerconfig',
        readOnly: true,
        optional: true,
        description:
          'A docker config.json with push credentials (a kubernetes.io/dockerconfigjson Secret, key .dockerconfigjson mapped to config.json).',
      },
    ],
    results: [{ name: DIGEST_RESULT, type: 'string', description: 'Digest of the pushed image (sha256:…).' }],
    ...(options.join ? { volumes: [{ name: 'faas-build', emptyDir: {} }] } : {}),
    steps,
  };
}

/** The installable Task (templates/tekton/task.yaml is this object as YAML). */
export function installableTask(): Record<string, unknown> {
  return {
    apiVersion: TEKTON_API_VERSION,
    kind: 'Task',
    metadata: {
      name: TASK_NAME,
      labels: { 'app.kubernetes.io/part-of': 'faas-deploy', 'app.kubernetes.io/version': TASK_VERSION },
    },
    spec: taskSpec({ join: true }),
  };
}

export interface TaskRunOptions {
  name: string;
  namespace: string;
  functionName: string;
  contentTag: string;
  /** The run label's value (RUN_LABEL). */
  runId: string;
  image: string;
  dockerfilePath: string;
  kanikoImage: string;
  toolsImage?: string;
  kanikoArgs: string[];
  /** ConfigMap names holding the context parts, in order. */
  contextConfigMaps: string[];
  /** Secret with `.dockerconfigjson` (input registry-secret, or one made from the credentials). */
  dockerConfigSecret?: string;
  serviceAccount?: string;
  timeoutSeconds: number;
  /** Name of an installed Task to reference instead of embedding the spec. */
  taskRef?: string;
  /** `owner/repo` of the run, for the ownership labels and annotation. */
  repository?: string;
}

/** The labels of every object one build creates: the TaskRun, its ConfigMaps and its Secret. */
export function labels(options: {
  functionName: string;
  contentTag: string;
  build: string;
  runId: string;
  /** `owner/repo` of the run: the ownership labels every object faas-deploy creates carries. */
  repository?: string;
}): Record<string, string> {
  return {
    ...(options.repository ? ownerMetadata(options.repository, { kind: 'deploy' }).labels : {}),
    [LABELS.managedBy]: 'faas-deploy',
    [LABELS.function]: options.functionName,
    [LABELS.contentTag]: options.contentTag,
    [LABELS.build]: options.build,
    [LABELS.run]: options.runId,
  };
}

export function taskRun(options: TaskRunOptions): Record<string, unknown> {
  const join = options.taskRef !== undefined || options.contextConfigMaps.length > 1;
  const keys = partKeys(options.contextConfigMaps.length);
  const context =
    options.contextConfigMaps.length === 1
      ? { name: 'context', configMap: { name: options.contextConfigMaps[0] } }
      : {
          name: 'context',
          projected: {
            sources: options.contextConfigMaps.map((name, i) => ({
              configMap: { name, items: [{ key: keys[i], path: keys[i] }] },
            })),
          },
        };
  const workspaces: Record<string, unknown>[] = [context];
  if (options.dockerConfigSecret) {
    workspaces.push({
      name: 'dockerconfig',
      secret: {
        secretName: options.dockerConfigSecret,
        items: [{ key: '.dockerconfigjson', path: 'config.json' }],
      },
    });
  }
  const params: { name: string; value: string | string[] }[] = [
    { name: 'IMAGE', value: options.image },
    { name: 'DOCKERFILE', value: options.dockerfilePath },
    { name: 'KANIKO_IMAGE', value: options.kanikoImage },
  ];
  if (join) params.push({ name: 'TOOLS_IMAGE', value: options.toolsImage ?? DEFAULT_TOOLS_IMAGE });
  params.push({ name: 'KANIKO_ARGS', value: options.kanikoArgs });
  return {
    apiVersion: TEKTON_API_VERSION,
    kind: 'TaskRun',
    metadata: {
      name: options.name,
      namespace: options.namespace,
      labels: labels({
        functionName: options.functionName,
        contentTag: options.contentTag,
        build: options.name,
        runId: options.runId,
        ...(options.repository ? { repository: options.repository } : {}),
      }),
      ...(options.repository
        ? { annotations: ownerMetadata(options.repository, { kind: 'deploy' }).annotations }
        : {}),
    },
    spec: {
      ...(options.taskRef
        ? { taskRef: { kind: 'Task', name: options.taskRef } }
        : { taskSpec: taskSpec({ join }) }),
      params,
      ...(options.serviceAccount ? { serviceAccountName: options.serviceAccount } : {}),
      timeout: `${Math.max(1, Math.round(options.timeoutSeconds))}s`,
      workspaces,
    },
  };
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

export interface TaskRunStatusView {
  podName?: string;
  conditions?: Condition[];
  results?: { name: string; value: string }[];
  steps?: {
    name?: string;
    container?: string;
    terminationReason?: string;
    running?: unknown;
    terminated?: { exitCode?: number; reason?: string; message?: string };
  }[];
}

/** The Succeeded condition, or undefined while there is none. */
export function succeeded(status: TaskRunStatusView | undefined): Condition | undefined {
  return status?.conditions?.find((c) => c.type === 'Succeeded');
}

export function isFinished(status: TaskRunStatusView | undefined): boolean {
  const c = succeeded(status);
  return c !== undefined && (c.status === 'True' || c.status === 'False');
}

/** The first step that ended non-zero (the one Tekton's message names), else undefined. */
export function failedStep(
  status: TaskRunStatusView | undefined,
): { name: string; container: string; exitCode: number } | undefined {
  for (const step of status?.steps ?? []) {
    const code = step.terminated?.exitCode;
    if (code !== undefined && code !== 0 && step.terminationReason !== 'Skipped') {
      const name = step.name ?? step.container?.replace(/^step-/, '') ?? '?';
      return { name, container: step.container ?? `step-${name}`, exitCode: code };
    }
  }
  return undefined;
}

/** The digest result, validated. */
export function digestResult(status: TaskRunStatusView | undefined): string | undefined {
  const value = status?.results?.find((r) => r.name === DIGEST_RESULT)?.value.trim();
  return value && /^sha256:[0-9a-f]{64}$/.test(value) ? value : undefined;
}

/** A TaskRun name: `<fn>-build-<random>`, a DNS label of at most 63 characters. */
export function taskRunName(functionName: string, random: string): string {
  const base = functionName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63 - 7 - random.length)
    .replace(/-+$/, '');
  return `${base}-build-${random}`;
}
