import { describe, expect, it } from 'vitest';
import { functionSpec } from '../../../test/support/function-spec.ts';
import { commitsToCompare, reconcile, type ReconcileInput } from '../../../src/reconcile/decide.js';
import { liveServiceInfo, ownerMetadata, type LiveServiceInfo } from '../../../src/kube/ownership.js';
import type { FunctionSpec, Plan, PlannedFunction } from '../../../src/plan/types.js';

const REPO = 'acme/functions';
const RUN = 'a'.repeat(40);
const NEWER = 'b'.repeat(40);
const OLDER = 'c'.repeat(40);

const spec = (name: string): FunctionSpec => functionSpec(name);

function planned(name: string, action: PlannedFunction['action'], service = name): PlannedFunction {
  return {
    name,
    directory: `functions/${name}`,
    spec: spec(name),
    changed: action !== 'skip',
    action,
    service,
    ...(action === 'skip' ? { reason: 'unchanged' } : {}),
  };
}

function plan(functions: PlannedFunction[], extra: Partial<Plan> = {}): Plan {
  return { mode: 'deploy', dryRun: false, eventName: 'push', functions, notes: [], ...extra };
}

function live(
  service: string,
  options: { tag?: string; commit?: string; repo?: string; pr?: number; fn?: string; foreign?: boolean } = {},
): LiveServiceInfo {
  const owner = ownerMetadata(
    options.repo ?? REPO,
    options.pr !== undefined ? { kind: 'preview', pullRequest: options.pr } : { kind: 'deploy' },
  );
  return liveServiceInfo({
    name: service,
    labels: options.foreign
      ? { app: 'x' }
      : { ...owner.labels, 'faas-deploy.dev/function': options.fn ?? service },
    annotations: {
      ...(options.foreign ? {} : owner.annotations),
      ...(options.tag ? { 'faas-deploy.dev/content-tag': options.tag } : {}),
      ...(options.commit ? { 'faas-deploy.dev/commit': options.commit } : {}),
    },
  });
}

function input(p: Plan, services: LiveServiceInfo[], extra: Partial<ReconcileInput> = {}): ReconcileInput {
  return {
    plan: p,
    repository: REPO,
    tags: new Map(p.functions.filter((fn) => fn.spec).map((fn) => [fn.name, `ctx-${fn.name}-new`])),
    live: new Map(services.map((s) => [s.service, s])),
    commit: RUN,
    newerCommits: new Set(),
    forced: new Set(),
    ...extra,
  };
}

function byName(result: ReturnType<typeof reconcile>): Record<string, [string, string | undefined]> {
  return Object.fromEntries(result.plan.functions.map((fn) => [fn.service, [fn.action, fn.reason]]));
}

