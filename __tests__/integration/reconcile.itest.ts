// The action converges the cluster on the repository (README, "How a run converges the cluster"):
// the bundled action (dist/index.js) runs as a GitHub runner runs it, as the least-privilege deployer
// of docs/rbac.yaml, against the real kube-apiserver, the Docker engine with the kaniko executor and
// the registry of the test environment. Services are read back as admin.
//   - a failed run is made good by the next push; a dropped run (concurrency group) likewise
//   - a re-run of an older commit, or runs finishing out of order, never replace newer code
//   - two repositories in one namespace never replace or delete each other's Services or previews
//   - a PR close cleans up from labels alone (broken function.yaml, no checkout); a sweep removes
//     the previews of a PR that closed while no workflow ran
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, V1ObjectMeta, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pullRequestEvent, pushEvent, type RepoOverride } from '../../test/github/events.ts';
import { startGitHubServer, type GitHubServer } from '../../test/github/openapi-server.ts';
import { runAction, workflowRunEnv, type ActionRun } from '../../test/support/action-runner.ts';
import { makeRepo, type TestRepo } from '../../test/support/git-repo.ts';

const env = inject('testEnv');
const need = (key: string): string => {
  const value = env[key];
  if (!value) throw new Error(`the test environment gives no ${key}`);
  return value;
};
const namespace = need('KUBE_NAMESPACE');
const registryHost = need('REGISTRY_AUTH');
const token = 'ghs_reconcile_token';
const admin = new KubeConfig();
admin.loadFromFile(need('KUBECONFIG_ADMIN'));
const custom = admin.makeApiClient(CustomObjectsApi);
const core = admin.makeApiClient(CoreV1Api);
const run = randomBytes(3).toString('hex');
/** The Secret Knative pulls the images with (the registry of the test environment asks for basic auth). */
const pullSecret = `rc-pull-${run}`;

beforeAll(async () => {
  const auth = Buffer.from(`${need('REGISTRY_AUTH_USER')}:${need('REGISTRY_AUTH_PASSWORD')}`).toString(
    'base64',
  );
  await core.createNamespacedSecret({
    namespace,
    body: Object.assign(new V1Secret(), {
      metadata: Object.assign(new V1ObjectMeta(), { name: pullSecret }),
      type: 'kubernetes.io/dockerconfigjson',
      data: {
        '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: { [registryHost]: { auth } } })).toString(
          'base64',
        ),
      },
    }),
  });
});
afterAll(async () => {
  await core.deleteNamespacedSecret({ namespace, name: pullSecret }).catch(() => undefined);
});

interface Outcome {
  name: string;
  service: string;
  action: string;
  status: string;
  image?: string;
  reason?: string;
  built?: boolean;
}
type KService = {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: { template: { spec: { containers: { image: string }[] } } };
};

async function service(name: string): Promise<KService | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({
      group: 'serving.knative.dev',
      version: 'v1',
      namespace,
      plural: 'services',
      name,
    })) as KService;
  } catch {
    return undefined;
  }
}
const imageOf = async (name: string): Promise<string | undefined> =>
  (await service(name))?.spec.template.spec.containers[0]?.image;
const commitOf = async (name: string): Promise<string | undefined> =>
  (await service(name))?.metadata.annotations['faas-deploy.dev/commit'];

async function deleteService(name: string): Promise<void> {
  await custom
    .deleteNamespacedCustomObject({
      group: 'serving.knative.dev',
      version: 'v1',
      namespace,
      plural: 'services',
      name,
    })
    .catch(() => undefined);
}

/** A Python function (classic watchdog) that prints its name and version: a small, quick kaniko build. */
function pyFunction(name: string, version: string): Record<string, string> {
  return { [`functions/${name}/handler.py`]: `print("${name} ${version}")\n` };
}

function baseInputs(registryPath: string): Record<string, string> {
  return {
    builder: 'kaniko',
    registry: `${registryHost}/${registryPath}`,
    'registry-username': need('REGISTRY_AUTH_USER'),
    'registry-password': need('REGISTRY_AUTH_PASSWORD'),
    'kaniko-image': need('IMAGE_KANIKO'),
    'base-images': [`watchdog=${need('IMAGE_CLASSIC_WATCHDOG')}`, `python=${need('IMAGE_PYTHON')}`].join(
      '\n',
    ),
    kubeconfig: readFileSync(need('KUBECONFIG_DEPLOYER'), 'utf8'),
    namespace,
    'image-pull-secret': pullSecret,
    'wait-timeout': '3m',
    'github-token': token,
  };
}

