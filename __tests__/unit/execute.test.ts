// executePlan through its seams: a recorded Builder (as the build stage calls it) and a recorded
// Cluster. What is checked: one function's failure never stops the others and says why, deletions
// run while the images build, a closed pull request's previews go by label, and the outcomes come
// back in plan order whatever order the work finished in.
import { describe, expect, it } from 'vitest';
import { functionSpec } from '../../test/support/function-spec.ts';
import type { BuildRequest, BuildResult, Builder } from '../../src/build/types.js';
import type { DeleteResult, DeployRequest, DeployResult } from '../../src/deploy/cluster.js';
import { executePlan, type ExecuteDeps, type ExecuteOptions } from '../../src/execute.js';
import type { PackagedPlanEntry } from '../../src/package/index.js';
import type { FunctionAction, FunctionSpec, Plan, PlannedFunction } from '../../src/plan/types.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

const spec = (name: string): FunctionSpec => functionSpec(name);

function planned(name: string, action: FunctionAction, service = name, reason?: string): PlannedFunction {
  return {
    name,
    directory: `functions/${name}`,
    ...(action === 'delete' ? {} : { spec: spec(name) }),
    changed: action !== 'skip',
    action,
    service,
    ...(reason ? { reason } : {}),
  };
}

function plan(functions: PlannedFunction[], overrides: Partial<Plan> = {}): Plan {
  return { mode: 'deploy', dryRun: false, eventName: 'push', functions, notes: [], ...overrides };
}