describe('reconcile', () => {
  it('deploys what is missing or runs other content, skips what is up to date, even when git saw no change', () => {
    const result = reconcile(
      input(plan([planned('a', 'skip'), planned('b', 'deploy'), planned('c', 'skip')]), [
        live('b', { tag: 'ctx-b-old', commit: OLDER }),
        live('c', { tag: 'ctx-c-new', commit: OLDER }),
      ]),
    );
    expect(byName(result)).toEqual({
      a: ['deploy', 'no Service runs it yet'],
      b: ['deploy', 'the Service runs other content'],
      c: ['skip', 'the Service already runs this content'],
    });
    expect(result.causes.get('a')).toBe('missing');
    expect(result.plan.functions.find((fn) => fn.name === 'a')?.changed).toBe(true);
    expect(result.plan.functions.find((fn) => fn.name === 'c')?.changed).toBe(false);
  });

  it('never replaces a Service that runs a descendant of the run commit', () => {
    const services = [live('a', { tag: 'ctx-a-newer', commit: NEWER })];
    const p = plan([planned('a', 'deploy')]);
    expect(commitsToCompare(input(p, services))).toEqual([NEWER]);
    const result = reconcile(input(p, services, { newerCommits: new Set([NEWER]) }));
    expect(byName(result)['a']?.[0]).toBe('skip');
    expect(byName(result)['a']?.[1]).toMatch(
      /newer commit: bbbbbbbbbbbb is a descendant of this run's commit aaaaaaaaaaaa/,
    );
    expect(result.causes.get('a')).toBe('newer-commit');
    // Not a descendant (older, or diverged): replaced.
    expect(byName(reconcile(input(p, services)))['a']?.[0]).toBe('deploy');
  });

  it('leaves Services of other repositories, other tools and the other role alone, and says whose they are', () => {
    const p = plan([planned('echo', 'deploy'), planned('tool', 'deploy'), planned('old', 'deploy')]);
    const result = reconcile(
      input(p, [
        live('echo', { repo: 'other/repo', tag: 'x' }),
        live('tool', { foreign: true }),
        live('old', { pr: 3, fn: 'old' }),
      ]),
    );
    expect(byName(result)['echo']).toEqual([
      'skip',
      'a Service of that name belongs to someone else: Service "echo" is owned by repository other/repo (faas-deploy)',
    ]);
    expect(byName(result)['tool']?.[1]).toMatch(/owned by another tool/);
    expect(byName(result)['old']?.[1]).toMatch(/preview of pull request #3 of repository acme\/functions/);
    expect(commitsToCompare(input(p, [live('echo', { repo: 'other/repo', commit: NEWER })]))).toEqual([]);
  });

  it('deletes the Services it owns whose function is gone, never anyone else’s', () => {
    const result = reconcile(
      input(plan([planned('a', 'skip')]), [
        live('a', { tag: 'ctx-a-new' }),
        live('gone', { tag: 't' }),
        live('theirs', { repo: 'other/repo' }),
        live('a-pr-4', { pr: 4, fn: 'a' }),
      ]),
    );
    expect(byName(result)).toEqual({
      a: ['skip', 'the Service already runs this content'],
      gone: ['delete', 'the function no longer exists'],
    });
  });

  it('forces a redeploy of the same content on workflow_dispatch', () => {
    const result = reconcile(
      input(
        plan([planned('a', 'deploy')], { eventName: 'workflow_dispatch' }),
        [live('a', { tag: 'ctx-a-new' })],
        {
          forced: new Set(['a']),
        },
      ),
    );
    expect(byName(result)['a']).toEqual(['deploy', 'redeploy asked for by workflow_dispatch']);
  });

  it('previews: only the pull request’s own previews; a function no longer changed loses its preview', () => {
    const p = plan([planned('a', 'preview', 'a-pr-7'), planned('b', 'skip', 'b-pr-7')], {
      mode: 'preview',
      pullRequest: 7,
      eventName: 'pull_request',
    });
    const tags = new Map([['a', 'ctx-a-new']]);
    const result = reconcile(
      input(
        p,
        [
          live('a-pr-7', { pr: 7, fn: 'a', tag: 'ctx-a-old' }),
          live('b-pr-7', { pr: 7, fn: 'b' }),
          live('b-pr-8', { pr: 8, fn: 'b' }),
          live('a', { tag: 'prod' }),
        ],
        { tags },
      ),
    );
    expect(byName(result)).toEqual({
      'a-pr-7': ['preview', 'the Service runs other content'],
      'b-pr-7': ['delete', 'the pull request no longer changes this function'],
    });
  });

  it('keeps a plan deletion only where this repository owns the Service', () => {
    const removed: PlannedFunction = {
      name: 'x',
      directory: 'functions/x',
      changed: true,
      action: 'delete',
      service: 'x',
      reason: 'the function directory was removed',
    };
    const y = { ...removed, name: 'y', directory: 'functions/y', service: 'y' };
    const z = { ...removed, name: 'z', directory: 'functions/z', service: 'z' };
    const result = reconcile(input(plan([removed, y, z]), [live('x'), live('y', { repo: 'other/repo' })]));
    expect(byName(result)['x']).toEqual(['delete', 'the function no longer exists']);
    expect(byName(result)['y']?.[0]).toBe('skip');
    expect(byName(result)['y']?.[1]).toMatch(/other\/repo/);
    expect(byName(result)['z']).toEqual(['skip', 'no Service to delete']);
  });
});

describe('ownership metadata', () => {
  it('writes a label-safe repository and the exact one as an annotation', () => {
    const meta = ownerMetadata('Acme-Corp/My_Functions.v2', { kind: 'preview', pullRequest: 12 });
    expect(meta.labels).toEqual({
      'app.kubernetes.io/managed-by': 'faas-deploy',
      'faas-deploy.dev/repository': 'acme-corp.my_functions.v2',
      'faas-deploy.dev/pr': '12',
    });
    expect(meta.annotations).toEqual({ 'faas-deploy.dev/repository': 'Acme-Corp/My_Functions.v2' });
  });
});
