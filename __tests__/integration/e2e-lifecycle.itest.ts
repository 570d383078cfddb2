// The bundled action (dist/index.js) through whole pull-request lifecycles, as a GitHub runner runs
// it, against the whole test environment, once per builder (kaniko in the runner's Docker engine;
// Tekton TaskRuns run by the Tekton stand-in):
//   push to main deploys Go, Node and Python functions → a PR changes one (one preview, one comment)
//   → a second push to the PR changes another (comment updated in place, the unchanged one not
//   rebuilt) → the PR closes (previews deleted, comment says so) → the merge push deploys the changed
//   ones (nothing rebuilt: the previews' images are the same content) → workflow_dispatch `all`
//   → a force push that drops the merge.
// After each step: Services and labels on the API server (read as admin; the action runs as the
// least-privilege deployer of docs/rbac.yaml), images in the registry (basic auth), outputs, summary
// and comment, and every curl command the comment or summary prints is run verbatim (bash -c) against
// the local ingress of the Knative stand-in, which runs each Ready revision's image in the Docker engine.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, KubeConfig, V1ObjectMeta, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pullRequestEvent, pushEvent, workflowDispatchEvent } from '../../test/github/events.ts';
import { startGitHubServer, type GitHubServer } from '../../test/github/openapi-server.ts';
import { runAction, workflowRunEnv, type ActionRun } from '../../test/support/action-runner.ts';
import { makeRepo, type TestRepo } from '../../test/support/git-repo.ts';

const execFileAsync = promisify(execFile);
const env = inject('testEnv');
const need = (key: string): string => {
  const value = env[key];
  if (!value) throw new Error(`the test environment gives no ${key}`);
  return value;
};

const namespace = need('KUBE_NAMESPACE');
const ingress = need('INGRESS_ADDRESS');
const registryHost = need('REGISTRY_AUTH');
const registryAuth = `Basic ${Buffer.from(`${need('REGISTRY_AUTH_USER')}:${need('REGISTRY_AUTH_PASSWORD')}`).toString('base64')}`;
const token = 'ghs_e2e_token';
const admin = new KubeConfig();
admin.loadFromFile(need('KUBECONFIG_ADMIN'));
const custom = admin.makeApiClient(CustomObjectsApi);
const core = admin.makeApiClient(CoreV1Api);

interface Outcome {
  name: string;
  service: string;
  action: string;
  status: string;
  image?: string;
  digest?: string;
  url?: string;
  reason?: string;
  built?: boolean;
}

type KService = {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: { template: { spec: { containers: { image: string }[] } } };
  status?: { url?: string };
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

/** HEAD of the manifest by digest in the registry, with the credentials the action pushed with. */
async function inRegistry(image: string): Promise<boolean> {
  const match = /^([^/]+)\/(.+)@(sha256:[0-9a-f]{64})$/.exec(image);
  if (!match) throw new Error(`not a digest reference: ${image}`);
  const [, host, repository, digest] = match;
  const response = await fetch(`http://${host}/v2/${repository}/manifests/${digest}`, {
    method: 'HEAD',
    headers: {
      Authorization: registryAuth,
      Accept: [
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/vnd.oci.image.index.v1+json',
      ].join(', '),
    },
  });
  return response.status === 200;
}

/**
 * The curl commands a report prints for one service: every `curl` line in its "Try it" block that
 * names the service's host. The Host-header form runs verbatim; the URL form names a DNS host that
 * does not exist here, so it runs with `--connect-to` pointing that host at the local ingress.
 */
function curlCommands(markdown: string, host: string): string[] {
  const lines = markdown
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('curl ') && line.includes(host));
  return lines.map((line) =>
    line.includes(`Host: ${host}`) ? line : `${line} --connect-to ${host}:80:${ingress}`,
  );
}

/** Runs a printed curl command (bash -c, as a user pastes it) until it answers `expected` or 90 s pass. */
async function answers(command: string, expected: string | RegExp): Promise<string> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    let last: string;
    try {
      const { stdout } = await execFileAsync('bash', [
        '-c',
        `${command} --silent --show-error --max-time 20`,
      ]);
      last = stdout;
      if (typeof expected === 'string' ? stdout === expected : expected.test(stdout)) return stdout;
    } catch (error) {
      last = String(error);
    }
    // 503 until the stand-in's container for the new revision answers, then the new answer.
    if (Date.now() > deadline)
      throw new Error(`${command}\nanswered ${JSON.stringify(last)}, not ${String(expected)}`);
    await sleep(500);
  }
}

