import { describe, expect, it } from 'vitest';
import { makePlan, resolveMode, touchedDirectories, type PlanSettings } from '../../../src/plan/plan.js';
import { readEventInfo, type EventInfo } from '../../../src/plan/event.js';
import type { FunctionSpec } from '../../../src/plan/types.js';

const settings: PlanSettings = {
  mode: 'auto',
  functionsDir: 'functions',
  deployAllOn: [],
  deployBranches: [],
  functions: undefined,
};

function spec(name: string, directory = `functions/${name}`): FunctionSpec {
  return {
    name,
    directory,
    runtime: 'go',
    watchdog: 'classic',
    env: {},
    secrets: [],
    scale: {},
    timeoutSeconds: 60,
    resources: {},
    visibility: 'public',
  };
}

const push: EventInfo = { name: 'push', branch: 'main', defaultBranch: 'main', baseSha: 'a', headSha: 'b' };
const pr = (action: string): EventInfo => ({
  name: 'pull_request',
  action,
  pullRequest: { number: 7, headRef: 'feature', baseRef: 'main', merged: false, fromFork: false },
});

describe('resolveMode', () => {
  it.each([
    [push, 'auto', 'deploy', false],
    [{ ...push, branch: 'feature/x' }, 'auto', 'plan', true],
    [pr('opened'), 'auto', 'preview', false],
    [pr('synchronize'), 'auto', 'preview', false],
    [pr('reopened'), 'auto', 'preview', false],
    [pr('closed'), 'auto', 'cleanup', false],
    [pr('labeled'), 'auto', 'plan', true],
    [{ name: 'workflow_dispatch' }, 'auto', 'deploy', false],
    [{ name: 'schedule' }, 'auto', 'plan', true],
    [pr('opened'), 'plan', 'preview', true],
    [{ ...push, branch: 'feature/x' }, 'deploy', 'deploy', false],
  ] as const)('%j with mode %s → %s (dry run %s)', (event, mode, expected, dryRun) => {
    expect(resolveMode({ mode, deployBranches: [] }, event)).toMatchObject({ mode: expected, dryRun });
  });

  it('deploys pushes to branches matching deploy-branches', () => {
    expect(
      resolveMode({ mode: 'auto', deployBranches: ['release/*'] }, { ...push, branch: 'release/1.2' }).mode,
    ).toBe('deploy');
  });
});

describe('makePlan', () => {
  const functions = [spec('alpha'), spec('beta'), spec('gamma')];

  it('deploys the changed functions of a push and skips the others', () => {
    const plan = makePlan(settings, push, functions, {
      files: [
        { status: 'M', path: 'functions/beta/main.go' },
        { status: 'A', path: 'README.md' },
      ],
    });
    expect(plan.functions.map((fn) => [fn.name, fn.action, fn.service])).toEqual([
      ['alpha', 'skip', 'alpha'],
      ['beta', 'deploy', 'beta'],
      ['gamma', 'skip', 'gamma'],
    ]);
  });

  it('previews as <fn>-pr-<N> and deletes every preview when the pull request closes', () => {
    const files = { files: [{ status: 'M' as const, path: 'functions/alpha/main.go' }] };
    expect(makePlan(settings, pr('opened'), functions, files).functions[0]).toMatchObject({
      action: 'preview',
      service: 'alpha-pr-7',
    });
    const closed = makePlan(settings, pr('closed'), functions, files);
    expect(closed.mode).toBe('cleanup');
    expect(closed.functions.map((fn) => [fn.service, fn.action])).toEqual([
      ['alpha-pr-7', 'delete'],
      ['beta-pr-7', 'delete'],
      ['gamma-pr-7', 'delete'],
    ]);
  });

  it('deletes the Service of a removed function and deploys the new name of a renamed one', () => {
    const plan = makePlan(settings, push, [spec('alpha'), spec('delta')], {
      files: [
        { status: 'D', path: 'functions/beta/main.go' },
        { status: 'R', oldPath: 'functions/gamma/main.go', path: 'functions/delta/main.go' },
      ],
    });
    expect(plan.functions.map((fn) => [fn.name, fn.action, fn.reason])).toEqual([
      ['alpha', 'skip', 'unchanged'],
      ['beta', 'delete', 'the function directory was removed'],
      ['delta', 'deploy', undefined],
      ['gamma', 'delete', 'the function directory was removed'],
    ]);
  });

  it('takes every function as changed when a deploy-all-on glob matches, and says why', () => {
    const plan = makePlan({ ...settings, deployAllOn: ['lib/**'] }, push, functions, {
      files: [{ status: 'M', path: 'lib/shared/util.go' }],
    });
    expect(plan.functions.every((fn) => fn.action === 'deploy')).toBe(true);
    expect(plan.notes).toContain(
      'Every function counts as changed: lib/shared/util.go matches deploy-all-on.',
    );
  });

  it('deploys exactly the functions a workflow_dispatch names, and rejects unknown names', () => {
    const dispatch: EventInfo = { name: 'workflow_dispatch', dispatchFunctions: 'beta' };
    expect(makePlan(settings, dispatch, functions, 'all').functions.map((fn) => fn.action)).toEqual([
      'skip',
      'deploy',
      'skip',
    ]);
    expect(() => makePlan({ ...settings, functions: ['omega'] }, dispatch, functions, 'all')).toThrow(
      'Input "functions" names "omega", which is not a function under functions/ (known: alpha, beta, gamma).',
    );
  });

  it('plans nothing for a push to another branch, saying why', () => {
    const plan = makePlan(settings, { ...push, branch: 'feature' }, functions, 'all');
    expect(plan.dryRun).toBe(true);
    expect(plan.functions.every((fn) => fn.action === 'skip')).toBe(true);
    expect(plan.notes[0]).toContain('neither the default branch nor in deploy-branches');
  });
});

describe('touchedDirectories', () => {
  it('maps changed paths, including odd file names, to their function directory', () => {
    const { directories } = touchedDirectories(
      [
        { status: 'M', path: 'functions/a b/-rf "quoted" ünï.go' },
        { status: 'M', path: 'functions/top-level-file.txt' },
        { status: 'M', path: 'other/functions/x/y' },
      ],
      'functions',
      [],
    );
    expect([...directories]).toEqual(['functions/a b']);
  });
});

describe('readEventInfo', () => {
  it('recognises a fork pull request', () => {
    const info = readEventInfo('pull_request', {
      action: 'opened',
      number: 3,
      pull_request: {
        head: { ref: 'x', sha: 'h', repo: { full_name: 'fork/repo' } },
        base: { ref: 'main', sha: 'b', repo: { full_name: 'org/repo' } },
      },
    });
    expect(info.pullRequest).toEqual({
      number: 3,
      headRef: 'x',
      baseRef: 'main',
      merged: false,
      fromFork: true,
    });
    expect(info).toMatchObject({ headSha: 'h', baseSha: 'b', action: 'opened' });
  });
});
