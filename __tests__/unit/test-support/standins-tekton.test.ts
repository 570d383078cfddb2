// The Tekton stand-in's substitution and status logic against the tekton-status fixtures
// (shared/fixtures/tekton-status, assembled from tektoncd/pipeline v1.15 sources).
import fs from 'node:fs';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import {
  finalCondition,
  finalStatus,
  formatGoDuration,
  isFinal,
  paramValues,
  parseGoDuration,
  resolveTaskSpec,
  runningStatus,
  scriptFile,
  stepContainerName,
  substitute,
  substituteList,
  terminationMessage,
  validateRun,
  workspacePaths,
  type StepState,
  type SubstitutionContext,
  type TaskRunSpec,
  type TaskRunStatus,
  type TaskSpec,
} from '../../../test/standins/tekton-logic.ts';

const fixtures = new URL('../../../../shared/fixtures/tekton-status/', import.meta.url);

interface TaskRunFixture {
  metadata: { name: string; namespace: string; uid: string };
  spec: TaskRunSpec & { taskSpec: TaskSpec };
  status: TaskRunStatus & { taskSpec: TaskSpec; steps: StepState[] };
}

function fixture(name: string): TaskRunFixture {
  return load(fs.readFileSync(new URL(name, fixtures), 'utf8')) as TaskRunFixture;
}

function contextOf(tr: TaskRunFixture): SubstitutionContext {
  const ts = tr.spec.taskSpec;
  return {
    params: paramValues(ts, tr.spec.params),
    workspacePaths: workspacePaths(ts),
    resultNames: (ts.results ?? []).map((r) => r.name),
    taskRunName: tr.metadata.name,
    taskRunNamespace: tr.metadata.namespace,
    taskRunUid: tr.metadata.uid,
    taskName: tr.metadata.name,
  };
}

describe('tekton stand-in: substitution', () => {
  for (const name of [
    'taskrun-succeeded.yaml',
    'taskrun-kaniko-succeeded.yaml',
    'taskrun-kaniko-failed.yaml',
  ]) {
    it(`status.taskSpec of ${name} is the spec after substitution`, () => {
      const tr = fixture(name);
      expect(validateRun(tr.spec.taskSpec, contextOf(tr))).toBeUndefined();
      expect(resolveTaskSpec(tr.spec.taskSpec, contextOf(tr))).toEqual(tr.status.taskSpec);
    });
  }

  const ctx: SubstitutionContext = {
    params: new Map<string, string | string[] | Record<string, string>>([
      ['IMAGE', 'r/x:1'],
      ['flags', ['--a', '--b=c']],
      ['obj', { k: 'v' }],
      ['dotted.name', 'd'],
    ]),
    workspacePaths: new Map([
      ['source', '/workspace/source'],
      ['cfg', '/etc/cfg'],
    ]),
    resultNames: ['greeting'],
    taskRunName: 'tr',
    taskRunNamespace: 'ns',
    taskRunUid: 'u',
    taskName: 't',
  };

  it('params, results, workspaces, context; unknown variables are left alone', () => {
    expect(
      substitute(
        'printf %s hi > $(results.greeting.path); $(params.IMAGE) $(params["dotted.name"]) $(params.obj.k) ' +
          '$(workspaces.cfg.path) $(workspaces.source.bound) $(context.taskRun.name) $(params.nope)',
        ctx,
      ),
    ).toBe('printf %s hi > /tekton/results/greeting; r/x:1 d v /etc/cfg true tr $(params.nope)');
  });

  it('array params expand in place in command/args', () => {
    expect(
      substituteList(['x', '$(params.flags[*])', '--img=$(params.IMAGE)', '$(params.flags[1])'], ctx),
    ).toEqual(['x', '--a', '--b=c', '--img=r/x:1', '--b=c']);
  });

  it('rejects a missing declared param and script together with command', () => {
    const spec: TaskSpec = { params: [{ name: 'P' }], steps: [{ name: 's', image: 'i', script: 'x' }] };
    expect(validateRun(spec, { ...ctx, params: new Map() })).toBe('missing parameters: [P]');
    expect(validateRun({ steps: [{ name: 's', image: 'i', script: 'x', command: ['y'] }] }, ctx)).toContain(
      'script cannot be used with command',
    );
  });

  it('declared defaults apply; the run’s params win', () => {
    const p = paramValues(
      {
        params: [
          { name: 'a', default: '1' },
          { name: 'b', default: '2' },
        ],
      },
      [{ name: 'b', value: '3' }],
    );
    expect([...p]).toEqual([
      ['a', '1'],
      ['b', '3'],
    ]);
  });

  it('a script without a shebang runs under /bin/sh with set -e', () => {
    expect(scriptFile('echo hi\n')).toBe('#!/bin/sh\nset -e\necho hi\n');
    expect(scriptFile('#!/usr/bin/env bash\necho hi\n')).toBe('#!/usr/bin/env bash\necho hi\n');
  });

  it('step container names', () => {
    expect(stepContainerName({ name: 'build-and-push' }, 1)).toBe('step-build-and-push');
    expect(stepContainerName({}, 2)).toBe('step-unnamed-2');
  });
});