const outcomes = (result: ActionRun): Outcome[] =>
  JSON.parse(result.outputs['functions'] ?? '[]') as Outcome[];
const byName = (list: Outcome[]): Map<string, Outcome> => new Map(list.map((o) => [o.name, o]));

const NODE_V1 = `const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => process.stdout.write(\`Hello, \${chunks.join('').trim()}! (node v1)\\n\`));
`;
const NODE_V2 = NODE_V1.replace('Hello,', 'Hi,').replace('node v1', 'node v2');
const PYTHON_V1 = `import sys
text = sys.stdin.read()
print(f"python v1: {len(text.split())} word(s)")
`;
const PYTHON_V2 = PYTHON_V1.replace('python v1', 'python v2');

describe.each(['kaniko', 'tekton'] as const)(
  'the action through a pull request lifecycle, builder %s',
  (builder) => {
    const run = `${builder.slice(0, 1)}${randomBytes(3).toString('hex')}`;
    const go = `e2e-go-${run}`;
    const node = `e2e-node-${run}`;
    const python = `e2e-py-${run}`;
    const all = [go, node, python];
    const pr = builder === 'kaniko' ? 11 : 12;
    const preview = (fn: string): string => `${fn}-pr-${pr}`;
    const pullSecret = `e2e-pull-${run}`;
    let github: GitHubServer;
    let repo: TestRepo;
    let inputs: Record<string, string>;
    let runId = builder === 'kaniko' ? 1000 : 5000;
    let mainSha = '';
    let featureSha = '';
    let mergeSha = '';
    const previewImages = new Map<string, string>();

    /** Each step is a later workflow run, as on GitHub: run ids only grow. */
    async function step(
      eventName: string,
      payload: unknown,
      sha: string,
      ref: string,
    ): Promise<{ result: ActionRun; list: Outcome[]; fns: Map<string, Outcome> }> {
      const result = await runAction({
        workspace: repo.dir,
        eventName,
        payload,
        inputs,
        env: workflowRunEnv({
          apiUrl: github.url,
          runId: ++runId,
          sha,
          ref,
          dockerHost: need('DOCKER_HOST'),
        }),
      });
      expect(result.code, `${result.stdout.slice(-4000)}\n${result.stderr.slice(-2000)}`).toBe(0);
      // The password reaches the log only in the ::add-mask:: command that hides it.
      const log = result.stdout
        .split('\n')
        .filter((line) => !line.startsWith('::add-mask::'))
        .join('\n');
      expect(log).not.toContain(need('REGISTRY_AUTH_PASSWORD'));
      const list = outcomes(result);
      // Every image built in this run was built by the builder under test, and only by it.
      for (const fn of list.filter((o) => o.built === true))
        expect(result.stdout).toContain(`::group::${builder}: ${fn.name} → `);
      expect(result.stdout).not.toContain(`::group::${builder === 'kaniko' ? 'tekton' : 'kaniko'}: `);
      return { result, list, fns: byName(list) };
    }

    /** The live Service: labels, the commit annotation, the image it runs, and its URL. */
    async function expectService(name: string, fn: string, image: string, commit: string, prNumber?: number) {
      const live = await service(name);
      expect(live, `Service ${name}`).toBeDefined();
      expect(live?.metadata.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'faas-deploy',
        'faas-deploy.dev/function': fn,
      });
      if (prNumber === undefined) expect(live?.metadata.labels['faas-deploy.dev/pr']).toBeUndefined();
      else expect(live?.metadata.labels['faas-deploy.dev/pr']).toBe(String(prNumber));
      expect(live?.metadata.annotations['faas-deploy.dev/commit']).toBe(commit);
      expect(live?.spec.template.spec.containers[0]?.image).toBe(image);
      expect(live?.status?.url).toBe(`http://${name}.${namespace}.example.com`);
      expect(await inRegistry(image), `${image} in the registry`).toBe(true);
    }

    /** Every curl line printed for the service answers with the function's response. */
    async function expectCurl(markdown: string, name: string, expected: string | RegExp) {
      const host = `${name}.${namespace}.example.com`;
      const commands = curlCommands(markdown, host);
      expect(commands, `curl examples for ${host} in:\n${markdown}`).toHaveLength(2);
      expect(commands.some((c) => c.includes(`curl -H "Host: ${host}" http://${ingress}`))).toBe(true);
      for (const command of commands) await answers(command, expected);
    }

    beforeAll(async () => {
      github = await startGitHubServer({ token, repo: { owner: 'octo-org', name: 'functions' } });
      const dockerConfig = JSON.stringify({ auths: { [registryHost]: { auth: registryAuth.slice(6) } } });
      await core.createNamespacedSecret({
        namespace,
        body: Object.assign(new V1Secret(), {
          metadata: Object.assign(new V1ObjectMeta(), { name: pullSecret }),
          type: 'kubernetes.io/dockerconfigjson',
          data: { '.dockerconfigjson': Buffer.from(dockerConfig).toString('base64') },
        }),
      });
      repo = makeRepo(`faas-e2e-${builder}-`);
      inputs = {
        builder,
        registry: `${registryHost}/e2e-${run}`,
        'registry-username': need('REGISTRY_AUTH_USER'),
        'registry-password': need('REGISTRY_AUTH_PASSWORD'),
        'kaniko-image': need('IMAGE_KANIKO'),
        'base-images': [
          `builder=${need('IMAGE_GO_BUILDER')}`,
          `runtime=${need('IMAGE_RUNTIME')}`,
          `watchdog=${need('IMAGE_CLASSIC_WATCHDOG')}`,
          `of-watchdog=${need('IMAGE_OF_WATCHDOG')}`,
          `node=${need('IMAGE_NODE')}`,
          `python=${need('IMAGE_PYTHON')}`,
        ].join('\n'),
        kubeconfig: readFileSync(need('KUBECONFIG_DEPLOYER'), 'utf8'),
        namespace,
        'image-pull-secret': pullSecret,
        'ingress-address': ingress,
        'wait-timeout': '4m',
        'github-token': token,
      };
    });

    afterAll(async () => {
      for (const fn of all) {
        await deleteService(fn);
        await deleteService(preview(fn));
      }
      await core.deleteNamespacedSecret({ namespace, name: pullSecret }).catch(() => undefined);
      await github.close();
      repo.remove();
    });

    it('push to main: builds the Go, Node and Python functions and deploys three Ready Services that answer', async () => {
      const before = repo.commit('readme', { 'README.md': '# functions\n' });
      cpSync('examples/functions/echo', `${repo.dir}/functions/${go}`, { recursive: true });
      mainSha = repo.commit('three functions', {
        [`functions/${node}/index.js`]: NODE_V1,
        [`functions/${node}/package.json`]: `{ "name": "${node}", "version": "1.0.0", "private": true }\n`,
        [`functions/${python}/handler.py`]: PYTHON_V1,
      });
      const { result, list, fns } = await step(
        'push',
        pushEvent({ before, after: mainSha }),
        mainSha,
        'refs/heads/main',
      );
      expect(list.map((fn) => [fn.name, fn.action, fn.status, fn.built])).toEqual([
        [go, 'deploy', 'ready', true],
        [node, 'deploy', 'ready', true],
        [python, 'deploy', 'ready', true],
      ]);
      const urls = JSON.parse(result.outputs['urls'] ?? '{}') as Record<string, string>;
      for (const fn of all) {
        expect(urls[fn]).toBe(`http://${fn}.${namespace}.example.com`);
        await expectService(fn, fn, fns.get(fn)?.image ?? '', mainSha);
        expect(fns.get(fn)?.image).toMatch(
          new RegExp(`^${inputs['registry']}/functions/${fn}@sha256:[0-9a-f]{64}$`),
        );
      }
      expect(JSON.parse(result.outputs['changed'] ?? '[]')).toEqual(all);
      expect(result.summary).toContain(`| ${node} |`);
      await expectCurl(result.summary, go, 'hello');
      await expectCurl(result.summary, node, 'Hello, hello! (node v1)\n');
      await expectCurl(result.summary, python, 'python v1: 1 word(s)\n');
    }, 900_000);

    it('pull request opened: one preview for the changed function, one comment whose curl answers', async () => {
      repo.git('checkout', '--quiet', '-b', `feature-${builder}`);
      featureSha = repo.commit('node says hi', { [`functions/${node}/index.js`]: NODE_V2 });
      github.state.addPullRequest({
        number: pr,
        head: { ref: `feature-${builder}`, sha: featureSha },
        base: { ref: 'main', sha: mainSha },
      });
      const payload = pullRequestEvent('opened', {
        number: pr,
        base: { ref: 'main', sha: mainSha },
        head: { ref: `feature-${builder}`, sha: featureSha },
      });
      const { result, list, fns } = await step('pull_request', payload, featureSha, `refs/pull/${pr}/merge`);
      expect(list.map((fn) => [fn.service, fn.action, fn.status])).toEqual([
        [preview(go), 'skip', 'skipped'],
        [preview(node), 'preview', 'ready'],
        [preview(python), 'skip', 'skipped'],
      ]);
      expect(fns.get(node)?.built).toBe(true);
      previewImages.set(node, fns.get(node)?.image ?? '');
      await expectService(preview(node), node, previewImages.get(node) ?? '', featureSha, pr);
      expect(await service(preview(go))).toBeUndefined();
      // The main Service still runs the old image.
      expect((await service(node))?.spec.template.spec.containers[0]?.image).not.toBe(
        previewImages.get(node),
      );

      const comments = github.state.commentsOn(pr);
      expect(comments).toHaveLength(1);
      const body = comments[0]?.body ?? '';
      expect(result.outputs['comment-id']).toBe(String(comments[0]?.id));
      await expectCurl(body, preview(node), 'Hi, hello! (node v2)\n');
      github.assertNoViolations();
    });

    it('second push to the PR: the comment is updated in place and the unchanged preview is not rebuilt', async () => {
      const before = featureSha;
      featureSha = repo.commit('python v2', { [`functions/${python}/handler.py`]: PYTHON_V2 });
      const firstComment = github.state.commentsOn(pr)[0];
      const payload = pullRequestEvent('synchronize', {
        number: pr,
        before,
        base: { ref: 'main', sha: mainSha },
        head: { ref: `feature-${builder}`, sha: featureSha },
      });
      const { result, list, fns } = await step('pull_request', payload, featureSha, `refs/pull/${pr}/merge`);
      expect(list.map((fn) => [fn.service, fn.action, fn.status])).toEqual([
        [preview(go), 'skip', 'skipped'],
        [preview(node), 'skip', 'skipped'],
        [preview(python), 'preview', 'ready'],
      ]);
      // Node's preview already runs this content: no build, no apply, the same image.
      expect(fns.get(node)?.reason).toBe('the Service already runs this content');
      expect(result.stdout).not.toContain(`::group::${builder}: ${node} → `);
      expect((await service(preview(node)))?.spec.template.spec.containers[0]?.image).toBe(
        previewImages.get(node),
      );
      expect(fns.get(python)?.built).toBe(true);
      previewImages.set(python, fns.get(python)?.image ?? '');
      await expectService(preview(python), python, previewImages.get(python) ?? '', featureSha, pr);

      const comments = github.state.commentsOn(pr);
      expect(comments).toHaveLength(1);
      expect(comments[0]?.id).toBe(firstComment?.id);
      expect(result.outputs['comment-id']).toBe(String(firstComment?.id));
      const body = comments[0]?.body ?? '';
      expect(body).toContain(featureSha.slice(0, 7));
      await expectCurl(body, preview(node), 'Hi, hello! (node v2)\n');
      await expectCurl(body, preview(python), 'python v2: 1 word(s)\n');
      github.assertNoViolations();
    });

    it('pull request closed: every preview is deleted and the comment says so', async () => {
      const payload = pullRequestEvent('closed', {
        number: pr,
        base: { ref: 'main', sha: mainSha },
        head: { ref: `feature-${builder}`, sha: featureSha },
        merged: true,
      });
      const { list } = await step('pull_request', payload, featureSha, `refs/pull/${pr}/merge`);
      expect(list.filter((fn) => fn.status === 'deleted').map((fn) => fn.service)).toEqual([
        preview(node),
        preview(python),
      ]);
      for (const fn of all) expect(await service(preview(fn))).toBeUndefined();
      const comments = github.state.commentsOn(pr);
      expect(comments).toHaveLength(1);
      expect(comments[0]?.body).toMatch(/removed/i);
      // The Host of a removed preview is gone from the ingress too.
      const gone = await execFileAsync('curl', [
        '--silent',
        '--output',
        '/dev/null',
        '--write-out',
        '%{http_code}',
        '-H',
        `Host: ${preview(node)}.${namespace}.example.com`,
        `http://${ingress}`,
      ]);
      expect(gone.stdout).toBe('404');
      // The real Services of main are untouched.
      for (const fn of all) expect(await service(fn)).toBeDefined();
    });

    it('merge push to main: deploys the two changed functions without building them again', async () => {
      repo.git('checkout', '--quiet', 'main');
      repo.git('merge', '--quiet', '--no-ff', '-m', `Merge pull request #${pr}`, `feature-${builder}`);
      mergeSha = repo.git('rev-parse', 'HEAD');
      const { result, list, fns } = await step(
        'push',
        pushEvent({ before: mainSha, after: mergeSha, commits: [{ id: featureSha }, { id: mergeSha }] }),
        mergeSha,
        'refs/heads/main',
      );
      expect(list.map((fn) => [fn.name, fn.action, fn.status])).toEqual([
        [go, 'skip', 'skipped'],
        [node, 'deploy', 'ready'],
        [python, 'deploy', 'ready'],
      ]);
      for (const fn of [node, python]) {
        expect(fns.get(fn)?.built, `${fn} rebuilt`).toBe(false);
        expect(fns.get(fn)?.image).toBe(previewImages.get(fn));
        await expectService(fn, fn, previewImages.get(fn) ?? '', mergeSha);
      }
      await expectCurl(result.summary, node, 'Hi, hello! (node v2)\n');
      await expectCurl(result.summary, python, 'python v2: 1 word(s)\n');
    });

    it('workflow_dispatch with functions=all: redeploys all three, builds nothing', async () => {
      const { result, list } = await step(
        'workflow_dispatch',
        workflowDispatchEvent({ inputs: { functions: 'all' } }),
        mergeSha,
        'refs/heads/main',
      );
      expect(list.map((fn) => [fn.name, fn.action, fn.status, fn.built])).toEqual([
        [go, 'deploy', 'ready', false],
        [node, 'deploy', 'ready', false],
        [python, 'deploy', 'ready', false],
      ]);
      await expectCurl(result.summary, go, 'hello');
      await expectCurl(result.summary, python, 'python v2: 1 word(s)\n');
    });

    it('force push that drops the merge: the reverted functions go back to their first images', async () => {
      repo.git('reset', '--quiet', '--hard', mainSha);
      const forced = repo.commit('go: add a README', { [`functions/${go}/README.md`]: 'echo\n' });
      const { result, list, fns } = await step(
        'push',
        pushEvent({ before: mergeSha, after: forced, forced: true }),
        forced,
        'refs/heads/main',
      );
      expect(list.map((fn) => [fn.name, fn.action, fn.status])).toEqual([
        [go, 'deploy', 'ready'],
        [node, 'deploy', 'ready'],
        [python, 'deploy', 'ready'],
      ]);
      // Node and Python are back to the content of the first push: their first images, not rebuilt.
      expect(fns.get(node)?.built).toBe(false);
      expect(fns.get(python)?.built).toBe(false);
      expect(fns.get(node)?.image).not.toBe(previewImages.get(node));
      for (const fn of all) await expectService(fn, fn, fns.get(fn)?.image ?? '', forced);
      await expectCurl(result.summary, node, 'Hello, hello! (node v1)\n');
      await expectCurl(result.summary, python, 'python v1: 1 word(s)\n');
      await expectCurl(result.summary, go, 'hello');
    });
  },
);