/** The package stage's entries for the functions the plan builds. */
function packagedFor(p: Plan): Map<string, PackagedPlanEntry> {
  return new Map(
    p.functions
      .filter((fn) => fn.action === 'deploy' || fn.action === 'preview')
      .map((fn) => [
        fn.name,
        {
          runtime: 'go',
          template: 'go/classic',
          dockerfile: 'FROM scratch\n',
          dockerfilePath: '.faas/Dockerfile',
          contextDir: `/repo/functions/${fn.name}`,
          entries: [],
          tag: `ctx-${fn.name}`,
          image: `registry.test/${fn.name}:ctx-${fn.name}`,
        },
      ]),
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A Builder that answers per function name; `built` by default. */
function fakeBuilder(
  answer: (request: BuildRequest) => Promise<BuildResult | undefined> = () => Promise.resolve(undefined),
): Builder & { requests: BuildRequest[] } {
  const requests: BuildRequest[] = [];
  return {
    kind: 'kaniko',
    requests,
    async build(request) {
      requests.push(request);
      return (
        (await answer(request)) ?? {
          status: 'built',
          image: `${request.image.replace(/:.*$/, '')}@${DIGEST}`,
          digest: DIGEST,
          seconds: 1,
        }
      );
    },
    close: () => Promise.resolve(),
  };
}

/** The build stage over a Builder, as buildImages calls it: every request, results by name. */
function buildStage(builder: Builder): ExecuteDeps['build'] {
  return async (requests) =>
    new Map(
      await Promise.all(
        requests.map(
          async (request) =>
            [
              request.name,
              await builder.build(request, {
                signal: new AbortController().signal,
                log: {
                  info: () => undefined,
                  warning: () => undefined,
                  group: () => undefined,
                  secret: () => undefined,
                },
              }),
            ] as const,
        ),
      ),
    );
}

type FakeCluster = ExecuteDeps['cluster'] & {
  deployed: DeployRequest[];
  deleted: string[];
  previewsDeleted: number[];
  events: string[];
  roles: unknown[];
};

function fakeCluster(
  o: {
    deploy?: (request: DeployRequest) => Promise<DeployResult>;
    delete?: (name: string) => Promise<DeleteResult>;
    previews?: string[];
  } = {},
): FakeCluster {
  const cluster: FakeCluster = {
    deployed: [],
    deleted: [],
    previewsDeleted: [],
    events: [],
    roles: [],
    async deployFunction(request) {
      cluster.deployed.push(request);
      cluster.events.push(`deploy ${request.service}`);
      if (o.deploy) return o.deploy(request);
      return {
        status: 'ready',
        service: request.service,
        url: `http://${request.service}.default.example.com`,
        revision: `${request.service}-00001`,
        generation: 1,
        timing: { applyMs: 1, waitMs: 1, settledAt: Date.parse('2025-01-02T03:04:05Z') },
      };
    },
    async deleteService(name, role) {
      cluster.deleted.push(name);
      cluster.roles.push(role);
      cluster.events.push(`delete ${name}`);
      return o.delete ? o.delete(name) : { service: name, deleted: true };
    },
    deletePreviews(pr) {
      cluster.previewsDeleted.push(pr);
      return Promise.resolve(o.previews ?? []);
    },
  };
  return cluster;
}

const OPTIONS: ExecuteOptions = { concurrency: 4, waitTimeoutSeconds: 60 };

describe('executePlan', () => {
  it('deploys each built image by digest, with the run’s annotations', async () => {
    const p = plan(
      [planned('alpha', 'preview', 'alpha-pr-3'), planned('beta', 'skip', 'beta-pr-3', 'unchanged')],
      {
        mode: 'preview',
        pullRequest: 3,
      },
    );
    const cluster = fakeCluster();
    const builder = fakeBuilder();
    const outcomes = await executePlan(
      p,
      packagedFor(p),
      { build: buildStage(builder), cluster },
      {
        ...OPTIONS,
        commit: 'c0ffee',
        runUrl: 'https://github.com/o/r/actions/runs/1/attempts/1',
        imagePullSecret: 'pull',
      },
    );
    expect(builder.requests).toEqual([
      {
        name: 'alpha',
        image: 'registry.test/alpha:ctx-alpha',
        tag: 'ctx-alpha',
        entries: [],
        dockerfile: 'FROM scratch\n',
        dockerfilePath: '.faas/Dockerfile',
      },
    ]);
    expect(cluster.deployed).toEqual([
      {
        spec: spec('alpha'),
        service: 'alpha-pr-3',
        image: `registry.test/alpha@${DIGEST}`,
        contentTag: 'ctx-alpha',
        pullRequest: 3,
        commit: 'c0ffee',
        runUrl: 'https://github.com/o/r/actions/runs/1/attempts/1',
        imagePullSecret: 'pull',
        waitTimeoutSeconds: 60,
      },
    ]);
    expect(outcomes).toEqual([
      {
        name: 'alpha',
        service: 'alpha-pr-3',
        action: 'preview',
        status: 'ready',
        image: `registry.test/alpha@${DIGEST}`,
        digest: DIGEST,
        buildSeconds: 1,
        buildSkipped: false,
        url: 'http://alpha-pr-3.default.example.com',
        revision: 'alpha-pr-3-00001',
        updatedAt: '2025-01-02T03:04:05.000Z',
      },
      { name: 'beta', service: 'beta-pr-3', action: 'skip', status: 'skipped', reason: 'unchanged' },
    ]);
  });

  it('a failed build is that function’s failed outcome, with the log tail; the others deploy', async () => {
    const p = plan([planned('broken', 'deploy'), planned('fine', 'deploy')]);
    const builder = fakeBuilder((request) =>
      Promise.resolve(
        request.name === 'broken'
          ? { status: 'failed', reason: 'go build: undefined: x', logTail: 'line 1\nline 2', seconds: 2.5 }
          : undefined,
      ),
    );
    const cluster = fakeCluster();
    const outcomes = await executePlan(p, packagedFor(p), { build: buildStage(builder), cluster }, OPTIONS);
    expect(outcomes[0]).toEqual({
      name: 'broken',
      service: 'broken',
      action: 'deploy',
      status: 'failed',
      reason: 'build failed: go build: undefined: x',
      logTail: 'line 1\nline 2',
      buildSeconds: 2.5,
    });
    expect(outcomes[1]?.status).toBe('ready');
    expect(cluster.deployed.map((request) => request.service)).toEqual(['fine']);
  });

  it('a function the build stage did not answer for fails as not built', async () => {
    const p = plan([planned('lost', 'deploy')]);
    const outcomes = await executePlan(
      p,
      packagedFor(p),
      { build: () => Promise.resolve(new Map()), cluster: fakeCluster() },
      OPTIONS,
    );
    expect(outcomes).toEqual([
      { name: 'lost', service: 'lost', action: 'deploy', status: 'failed', reason: 'not built' },
    ]);
  });

  it('a deploy that throws fails with the image it was built as; a non-Error throw keeps its text', async () => {
    const p = plan([planned('alpha', 'deploy'), planned('beta', 'deploy'), planned('gamma', 'deploy')]);
    const cluster = fakeCluster({
      deploy: (request) => {
        if (request.service === 'alpha') return Promise.reject(new Error('Kubernetes refused to patch'));
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the case under test
        if (request.service === 'beta') return Promise.reject('connection reset');
        return Promise.resolve({
          status: 'failed',
          service: request.service,
          reason: 'RevisionFailed: boom',
        });
      },
    });
    const builder = fakeBuilder((request) =>
      Promise.resolve(
        request.name === 'beta'
          ? { status: 'skipped', image: `registry.test/beta@${DIGEST}`, digest: DIGEST, seconds: 0.1 }
          : undefined,
      ),
    );
    const outcomes = await executePlan(p, packagedFor(p), { build: buildStage(builder), cluster }, OPTIONS);
    expect(outcomes).toEqual([
      {
        name: 'alpha',
        service: 'alpha',
        action: 'deploy',
        status: 'failed',
        reason: 'Kubernetes refused to patch',
        image: `registry.test/alpha@${DIGEST}`,
        digest: DIGEST,
        buildSkipped: false,
      },
      {
        name: 'beta',
        service: 'beta',
        action: 'deploy',
        status: 'failed',
        reason: 'connection reset',
        image: `registry.test/beta@${DIGEST}`,
        digest: DIGEST,
        buildSkipped: true,
      },
      {
        name: 'gamma',
        service: 'gamma',
        action: 'deploy',
        status: 'failed',
        reason: 'RevisionFailed: boom',
        image: `registry.test/gamma@${DIGEST}`,
        digest: DIGEST,
        buildSeconds: 1,
        buildSkipped: false,
      },
    ]);
  });

  it('deletes removed functions while the images build', async () => {
    const p = plan([planned('old', 'delete', 'old', 'directory removed'), planned('new', 'deploy')]);
    let deletionStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      deletionStarted = resolve;
    });
    // The build finishes only once the deletion has begun: a deletion queued behind the builds
    // would leave it waiting, and the build fails after a second.
    const builder = fakeBuilder(async () => {
      const timedOut = await Promise.race([started.then(() => false), sleep(1000).then(() => true)]);
      return timedOut
        ? { status: 'failed', reason: 'the deletion had not started', logTail: '', seconds: 1 }
        : undefined;
    });
    const cluster = fakeCluster({
      delete: (name) => {
        deletionStarted();
        return Promise.resolve({ service: name, deleted: true });
      },
    });
    const outcomes = await executePlan(p, packagedFor(p), { build: buildStage(builder), cluster }, OPTIONS);
    expect(outcomes.map((o) => [o.name, o.status, o.reason])).toEqual([
      ['old', 'deleted', 'directory removed'],
      ['new', 'ready', undefined],
    ]);
    expect(cluster.events).toEqual(['delete old', 'deploy new']);
  });

  it('a deletion that throws fails only the deletions; one that found nothing is skipped with the reason', async () => {
    const p = plan([planned('gone', 'delete'), planned('foreign', 'delete'), planned('kept', 'deploy')]);
    const cluster = fakeCluster({
      delete: (name) =>
        name === 'gone'
          ? Promise.reject(new Error('Kubernetes refused to delete services'))
          : Promise.resolve({ service: name, deleted: false, reason: 'not managed by faas-deploy' }),
    });
    const outcomes = await executePlan(
      p,
      packagedFor(p),
      { build: buildStage(fakeBuilder()), cluster },
      { ...OPTIONS, concurrency: 1 },
    );
    expect(outcomes.map((o) => [o.name, o.status, o.reason])).toEqual([
      ['gone', 'failed', 'Kubernetes refused to delete services'],
      ['foreign', 'failed', 'Kubernetes refused to delete services'],
      ['kept', 'ready', undefined],
    ]);
    const second = await executePlan(
      plan([planned('foreign', 'delete')]),
      new Map(),
      { build: buildStage(fakeBuilder()), cluster },
      OPTIONS,
    );
    expect(second.map((o) => [o.name, o.status, o.reason])).toEqual([
      ['foreign', 'skipped', 'not managed by faas-deploy'],
    ]);
  });

  it('cleanup of a closed pull request deletes its previews by label, those of removed functions too', async () => {
    const p = plan(
      [
        planned('alpha', 'delete', 'alpha-pr-9', 'the pull request was merged'),
        planned('beta', 'delete', 'beta-pr-9'),
      ],
      { mode: 'cleanup', pullRequest: 9 },
    );
    const cluster = fakeCluster({ previews: ['alpha-pr-9', 'removed-fn-pr-9'] });
    let built = false;
    const outcomes = await executePlan(
      p,
      new Map(),
      {
        build: () => {
          built = true;
          return Promise.resolve(new Map());
        },
        cluster,
      },
      OPTIONS,
    );
    expect(cluster.previewsDeleted).toEqual([9]);
    expect(cluster.deleted).toEqual([]);
    expect(built).toBe(false);
    expect(outcomes.map((o) => [o.name, o.service, o.status, o.reason])).toEqual([
      ['alpha', 'alpha-pr-9', 'deleted', 'the pull request was merged'],
      ['beta', 'beta-pr-9', 'skipped', 'no preview to remove'],
    ]);
  });

  it('returns the outcomes in plan order, whatever order the builds and deploys finish in', async () => {
    const names = ['slow', 'fast', 'skipped', 'middle', 'removed'];
    const p = plan([
      planned('slow', 'deploy'),
      planned('fast', 'deploy'),
      planned('skipped', 'skip', 'skipped', 'unchanged'),
      planned('middle', 'deploy'),
      planned('removed', 'delete'),
    ]);
    const delays: Record<string, number> = { slow: 60, fast: 0, middle: 25, removed: 40 };
    const cluster = fakeCluster({
      deploy: async (request) => {
        await sleep(80 - (delays[request.service] ?? 0));
        return { status: 'failed', service: request.service, reason: 'x' };
      },
      delete: async (name) => {
        await sleep(delays[name] ?? 0);
        return { service: name, deleted: true };
      },
    });
    const builder = fakeBuilder(async (request) => {
      await sleep(delays[request.name] ?? 0);
      return undefined;
    });
    const outcomes = await executePlan(p, packagedFor(p), { build: buildStage(builder), cluster }, OPTIONS);
    expect(outcomes.map((o) => o.name)).toEqual(names);
    expect(outcomes.map((o) => o.status)).toEqual(['failed', 'failed', 'skipped', 'failed', 'deleted']);
  });

  it('deploys at most `concurrency` at a time, inside the Deploy log group', async () => {
    const p = plan(['a', 'b', 'c', 'd', 'e'].map((name) => planned(name, 'deploy')));
    let running = 0;
    let most = 0;
    const cluster = fakeCluster({
      deploy: async (request) => {
        running++;
        most = Math.max(most, running);
        await sleep(10);
        running--;
        return { status: 'failed', service: request.service, reason: 'x' };
      },
    });
    const groups: string[] = [];
    await executePlan(
      p,
      packagedFor(p),
      {
        build: buildStage(fakeBuilder()),
        cluster,
        group: async (title, run) => {
          groups.push(`start ${title}`);
          const result = await run();
          groups.push(`end ${title}`);
          return result;
        },
      },
      { ...OPTIONS, concurrency: 2 },
    );
    expect(most).toBe(2);
    expect(groups).toEqual(['start Deploy', 'end Deploy']);
    expect(cluster.deployed).toHaveLength(5);
  });

  it('a build stage that throws rejects the run, after the deletions have finished', async () => {
    const p = plan([planned('old', 'delete'), planned('new', 'deploy')]);
    let deletionDone = false;
    const cluster = fakeCluster({
      delete: async (name) => {
        await sleep(30);
        deletionDone = true;
        return { service: name, deleted: true };
      },
    });
    await expect(
      executePlan(
        p,
        packagedFor(p),
        { build: () => Promise.reject(new Error('Input "registry" is required')), cluster },
        OPTIONS,
      ),
    ).rejects.toThrow('Input "registry" is required');
    expect(deletionDone).toBe(true);
    expect(cluster.deployed).toEqual([]);
  });

  it('builds only what the reconcile deploys; a refused function fails unbuilt; deletions name their role', async () => {
    const refused: PlannedFunction = {
      ...planned('theirs', 'skip', 'theirs-pr-5', 'a Service of that name belongs to someone else'),
      refused: true,
    };
    const p = plan(
      [
        planned('a', 'preview', 'a-pr-5'),
        planned('same', 'skip', 'same-pr-5', 'the Service already runs this content'),
        refused,
        planned('gone', 'delete', 'gone-pr-5'),
      ],
      { mode: 'preview', pullRequest: 5 },
    );
    // The package stage gave every function a tag, the skipped ones too.
    const packaged = packagedFor(plan(p.functions.map((fn) => ({ ...fn, action: 'preview' as const }))));
    const builder = fakeBuilder();
    const cluster = fakeCluster();
    const outcomes = await executePlan(p, packaged, { build: buildStage(builder), cluster }, OPTIONS);
    expect(builder.requests.map((r) => r.name)).toEqual(['a']);
    expect(cluster.deployed.map((d) => [d.service, d.contentTag])).toEqual([['a-pr-5', 'ctx-a']]);
    expect(cluster.roles).toEqual([{ kind: 'preview', pullRequest: 5 }]);
    expect(outcomes.map((o) => [o.name, o.status])).toEqual([
      ['a', 'ready'],
      ['same', 'skipped'],
      ['theirs', 'failed'],
      ['gone', 'deleted'],
    ]);
    expect(outcomes[2]?.reason).toBe('a Service of that name belongs to someone else');
  });
});