/** One repository under test: its git checkout, its fake GitHub, and a workflow run counter. */
class Repository {
  readonly repo: TestRepo;
  readonly inputs: Record<string, string>;
  readonly github: GitHubServer;
  readonly name: RepoOverride & { owner: string; name: string };
  private runId: number;
  constructor(
    github: GitHubServer,
    name: RepoOverride & { owner: string; name: string },
    firstRunId: number,
  ) {
    this.github = github;
    this.name = name;
    this.repo = makeRepo(`faas-reconcile-${name.name}-`);
    this.inputs = baseInputs(`rc-${run}`);
    this.runId = firstRunId;
  }

  async run(
    eventName: string,
    payload: unknown,
    sha: string,
    ref: string,
    options: { inputs?: Record<string, string>; workspace?: string; runId?: number } = {},
  ): Promise<{ result: ActionRun; fns: Map<string, Outcome> }> {
    const result = await runAction({
      workspace: options.workspace ?? this.repo.dir,
      eventName,
      payload,
      inputs: { ...this.inputs, ...options.inputs },
      env: {
        ...workflowRunEnv({
          apiUrl: this.github.url,
          runId: options.runId ?? ++this.runId,
          sha,
          ref,
          dockerHost: need('DOCKER_HOST'),
        }),
        GITHUB_REPOSITORY: `${this.name.owner}/${this.name.name}`,
      },
    });
    const list = JSON.parse(result.outputs['functions'] ?? '[]') as Outcome[];
    return { result, fns: new Map(list.map((o) => [o.service, o])) };
  }

  push(before: string, after: string, options: Parameters<Repository['run']>[4] = {}) {
    return this.run('push', pushEvent({ before, after, repo: this.name }), after, 'refs/heads/main', options);
  }
}

const log = (r: ActionRun): string => `${r.stdout.slice(-5000)}\n${r.stderr.slice(-2000)}`;

