// Lifecycle benchmark (issue 9): the bundled action (dist/index.js) run as a runner runs it against the
// whole test environment (kaniko in the Docker engine, the real kube-apiserver with the Knative
// stand-in and its local ingress, the OpenAPI-checked GitHub server), for
//   - a pull_request event changing one Go function, kaniko's cache repository warm: from the start of
//     the action to its exit, and to the moment the Host-form curl command of the PR comment answers
//     with the new response (the container of the new revision is up behind the ingress);
//   - a push where no function changed: start to exit.
//
// Needs the test environment up (scripts/test-env/test-env up). Usage:
//   node bench/lifecycle.mjs [runs=3]     prints the Markdown section
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { testEnvValues } from './test-env.mjs';

const execFileAsync = promisify(execFile);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (ms) => (ms / 1000).toFixed(1);

const mainGo = (prefix) => `package main

import (
\t"fmt"
\t"io"
\t"os"
)

func main() {
\tinput, _ := io.ReadAll(os.Stdin)
\tfmt.Printf("%s: %s", ${JSON.stringify(prefix)}, input)
}
`;

/** Polls the comment's Host-form curl command until it answers `expected`; returns when it did. */
async function answered(command, expected, timeoutMs = 180_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const out = await execFileAsync('bash', ['-c', `${command} --silent --max-time 10`]).then(
      (r) => r.stdout,
      () => '',
    );
    if (out === expected) return performance.now();
    if (performance.now() > deadline) throw new Error(`${command} answered ${JSON.stringify(out)}`);
    await sleep(100);
  }
}

