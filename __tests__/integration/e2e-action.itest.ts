// The bundled action (dist/index.js) through a pull request's life, as a runner runs it, against the
// whole test environment: the least-privilege ServiceAccount on the real kube-apiserver (Knative's
// controller played by its stand-in), kaniko in the Docker engine pushing to the registry with
// basic auth, and the local OpenAPI-checked GitHub server.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import { CoreV1Api, CustomObjectsApi, KubeConfig, V1ObjectMeta, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pullRequestEvent, pushEvent } from '../../test/github/events.ts';
import { startGitHubServer, type GitHubServer } from '../../test/github/openapi-server.ts';
import { runAction } from '../../test/support/action-runner.ts';
import { goFunction, makeRepo, type TestRepo } from '../../test/support/git-repo.ts';
import { freePort, sleep } from './helpers/templates.js';

const env = inject('testEnv');
const need = (key: string): string => {
  const value = env[key];
  if (!value) throw new Error(`the test environment gives no ${key}`);
  return value;
};

const run = randomBytes(3).toString('hex');
const echo = `e2e-echo-${run}`;
const hello = `e2e-hello-${run}`;
const namespace = need('KUBE_NAMESPACE');
const pullSecret = `e2e-pull-${run}`;
const token = 'ghs_e2e_token';

const admin = new KubeConfig();
admin.loadFromFile(need('KUBECONFIG_ADMIN'));
const custom = admin.makeApiClient(CustomObjectsApi);
const core = admin.makeApiClient(CoreV1Api);

let github: GitHubServer;
let repo: TestRepo;
let inputs: Record<string, string>;

interface Outcome {
  name: string;
  service: string;
  action: string;
  status: string;
  image?: string;
  digest?: string;
  url?: string;
  reason?: string;
}

async function service(name: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({
      group: 'serving.knative.dev',
      version: 'v1',
      namespace,
      plural: 'services',
      name,
    })) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Runs the pushed image in the Docker engine and posts a body to it, as a client of the URL would. */
async function callImage(image: string, body: string): Promise<string> {
  const port = await freePort();
  const dockerEnv = { ...process.env, DOCKER_HOST: need('DOCKER_HOST') };
  const id = execFileSync('docker', ['run', '-d', '--rm', '--network', 'host', '-e', `port=${port}`, image], {
    env: dockerEnv,
    encoding: 'utf8',
  }).trim();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body });
        return await response.text();
      } catch (error) {
        if (attempt > 60) throw error;
        await sleep(250);
      }
    }
  } finally {
    execFileSync('docker', ['rm', '-f', id], { env: dockerEnv, stdio: 'ignore' });
  }
}

beforeAll(async () => {
  github = await startGitHubServer({ token, repo: { owner: 'octo-org', name: 'functions' } });
  const auth = Buffer.from(`${need('REGISTRY_AUTH_USER')}:${need('REGISTRY_AUTH_PASSWORD')}`).toString(
    'base64',
  );
  const dockerConfig = JSON.stringify({ auths: { [need('REGISTRY_AUTH')]: { auth } } });
  await core.createNamespacedSecret({
    namespace,
    body: Object.assign(new V1Secret(), {
      metadata: Object.assign(new V1ObjectMeta(), { name: pullSecret }),
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(dockerConfig).toString('base64') },
    }),
  });
  repo = makeRepo('faas-e2e-');
  repo.git('config', 'uploadpack.allowAnySHA1InWant', 'true');
  inputs = {
    registry: `${need('REGISTRY_AUTH')}/e2e-${run}`,
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
    'ingress-address': '127.0.0.1:8080',
    'wait-timeout': '3m',
    'github-token': token,
  };
});