describe('a push converges the cluster on the repository', () => {
  const a = `rc-a-${run}`;
  const b = `rc-b-${run}`;
  let github: GitHubServer;
  let repo: Repository;
  const commits: string[] = [];

  beforeAll(async () => {
    github = await startGitHubServer({ token });
    repo = new Repository(github, { owner: 'octo-org', name: 'functions' }, 7000);
  });
  afterAll(async () => {
    for (const name of [a, b]) await deleteService(name);
    await github.close();
    repo.repo.remove();
  });

  it('a run that fails (the builder cannot start) is made good by the next push, which says why', async () => {
    const root = repo.repo.commit('readme', { 'README.md': '# functions\n' });
    commits.push(repo.repo.commit('two functions', { ...pyFunction(a, 'v1'), ...pyFunction(b, 'v1') }));
    const first = await repo.push(root, commits[0] ?? '');
    expect(first.result.code, log(first.result)).toBe(0);
    expect([...first.fns.values()].map((o) => [o.name, o.action, o.status])).toEqual([
      [a, 'deploy', 'ready'],
      [b, 'deploy', 'ready'],
    ]);
    const imageB1 = await imageOf(b);
    expect(imageB1).toMatch(new RegExp(`^${registryHost}/rc-${run}/functions/${b}@sha256:`));

    // Change a; the builder image does not exist, so the build cannot start.
    commits.push(repo.repo.commit('a v2', pyFunction(a, 'v2')));
    const failed = await repo.push(commits[0] ?? '', commits[1] ?? '', {
      inputs: { 'kaniko-image': `${registryHost}/no-such/kaniko:missing` },
    });
    expect(failed.result.code).toBe(1);
    expect(failed.fns.get(a)?.status).toBe('failed');
    expect(await commitOf(a)).toBe(commits[0]);

    // Change b only: the diff names b, the cluster says a runs other content too.
    commits.push(repo.repo.commit('b v2', pyFunction(b, 'v2')));
    const second = await repo.push(commits[1] ?? '', commits[2] ?? '');
    expect(second.result.code, log(second.result)).toBe(0);
    expect([...second.fns.values()].map((o) => [o.name, o.action, o.status, o.reason])).toEqual([
      [a, 'deploy', 'ready', 'the Service runs other content'],
      [b, 'deploy', 'ready', 'the Service runs other content'],
    ]);
    expect(JSON.parse(second.result.outputs['changed'] ?? '[]')).toEqual([a, b]);
    expect(second.result.summary).toContain('the Service runs other content');
    for (const name of [a, b]) expect(await commitOf(name)).toBe(commits[2]);
    expect(await imageOf(b)).not.toBe(imageB1);
  }, 900_000);

  it('a push whose run never ran (dropped by the concurrency group) is deployed by the next one', async () => {
    commits.push(repo.repo.commit('a v3', pyFunction(a, 'v3'))); // [3]: never runs
    commits.push(repo.repo.commit('b v3', pyFunction(b, 'v3'))); // [4]
    const next = await repo.push(commits[3] ?? '', commits[4] ?? '');
    expect(next.result.code, log(next.result)).toBe(0);
    expect([...next.fns.values()].map((o) => [o.name, o.action, o.status])).toEqual([
      [a, 'deploy', 'ready'],
      [b, 'deploy', 'ready'],
    ]);
    for (const name of [a, b]) expect(await commitOf(name)).toBe(commits[4]);
  }, 900_000);

  it('a push that changes nothing deploys nothing and builds nothing', async () => {
    commits.push(repo.repo.commit('docs', { 'README.md': '# functions, documented\n' })); // [5]
    const quiet = await repo.push(commits[4] ?? '', commits[5] ?? '');
    expect(quiet.result.code, log(quiet.result)).toBe(0);
    expect([...quiet.fns.values()].map((o) => [o.name, o.action, o.status, o.reason])).toEqual([
      [a, 'skip', 'skipped', 'the Service already runs this content'],
      [b, 'skip', 'skipped', 'the Service already runs this content'],
    ]);
    expect(quiet.result.stdout).not.toContain('::group::kaniko: ');
    expect(await commitOf(a)).toBe(commits[4]);
  });

  it('a re-run of an older commit leaves the newer code running and says so', async () => {
    const imageB = await imageOf(b);
    // The run of commit [2] (b v2) again, after [4] (b v3) was deployed.
    repo.repo.git('checkout', '--quiet', '--detach', commits[2] ?? '');
    const rerun = await repo.push(commits[1] ?? '', commits[2] ?? '', { runId: 7003 });
    repo.repo.git('checkout', '--quiet', 'main');
    expect(rerun.result.code, log(rerun.result)).toBe(0);
    const outB = rerun.fns.get(b);
    expect(outB?.status).toBe('skipped');
    expect(outB?.reason).toMatch(/the Service runs a newer commit/);
    expect(outB?.reason).toContain((commits[4] ?? '').slice(0, 12));
    expect(await imageOf(b)).toBe(imageB);
    expect(await commitOf(b)).toBe(commits[4]);
    expect(rerun.result.summary).toContain('newer commit');
  });

  it('runs that finish out of order: the older one finds the newer deployed and leaves it', async () => {
    commits.push(repo.repo.commit('a v4', pyFunction(a, 'v4'))); // [6]
    commits.push(repo.repo.commit('b v4', pyFunction(b, 'v4'))); // [7]
    // The run of [7] finishes first ...
    const newer = await repo.push(commits[6] ?? '', commits[7] ?? '');
    expect(newer.result.code, log(newer.result)).toBe(0);
    const imageB = await imageOf(b);
    // ... then the run of [6], which has b at v3.
    repo.repo.git('checkout', '--quiet', '--detach', commits[6] ?? '');
    const older = await repo.push(commits[5] ?? '', commits[6] ?? '');
    repo.repo.git('checkout', '--quiet', 'main');
    expect(older.result.code, log(older.result)).toBe(0);
    expect(older.fns.get(a)?.reason).toBe('the Service already runs this content');
    expect(older.fns.get(b)?.status).toBe('skipped');
    expect(older.fns.get(b)?.reason).toMatch(/newer commit/);
    expect(await imageOf(b)).toBe(imageB);
    expect(await commitOf(b)).toBe(commits[7]);
  }, 900_000);

  it('deletes the Service of a function that no longer exists, found on the cluster', async () => {
    const head = repo.repo.git('rev-parse', 'HEAD');
    repo.repo.git('rm', '--quiet', '-r', `functions/${a}`);
    const removed = repo.repo.commit('remove a');
    // The event's diff is empty (before = after's parent is not given): the cluster says a is gone.
    const result = await repo.push(removed, removed);
    expect(result.result.code, log(result.result)).toBe(0);
    expect(result.fns.get(a)?.status).toBe('deleted');
    expect(await service(a)).toBeUndefined();
    expect(await service(b)).toBeDefined();
    expect(head).not.toBe(removed);
  });
});