export async function lifecycleBenchmark(runs = 3) {
  const env = testEnvValues([
    'DOCKER_HOST',
    'REGISTRY_AUTH',
    'REGISTRY_AUTH_USER',
    'REGISTRY_AUTH_PASSWORD',
    'KUBECONFIG_ADMIN',
    'KUBECONFIG_DEPLOYER',
    'KUBE_NAMESPACE',
    'INGRESS_ADDRESS',
    'IMAGE_KANIKO',
    'IMAGE_GO_BUILDER',
  ]);
  // The same harness the end-to-end suite uses (TypeScript run directly by Node 24).
  const { startGitHubServer } = await import('../test/github/openapi-server.ts');
  const { pullRequestEvent, pushEvent } = await import('../test/github/events.ts');
  const { runAction, workflowRunEnv } = await import('../test/support/action-runner.ts');
  const { makeRepo } = await import('../test/support/git-repo.ts');

  const id = randomBytes(3).toString('hex');
  const fn = `bench-${id}`;
  const ns = env.KUBE_NAMESPACE;
  const token = 'ghs_bench_token';
  const admin = new KubeConfig();
  admin.loadFromFile(env.KUBECONFIG_ADMIN);
  const custom = admin.makeApiClient(CustomObjectsApi);
  const core = admin.makeApiClient(CoreV1Api);
  const pullSecret = `bench-pull-${id}`;
  const auth = Buffer.from(`${env.REGISTRY_AUTH_USER}:${env.REGISTRY_AUTH_PASSWORD}`).toString('base64');
  await core.createNamespacedSecret({
    namespace: ns,
    body: {
      metadata: { name: pullSecret },
      type: 'kubernetes.io/dockerconfigjson',
      data: {
        '.dockerconfigjson': Buffer.from(
          JSON.stringify({ auths: { [env.REGISTRY_AUTH]: { auth } } }),
        ).toString('base64'),
      },
    },
  });
  const github = await startGitHubServer({ token, repo: { owner: 'octo-org', name: 'functions' } });
  const repo = makeRepo('faas-bench-lifecycle-');
  const inputs = {
    registry: `${env.REGISTRY_AUTH}/bench-${id}`,
    'registry-username': env.REGISTRY_AUTH_USER,
    'registry-password': env.REGISTRY_AUTH_PASSWORD,
    'kaniko-image': env.IMAGE_KANIKO,
    'base-images': [
      `builder=${env.IMAGE_GO_BUILDER}`,
      `runtime=${env.IMAGE_RUNTIME}`,
      `watchdog=${env.IMAGE_CLASSIC_WATCHDOG}`,
    ].join('\n'),
    kubeconfig: readFileSync(env.KUBECONFIG_DEPLOYER, 'utf8'),
    namespace: ns,
    'image-pull-secret': pullSecret,
    'ingress-address': env.INGRESS_ADDRESS,
    'wait-timeout': '4m',
    'github-token': token,
  };
  let runId = 100;
  const action = async (eventName, payload, sha, ref) => {
    const started = performance.now();
    const result = await runAction({
      workspace: repo.dir,
      eventName,
      payload,
      inputs,
      env: workflowRunEnv({ apiUrl: github.url, runId: ++runId, sha, ref, dockerHost: env.DOCKER_HOST }),
    });
    const exited = performance.now();
    if (result.code !== 0) throw new Error(`the action failed:\n${result.stdout.slice(-3000)}`);
    return { started, exited, result };
  };

  const prRuns = [];
  const noChange = [];
  try {
    // Main: the function deployed once, which also fills kaniko's cache repository.
    const first = repo.commit('readme', { 'README.md': '# bench\n' });
    const main = repo.commit('function', {
      [`functions/${fn}/main.go`]: mainGo('main'),
      [`functions/${fn}/go.mod`]: `module example.com/${fn}\n\ngo 1.22\n`,
    });
    await action('push', pushEvent({ before: first, after: main }), main, 'refs/heads/main');

    repo.git('checkout', '--quiet', '-b', 'feature');
    let head = main;
    for (let i = 1; i <= runs; i++) {
      const before = head;
      head = repo.commit(`change ${i}`, { [`functions/${fn}/main.go`]: mainGo(`pr run ${i}`) });
      if (i === 1)
        github.state.addPullRequest({
          number: 3,
          head: { ref: 'feature', sha: head },
          base: { ref: 'main', sha: main },
        });
      const payload = pullRequestEvent(i === 1 ? 'opened' : 'synchronize', {
        number: 3,
        before,
        base: { ref: 'main', sha: main },
        head: { ref: 'feature', sha: head },
      });
      const { started, exited, result } = await action('pull_request', payload, head, 'refs/pull/3/merge');
      const outcome = JSON.parse(result.outputs.functions)[0];
      if (outcome?.status !== 'ready' || outcome.built !== true)
        throw new Error(`unexpected ${JSON.stringify(outcome)}`);
      const body = github.state.commentsOn(3)[0]?.body ?? '';
      const command = body.split('\n').find((l) => l.startsWith('curl -H "Host: '));
      if (!command) throw new Error(`no Host-form curl command in the comment:\n${body}`);
      const answeredAt = await answered(command, `pr run ${i}: hello`);
      // The build's own duration, as the action logs it: `<fn>: built and pushed <image> (12.3 s)`.
      const built = /: built and pushed \S+ \(([\d.]+) s\)/.exec(result.stdout);
      prRuns.push({
        action: exited - started,
        answer: answeredAt - started,
        build: built ? Number(built[1]) * 1000 : NaN,
      });
    }

    repo.git('checkout', '--quiet', 'main');
    let tip = main;
    for (let i = 1; i <= runs + 2; i++) {
      const before = tip;
      tip = repo.commit(`docs ${i}`, { 'README.md': `# bench ${i}\n` });
      const { started, exited, result } = await action(
        'push',
        pushEvent({ before, after: tip }),
        tip,
        'refs/heads/main',
      );
      if (JSON.parse(result.outputs.changed).length !== 0)
        throw new Error('a docs-only push changed a function');
      noChange.push(exited - started);
    }
    // The PR closes: the action deletes its preview.
    await action(
      'pull_request',
      pullRequestEvent('closed', {
        number: 3,
        base: { ref: 'main', sha: main },
        head: { ref: 'feature', sha: head },
      }),
      head,
      'refs/pull/3/merge',
    );
  } finally {
    await custom
      .deleteNamespacedCustomObject({
        group: 'serving.knative.dev',
        version: 'v1',
        namespace: ns,
        plural: 'services',
        name: fn,
      })
      .catch(() => undefined);
    await core.deleteNamespacedSecret({ namespace: ns, name: pullSecret }).catch(() => undefined);
    await github.close();
    repo.remove();
  }
  return { runs, prRuns, noChange, load: loadavg()[0] };
}

export function lifecycleMarkdown(r) {
  const pr = (key) => seconds(median(r.prRuns.map((x) => x[key])));
  return [
    '## Lifecycle: from an event to a URL that answers',
    '',
    'Command: `node bench/run.mjs` with `BENCH_ONLY=lifecycle` (bench/lifecycle.mjs). The bundled action runs as a runner runs it (INPUT_* variables, event payload, GITHUB_OUTPUT) against the test environment: kaniko in the Docker engine pushing to the registry with basic auth, the least-privilege deployer on the real kube-apiserver, the Knative stand-in serving each Ready revision in a container behind its local ingress, and the OpenAPI-checked GitHub server. "Answers" is the moment the `curl -H "Host: …" http://<ingress>` line of the PR comment, run verbatim, returns the new response.',
    '',
    `| scenario | runs | action start → exit (s) | start → curl answers (s) | build (s) |`,
    '| --- | --- | --- | --- | --- |',
    `| pull_request, one Go function changed, kaniko cache warm | ${r.prRuns.length} | ${pr('action')} | ${pr('answer')} | ${pr('build')} |`,
    `| push to main, no function changed | ${r.noChange.length} | ${seconds(median(r.noChange))} | — | — |`,
    '',
    `Medians; load average ${r.load.toFixed(1)} at the end. The pull-request time is mostly the kaniko build (Go compile of the changed function; base layers come from the cache repository) and the wait for the Knative Service to be Ready.`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(lifecycleMarkdown(await lifecycleBenchmark(Number(process.argv[2] ?? 3))));
}