afterAll(async () => {
  for (const name of [echo, hello, `${echo}-pr-7`, `${hello}-pr-7`]) {
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
  await core.deleteNamespacedSecret({ namespace, name: pullSecret }).catch(() => undefined);
  await github.close();
  repo.remove();
});

let runId = 1000;
/** Each step is a later workflow run, as on GitHub: run ids only grow. */
const runnerEnv = () => ({
  DOCKER_HOST: need('DOCKER_HOST'),
  GITHUB_API_URL: github.url,
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'octo-org/functions',
  GITHUB_RUN_ID: String(++runId),
  GITHUB_RUN_ATTEMPT: '1',
});

describe('the action through a pull request lifecycle', () => {
  let mainSha = '';

  it('push to main: builds both functions with kaniko and deploys them as Ready Services', async () => {
    const before = repo.commit('empty', { 'README.md': '# functions\n' });
    cpSync('examples/functions/echo', `${repo.dir}/functions/${echo}`, { recursive: true });
    mainSha = repo.commit('two functions', goFunction(hello));
    const result = await runAction({
      workspace: repo.dir,
      eventName: 'push',
      payload: pushEvent({ before, after: mainSha }),
      inputs,
      env: { ...runnerEnv(), GITHUB_SHA: mainSha, GITHUB_REF: 'refs/heads/main' },
    });
    expect(result.code, result.stdout.slice(-3000)).toBe(0);
    const functions = JSON.parse(result.outputs['functions'] ?? '[]') as Outcome[];
    expect(functions.map((fn) => [fn.name, fn.action, fn.status])).toEqual([
      [echo, 'deploy', 'ready'],
      [hello, 'deploy', 'ready'],
    ]);
    const urls = JSON.parse(result.outputs['urls'] ?? '{}') as Record<string, string>;
    expect(urls[echo]).toBe(`http://${echo}.${namespace}.example.com`);

    const live = await service(echo);
    const metadata = live?.['metadata'] as {
      labels: Record<string, string>;
      annotations: Record<string, string>;
    };
    expect(metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'faas-deploy',
      'faas-deploy.dev/function': echo,
    });
    expect(metadata.annotations['faas-deploy.dev/commit']).toBe(mainSha);
    const image = functions[0]?.image ?? '';
    expect(image).toMatch(new RegExp(`^${inputs['registry']}/${echo}@sha256:[0-9a-f]{64}$`));
    const container = (live?.['spec'] as { template: { spec: { containers: { image: string }[] } } }).template
      .spec.containers[0];
    expect(container?.image).toBe(image);

    // The image the Service runs answers with the request body (the classic watchdog contract).
    execFileSync(
      'docker',
      ['login', '-u', need('REGISTRY_AUTH_USER'), '--password-stdin', need('REGISTRY_AUTH')],
      {
        env: { ...process.env, DOCKER_HOST: need('DOCKER_HOST') },
        input: need('REGISTRY_AUTH_PASSWORD'),
      },
    );
    expect(await callImage(image, '{"Name": "Foo"}')).toBe('{"Name": "Foo"}');
    expect(result.summary).toContain(`| ${echo} |`);
  });

  it('pull request opened: one preview for the changed function, one comment with its URL and curl', async () => {
    repo.git('checkout', '--quiet', '-b', 'feature');
    const head = repo.commit('hello changes', { [`functions/${hello}/extra.go`]: 'package main\n' });
    github.state.addPullRequest({
      number: 7,
      head: { ref: 'feature', sha: head },
      base: { ref: 'main', sha: mainSha },
    });
    const result = await runAction({
      workspace: repo.dir,
      eventName: 'pull_request',
      payload: pullRequestEvent('opened', {
        number: 7,
        base: { ref: 'main', sha: mainSha },
        head: { ref: 'feature', sha: head },
      }),
      inputs,
      env: { ...runnerEnv(), GITHUB_SHA: head, GITHUB_REF: 'refs/pull/7/merge' },
    });
    expect(result.code, result.stdout.slice(-3000)).toBe(0);
    const functions = JSON.parse(result.outputs['functions'] ?? '[]') as Outcome[];
    expect(functions.map((fn) => [fn.service, fn.action, fn.status])).toEqual([
      [`${echo}-pr-7`, 'skip', 'skipped'],
      [`${hello}-pr-7`, 'preview', 'ready'],
    ]);
    const preview = await service(`${hello}-pr-7`);
    expect((preview?.['metadata'] as { labels: Record<string, string> }).labels['faas-deploy.dev/pr']).toBe(
      '7',
    );
    expect(await service(`${echo}-pr-7`)).toBeUndefined();

    const comments = github.state.commentsOn(7);
    expect(comments).toHaveLength(1);
    const body = comments[0]?.body ?? '';
    expect(body).toContain(`http://${hello}-pr-7.${namespace}.example.com`);
    expect(body).toContain(`curl -H "Host: ${hello}-pr-7.${namespace}.example.com" http://127.0.0.1:8080`);
    expect(result.outputs['comment-id']).toBe(String(comments[0]?.id));
    github.assertNoViolations();
  });

  it('pull request closed: every preview is deleted and the comment says so', async () => {
    const head = repo.git('rev-parse', 'HEAD');
    const result = await runAction({
      workspace: repo.dir,
      eventName: 'pull_request',
      payload: pullRequestEvent('closed', {
        number: 7,
        base: { ref: 'main', sha: mainSha },
        head: { ref: 'feature', sha: head },
        merged: true,
      }),
      inputs,
      env: { ...runnerEnv(), GITHUB_SHA: head, GITHUB_REF: 'refs/pull/7/merge' },
    });
    expect(result.code, result.stdout.slice(-3000)).toBe(0);
    expect(await service(`${hello}-pr-7`)).toBeUndefined();
    const comments = github.state.commentsOn(7);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toMatch(/removed/i);
    // The real Services of main are untouched.
    expect(await service(echo)).toBeDefined();
    expect(await service(hello)).toBeDefined();
  });
});