describe('two repositories in one namespace', () => {
  const echo = `rc-echo-${run}`;
  let githubX: GitHubServer;
  let githubY: GitHubServer;
  let x: Repository;
  let y: Repository;
  let xMain = '';
  let yMain = '';

  beforeAll(async () => {
    githubX = await startGitHubServer({ token, repo: { owner: 'octo-org', name: 'alpha' } });
    githubY = await startGitHubServer({ token, repo: { owner: 'octo-org', name: 'beta' } });
    x = new Repository(githubX, { owner: 'octo-org', name: 'alpha' }, 100);
    y = new Repository(githubY, { owner: 'octo-org', name: 'beta' }, 100);
  });
  afterAll(async () => {
    for (const name of [echo, `${echo}-pr-7`]) await deleteService(name);
    await githubX.close();
    await githubY.close();
    x.repo.remove();
    y.repo.remove();
  });

  it('neither replaces, deploys over, nor deletes the other’s Services and previews', async () => {
    const xRoot = x.repo.commit('root');
    xMain = x.repo.commit('echo', pyFunction(echo, 'alpha'));
    const yRoot = y.repo.commit('root');
    yMain = y.repo.commit('echo', pyFunction(echo, 'beta'));

    const xPush = await x.push(xRoot, xMain);
    expect(xPush.result.code, log(xPush.result)).toBe(0);
    const xImage = await imageOf(echo);
    expect(xImage).toContain('/alpha/');

    const yPush = await y.push(yRoot, yMain);
    expect(yPush.result.code).toBe(1);
    expect(yPush.fns.get(echo)?.status).toBe('failed');
    expect(yPush.fns.get(echo)?.reason).toContain('octo-org/alpha');
    expect(yPush.result.stdout).toMatch(/::error::.*octo-org\/alpha/);
    expect(await imageOf(echo)).toBe(xImage);

    // PR 7 in both repositories.
    const prFor = async (r: Repository, main: string, text: string) => {
      r.repo.git('checkout', '--quiet', '-b', 'feature');
      const head = r.repo.commit('change', pyFunction(echo, text));
      r.github.state.addPullRequest({
        number: 7,
        head: { ref: 'feature', sha: head },
        base: { ref: 'main', sha: main },
      });
      const opened = await r.run(
        'pull_request',
        pullRequestEvent('opened', {
          number: 7,
          repo: r.name,
          base: { ref: 'main', sha: main },
          head: { ref: 'feature', sha: head },
        }),
        head,
        'refs/pull/7/merge',
      );
      return { head, opened };
    };
    const xPr = await prFor(x, xMain, 'alpha-pr');
    expect(xPr.opened.result.code, log(xPr.opened.result)).toBe(0);
    const xPreview = await imageOf(`${echo}-pr-7`);
    const yPr = await prFor(y, yMain, 'beta-pr');
    expect(yPr.opened.result.code).toBe(1);
    expect(yPr.opened.fns.get(`${echo}-pr-7`)?.reason).toMatch(
      /preview of pull request #7 of repository octo-org\/alpha/,
    );
    expect(await imageOf(`${echo}-pr-7`)).toBe(xPreview);

    // Y's PR closes: X's preview stays.
    const yClosed = await y.run(
      'pull_request',
      pullRequestEvent('closed', {
        number: 7,
        repo: y.name,
        base: { ref: 'main', sha: yMain },
        head: { ref: 'feature', sha: yPr.head },
      }),
      yPr.head,
      'refs/pull/7/merge',
    );
    expect(yClosed.result.code, log(yClosed.result)).toBe(0);
    expect(await imageOf(`${echo}-pr-7`)).toBe(xPreview);
    expect(await imageOf(echo)).toBe(xImage);

    // Y removes its function: X's Service stays.
    y.repo.git('checkout', '--quiet', 'main');
    y.repo.git('rm', '--quiet', '-r', `functions/${echo}`);
    const yRemoved = y.repo.commit('remove echo');
    const yDelete = await y.push(yMain, yRemoved);
    expect(yDelete.result.code, log(yDelete.result)).toBe(0);
    expect(await imageOf(echo)).toBe(xImage);

    // X's PR closes: its preview goes.
    const xClosed = await x.run(
      'pull_request',
      pullRequestEvent('closed', {
        number: 7,
        repo: x.name,
        base: { ref: 'main', sha: xMain },
        head: { ref: 'feature', sha: xPr.head },
      }),
      xPr.head,
      'refs/pull/7/merge',
    );
    expect(xClosed.result.code, log(xClosed.result)).toBe(0);
    expect(await service(`${echo}-pr-7`)).toBeUndefined();
    expect(await imageOf(echo)).toBe(xImage);
  }, 900_000);

  it('a production function named like a preview (foo-pr-7) is rejected at plan time', async () => {
    x.repo.git('checkout', '--quiet', 'main');
    const before = x.repo.git('rev-parse', 'HEAD');
    const bad = x.repo.commit('a function named like a preview', pyFunction('foo-pr-7', 'x'));
    const result = await x.push(before, bad);
    expect(result.result.code).toBe(1);
    expect(result.result.stdout).toMatch(
      /::error [^\n]*file=functions\/foo-pr-7[^\n]*::[^\n]*ends in -pr-<N>/,
    );
    expect(await service('foo-pr-7')).toBeUndefined();
    x.repo.git('reset', '--quiet', '--hard', before);
  });
});

