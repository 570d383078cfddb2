// The Tekton side as data: the Task (embedded, and templates/tekton/task.yaml), the TaskRun, the context
// split over ConfigMaps, and reading TaskRun statuses in the shapes tektoncd/pipeline writes them
// (fixtures from the shared tekton-status directory).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import {
  CONTEXT_PART_BYTES,
  digestResult,
  failedStep,
  installableTask,
  isFinished,
  partKeys,
  splitContext,
  succeeded,
  taskRun,
  taskRunName,
  type TaskRunStatusView,
} from '../../../src/build/tekton-task.js';
import { DEFAULT_KANIKO_IMAGE } from '../../../src/inputs.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const fixtures = path.resolve(repoRoot, '../shared/fixtures/tekton-status');
const fixture = (name: string): { status: TaskRunStatusView } =>
  load(readFileSync(path.join(fixtures, name), 'utf8')) as { status: TaskRunStatusView };

const base = {
  name: 'echo-build-a1b2c3',
  namespace: 'faas-test',
  functionName: 'echo',
  contentTag: 'ctx-0123',
  image: '127.0.0.1:5001/echo:ctx-0123',
  dockerfilePath: '.faas/Dockerfile',
  kanikoImage: 'kaniko:test',
  kanikoArgs: ['--cache=true', '--cache-repo=127.0.0.1:5001/cache'],
  timeoutSeconds: 600,
  runId: 'run-42',
};