describe('tekton stand-in: statuses', () => {
  it('success: the shape of taskrun-succeeded.yaml', () => {
    const tr = fixture('taskrun-succeeded.yaml');
    const results = (tr.status.results ?? []).map((r) => ({ name: r.name, value: r.value }));
    const got = finalStatus(
      tr.metadata.name,
      tr.status.startTime ?? '',
      tr.status.taskSpec,
      tr.status.steps,
      results,
      { kind: 'succeeded' },
      tr.status.completionTime ?? '',
    );
    expect(got).toEqual(tr.status);
    expect(isFinal(got)).toBe(true);
  });

  it('step termination message carries the results as JSON', () => {
    const tr = fixture('taskrun-succeeded.yaml');
    expect(terminationMessage([{ name: 'current-date-unix-timestamp', value: '1579796946\n' }])).toBe(
      tr.status.steps[0]?.terminated?.message,
    );
    expect(terminationMessage([])).toBeUndefined();
  });

  it('a failed step: the status of taskrun-kaniko-failed.yaml (reason StepFailed)', () => {
    const tr = fixture('taskrun-kaniko-failed.yaml');
    const got = finalStatus(
      tr.metadata.name,
      tr.status.startTime ?? '',
      tr.status.taskSpec,
      tr.status.steps,
      [],
      { kind: 'stepFailed', container: 'step-build-and-push', exitCode: 1, reason: 'Error' },
      tr.status.completionTime ?? '',
    );
    expect(got).toEqual(tr.status);
    expect(got.conditions?.[0]?.message).toBe('"step-build-and-push" exited with code 1: Error');
  });

  it('running: Succeeded Unknown/Running with the pod name', () => {
    const got = runningStatus('build-1', 't0', undefined, [], 't1');
    expect(got).toEqual({
      podName: 'build-1-pod',
      startTime: 't0',
      conditions: [
        {
          type: 'Succeeded',
          status: 'Unknown',
          reason: 'Running',
          message: 'Not all Steps in the Task have finished executing',
          lastTransitionTime: 't1',
        },
      ],
      steps: [],
    });
    expect(isFinal(got)).toBe(false);
  });

  it('timeout and cancellation messages', () => {
    expect(finalCondition('b', { kind: 'timeout', timeoutMs: 20 * 60_000 }, 't')).toMatchObject({
      status: 'False',
      reason: 'TaskRunTimeout',
      message: 'TaskRun "b" failed to finish within "20m0s"',
    });
    expect(finalCondition('b', { kind: 'cancelled', statusMessage: 'by user' }, 't')).toMatchObject({
      status: 'False',
      reason: 'TaskRunCancelled',
      message: 'TaskRun "b" was cancelled. by user',
    });
  });

  it('Go durations', () => {
    expect(parseGoDuration('1h0m0s')).toBe(3_600_000);
    expect(parseGoDuration('20m0s')).toBe(1_200_000);
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(parseGoDuration('1.5s')).toBe(1500);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('ten minutes')).toBeUndefined();
    expect(formatGoDuration(3_600_000)).toBe('1h0m0s');
    expect(formatGoDuration(5_000)).toBe('5s');
    expect(formatGoDuration(90_000)).toBe('1m30s');
    expect(formatGoDuration(1500)).toBe('1.5s');
  });
});