describe('pull request close and sweep need no function tree', () => {
  const fn = `rc-close-${run}`;
  let github: GitHubServer;
  let repo: Repository;
  let main = '';

  beforeAll(async () => {
    github = await startGitHubServer({ token });
    repo = new Repository(github, { owner: 'octo-org', name: 'functions' }, 9000);
    repo.repo.commit('root');
    main = repo.repo.commit('fn', pyFunction(fn, 'v1'));
    repo.repo.git('checkout', '--quiet', '-b', 'feature');
  });
  afterAll(async () => {
    for (const pr of [21, 22, 23]) await deleteService(`${fn}-pr-${pr}`);
    await github.close();
    repo.repo.remove();
  });

  async function openPreview(pr: number): Promise<string> {
    const head = repo.repo.commit(`pr ${pr}`, pyFunction(fn, `pr${pr}`));
    github.state.addPullRequest({
      number: pr,
      head: { ref: 'feature', sha: head },
      base: { ref: 'main', sha: main },
    });
    const opened = await repo.run(
      'pull_request',
      pullRequestEvent('opened', {
        number: pr,
        base: { ref: 'main', sha: main },
        head: { ref: 'feature', sha: head },
      }),
      head,
      `refs/pull/${pr}/merge`,
    );
    expect(opened.result.code, log(opened.result)).toBe(0);
    expect(await service(`${fn}-pr-${pr}`)).toBeDefined();
    return head;
  }
  const closed = (pr: number, head: string) =>
    pullRequestEvent('closed', {
      number: pr,
      base: { ref: 'main', sha: main },
      head: { ref: 'feature', sha: head },
    });

  it('a close whose head has a broken function.yaml deletes the previews, exit 0', async () => {
    await openPreview(21);
    const broken = repo.repo.commit('broken manifest', {
      [`functions/${fn}/function.yaml`]: 'name: [unclosed\n',
    });
    const result = await repo.run('pull_request', closed(21, broken), broken, 'refs/pull/21/merge');
    expect(result.result.code, log(result.result)).toBe(0);
    expect(result.fns.get(`${fn}-pr-21`)?.status).toBe('deleted');
    expect(await service(`${fn}-pr-21`)).toBeUndefined();
    repo.repo.git('reset', '--quiet', '--hard', 'HEAD~1');
  });

  it('a close whose checkout step was skipped (an empty workspace) deletes the previews, exit 0', async () => {
    const head = await openPreview(22);
    const empty = mkdtempSync(path.join(tmpdir(), 'faas-no-checkout-'));
    try {
      const result = await repo.run('pull_request', closed(22, head), head, 'refs/pull/22/merge', {
        workspace: empty,
      });
      expect(result.result.code, log(result.result)).toBe(0);
      expect(result.fns.get(`${fn}-pr-22`)?.status).toBe('deleted');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    expect(await service(`${fn}-pr-22`)).toBeUndefined();
  });

  it('a sweep removes the previews of a pull request closed while no workflow ran', async () => {
    await openPreview(23);
    const record = github.state.pulls.get(23);
    if (!record) throw new Error('PR 23 missing from the fake GitHub');
    record.state = 'closed';
    const empty = mkdtempSync(path.join(tmpdir(), 'faas-sweep-'));
    try {
      const result = await repo.run('schedule', { schedule: '17 3 * * *' }, main, 'refs/heads/main', {
        workspace: empty,
        inputs: { mode: 'sweep' },
      });
      expect(result.result.code, log(result.result)).toBe(0);
      expect(result.fns.get(`${fn}-pr-23`)?.status).toBe('deleted');
      expect(result.fns.get(`${fn}-pr-23`)?.reason).toBe('pull request #23 is closed');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    expect(await service(`${fn}-pr-23`)).toBeUndefined();
    github.assertNoViolations();
  });
});