describe('TaskRun', () => {
  it('embeds a one-step Task for a one-ConfigMap context, with the registry secret and service account', () => {
    const tr = taskRun({
      ...base,
      contextConfigMaps: ['echo-build-a1b2c3-context'],
      dockerConfigSecret: 'registry-creds',
      serviceAccount: 'builder',
    });
    expect(tr).toMatchObject({
      apiVersion: 'tekton.dev/v1',
      kind: 'TaskRun',
      metadata: {
        name: 'echo-build-a1b2c3',
        namespace: 'faas-test',
        labels: {
          'app.kubernetes.io/managed-by': 'faas-deploy',
          'faas-deploy.dev/function': 'echo',
          'faas-deploy.dev/content-tag': 'ctx-0123',
          'faas-deploy.dev/build': 'echo-build-a1b2c3',
          'faas-deploy.dev/run': 'run-42',
        },
      },
      spec: {
        serviceAccountName: 'builder',
        timeout: '600s',
        params: [
          { name: 'IMAGE', value: '127.0.0.1:5001/echo:ctx-0123' },
          { name: 'DOCKERFILE', value: '.faas/Dockerfile' },
          { name: 'KANIKO_IMAGE', value: 'kaniko:test' },
          { name: 'KANIKO_ARGS', value: ['--cache=true', '--cache-repo=127.0.0.1:5001/cache'] },
        ],
        workspaces: [
          { name: 'context', configMap: { name: 'echo-build-a1b2c3-context' } },
          {
            name: 'dockerconfig',
            secret: {
              secretName: 'registry-creds',
              items: [{ key: '.dockerconfigjson', path: 'config.json' }],
            },
          },
        ],
      },
    });
    const spec = (tr['spec'] as { taskSpec: { steps: { name: string; args: string[]; env: unknown }[] } })
      .taskSpec;
    expect(spec.steps.map((s) => s.name)).toEqual(['build']);
    expect(spec.steps[0]?.args).toEqual([
      '--context=tar://$(workspaces.context.path)/context.tar.gz',
      '--dockerfile=$(params.DOCKERFILE)',
      '--destination=$(params.IMAGE)',
      '--digest-file=$(results.IMAGE_DIGEST.path)',
      '$(params.KANIKO_ARGS[*])',
    ]);
    expect(spec.steps[0]?.env).toEqual([{ name: 'DOCKER_CONFIG', value: '$(workspaces.dockerconfig.path)' }]);
  });

  it('joins a multi-ConfigMap context from a projected workspace first, with the tools image', () => {
    const tr = taskRun({ ...base, contextConfigMaps: ['c-0', 'c-1', 'c-2'], toolsImage: 'busybox:test' });
    const spec = tr['spec'] as {
      taskSpec: { steps: { name: string; image: string }[] };
      workspaces: unknown[];
      params: { name: string }[];
    };
    expect(spec.taskSpec.steps.map((s) => [s.name, s.image])).toEqual([
      ['join-context', '$(params.TOOLS_IMAGE)'],
      ['build', '$(params.KANIKO_IMAGE)'],
    ]);
    expect(spec.params.map((p) => p.name)).toEqual([
      'IMAGE',
      'DOCKERFILE',
      'KANIKO_IMAGE',
      'TOOLS_IMAGE',
      'KANIKO_ARGS',
    ]);
    expect(spec.workspaces).toEqual([
      {
        name: 'context',
        projected: {
          sources: [
            {
              configMap: { name: 'c-0', items: [{ key: 'context.tar.gz.000', path: 'context.tar.gz.000' }] },
            },
            {
              configMap: { name: 'c-1', items: [{ key: 'context.tar.gz.001', path: 'context.tar.gz.001' }] },
            },
            {
              configMap: { name: 'c-2', items: [{ key: 'context.tar.gz.002', path: 'context.tar.gz.002' }] },
            },
          ],
        },
      },
    ]);
  });

  it('labels and annotates the TaskRun with the repository that owns it', () => {
    const run = taskRun({ ...base, contextConfigMaps: ['c'], repository: 'Octo-Org/Functions' }) as {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    };
    expect(run.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'faas-deploy',
      'faas-deploy.dev/repository': 'octo-org.functions',
    });
    expect(run.metadata.annotations).toEqual({ 'faas-deploy.dev/repository': 'Octo-Org/Functions' });
    expect(
      (taskRun({ ...base, contextConfigMaps: ['c'] }) as { metadata: Record<string, unknown> }).metadata[
        'annotations'
      ],
    ).toBeUndefined();
  });

  it('references an installed Task by name instead of embedding it', () => {
    const spec = taskRun({ ...base, contextConfigMaps: ['c'], taskRef: 'faas-deploy-kaniko' })[
      'spec'
    ] as Record<string, unknown>;
    expect(spec['taskRef']).toEqual({ kind: 'Task', name: 'faas-deploy-kaniko' });
    expect(spec['taskSpec']).toBeUndefined();
    expect(
      (spec['params'] as { name: string; value: unknown }[]).find((p) => p.name === 'TOOLS_IMAGE')?.value,
    ).toBe('docker.io/library/busybox:1.37.0');
  });

  it('names TaskRuns as DNS labels of at most 63 characters', () => {
    expect(taskRunName('echo', 'abc123')).toBe('echo-build-abc123');
    const long = taskRunName(`${'a'.repeat(60)}-pr-12`, 'abc123');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
});

describe('the installable Task', () => {
  it('templates/tekton/task.yaml is installableTask(): join + build steps, the default kaniko image', () => {
    const file = load(readFileSync(path.join(repoRoot, 'templates/tekton/task.yaml'), 'utf8'));
    expect(file).toEqual(installableTask());
    const task = installableTask() as {
      spec: { params: { name: string; default?: unknown }[]; steps: { name: string }[] };
    };
    expect(task.spec.steps.map((s) => s.name)).toEqual(['join-context', 'build']);
    expect(task.spec.params.find((p) => p.name === 'KANIKO_IMAGE')?.default).toBe(DEFAULT_KANIKO_IMAGE);
  });
});

describe('context parts', () => {
  it('one key below the limit, numbered parts above it, rejoined byte for byte', () => {
    expect(partKeys(1)).toEqual(['context.tar.gz']);
    expect(partKeys(3)).toEqual(['context.tar.gz.000', 'context.tar.gz.001', 'context.tar.gz.002']);
    const small = Buffer.alloc(CONTEXT_PART_BYTES, 1);
    expect(splitContext(small)).toHaveLength(1);
    const big = Buffer.alloc(CONTEXT_PART_BYTES * 2 + 5, 2);
    const parts = splitContext(big);
    expect(parts.map((p) => p.length)).toEqual([CONTEXT_PART_BYTES, CONTEXT_PART_BYTES, 5]);
    expect(Buffer.concat(parts).equals(big)).toBe(true);
  });
});

describe('TaskRun status', () => {
  it('success: finished, the IMAGE_DIGEST result', () => {
    const { status } = fixture('taskrun-kaniko-succeeded.yaml');
    expect(isFinished(status)).toBe(true);
    expect(succeeded(status)?.status).toBe('True');
    expect(digestResult(status)).toBe(`sha256:${'a'.repeat(64)}`);
    expect(failedStep(status)).toBeUndefined();
  });

  it('a failed kaniko step (StepFailed, and the older Failed reason): the step and its exit code', () => {
    for (const name of ['taskrun-kaniko-failed.yaml', 'taskrun-kaniko-failed-reason-Failed.yaml']) {
      const { status } = fixture(name);
      expect(isFinished(status)).toBe(true);
      expect(succeeded(status)?.message).toBe('"step-build-and-push" exited with code 1: Error');
      expect(failedStep(status)).toEqual({
        name: 'build-and-push',
        container: 'step-build-and-push',
        exitCode: 1,
      });
      expect(digestResult(status)).toBeUndefined();
    }
  });

  it('running or without conditions is not finished; a digest with a newline is trimmed, garbage refused', () => {
    expect(isFinished(undefined)).toBe(false);
    expect(isFinished({ conditions: [{ type: 'Succeeded', status: 'Unknown', reason: 'Running' }] })).toBe(
      false,
    );
    expect(digestResult({ results: [{ name: 'IMAGE_DIGEST', value: `sha256:${'b'.repeat(64)}\n` }] })).toBe(
      `sha256:${'b'.repeat(64)}`,
    );
    expect(digestResult({ results: [{ name: 'IMAGE_DIGEST', value: 'latest' }] })).toBeUndefined();
  });
});
