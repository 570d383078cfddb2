// Builder tekton on a cluster without Tekton Pipelines: a second real kube-apiserver (the environment's
// binary, its certificates, the environment's etcd under a key prefix of its own) that has no CRDs at
// all. The build fails for each function with a message that says so, before anything is created.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImages } from '../../src/build/index.js';
import { connectKube } from '../../src/kube/index.js';
import { freePort, packaged, RecordingLog, repoRoot, run, testEnv, Workspace } from './build-support.js';

const need = testEnv();
// scripts/test-env/kube.sh: etcd's client port and the service-account issuer it starts kube-apiserver with.
const ETCD = 'http://127.0.0.1:23790';
const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';
// One fixed prefix: reruns reuse the same (small) tree instead of leaving a new one in etcd each time.
const ETCD_PREFIX = '/faas-build-itest-no-tekton';

let apiserver: ChildProcess | undefined;
let work = '';
let kubeconfigYaml = '';

beforeAll(async () => {
  const pki = path.join(path.dirname(need('KUBECONFIG_ADMIN')), 'pki');
  const cache = (
    await run(path.join(repoRoot, 'scripts/test-env/kube/build-binaries.sh'), ['--print'])
  ).stdout.trim();
  const binary = path.join(cache, 'bin', 'kube-apiserver');
  work = await mkdtemp(path.join(tmpdir(), 'faas-nocrd-'));
  const port = await freePort();
  const child = spawn(
    binary,
    [
      '--etcd-servers', ETCD, '--etcd-prefix', ETCD_PREFIX,
      '--bind-address', '127.0.0.1', '--advertise-address', '127.0.0.1', '--secure-port', String(port),
      '--tls-cert-file', path.join(pki, 'apiserver.crt'), '--tls-private-key-file', path.join(pki, 'apiserver.key'),
      '--client-ca-file', path.join(pki, 'ca.crt'), '--authorization-mode', 'RBAC',
      '--service-account-issuer', SA_ISSUER, '--api-audiences', SA_ISSUER,
      '--service-account-key-file', path.join(pki, 'sa.pub'), '--service-account-signing-key-file', path.join(pki, 'sa.key'),
      '--service-cluster-ip-range', '10.0.0.0/24', '--endpoint-reconciler-type', 'none', '--profiling=false',
      '--cert-dir', path.join(work, 'certs'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  ); // prettier-ignore
  apiserver = child;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  // The admin kubeconfig of the environment (client certificate, CA), pointed at this API server.
  kubeconfigYaml = (await readFile(need('KUBECONFIG_ADMIN'), 'utf8')).replace(
    /server: https:\/\/127\.0\.0\.1:\d+/,
    `server: https://127.0.0.1:${port}`,
  );
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ready = await run('curl', [
      '-sS', '--cacert', path.join(pki, 'ca.crt'), '--cert', path.join(pki, 'admin.crt'), '--key', path.join(pki, 'admin.key'),
      `https://127.0.0.1:${port}/readyz`,
    ]); // prettier-ignore
    if (ready.stdout.trim() === 'ok') break;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`kube-apiserver did not become ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}, 180_000);

afterAll(async () => {
  if (apiserver?.pid !== undefined && apiserver.exitCode === null) {
    const exited = new Promise((r) => apiserver?.once('exit', r));
    process.kill(apiserver.pid, 'SIGTERM');
    await exited;
  }
  if (work) await rm(work, { recursive: true, force: true });
});

describe('builder tekton on a cluster without Tekton', () => {
  it('fails each function with a message naming the missing API, and creates nothing', async () => {
    const ws = await Workspace.create();
    try {
      const images = {
        goBuilder: need('IMAGE_GO_BUILDER'),
        runtime: need('IMAGE_RUNTIME'),
        classicWatchdog: need('IMAGE_CLASSIC_WATCHDOG'),
      };
      const registry = `${need('REGISTRY')}/b6-nocrd-${Date.now()}`;
      const requests = [
        await packaged(
          ws.root,
          await ws.write('functions/a', { Dockerfile: `FROM ${images.runtime}\n`, a: 'a' }),
          'a',
          registry,
          images,
          'dockerfile',
        ),
        await packaged(
          ws.root,
          await ws.write('functions/b', { Dockerfile: `FROM ${images.runtime}\n`, b: 'b' }),
          'b',
          registry,
          images,
          'dockerfile',
        ),
      ];
      const log = new RecordingLog();
      const kube = await connectKube({ kubeconfig: kubeconfigYaml, tempDir: work, secret: () => undefined });
      const results = await buildImages(
        requests,
        {
          builder: 'tekton',
          registry,
          registryUsername: '',
          registryPassword: '',
          kanikoImage: need('IMAGE_KANIKO'),
          concurrency: 2,
          namespace: 'default',
          tektonServiceAccount: '',
          registrySecret: '',
          kube,
        },
        { log },
      );
      await kube.close();
      const message =
        'The cluster has no Tekton Pipelines: the API server does not serve tekton.dev/v1 (HTTP 404 for /apis/tekton.dev/v1). Install Tekton Pipelines (v0.44 or newer), or use builder: kaniko.';
      expect(results.get('a')).toMatchObject({ status: 'failed', reason: message });
      expect(results.get('b')).toMatchObject({ status: 'failed', reason: message });
      const configMaps = await run('curl', [
        '-sS', '--cacert', path.join(path.dirname(need('KUBECONFIG_ADMIN')), 'pki', 'ca.crt'),
        '--cert', path.join(path.dirname(need('KUBECONFIG_ADMIN')), 'pki', 'admin.crt'),
        '--key', path.join(path.dirname(need('KUBECONFIG_ADMIN')), 'pki', 'admin.key'),
        `${/server: (\S+)/.exec(kubeconfigYaml)?.[1] ?? ''}/api/v1/namespaces/default/configmaps?labelSelector=app.kubernetes.io/managed-by%3Dfaas-deploy`,
      ]); // prettier-ignore
      expect((JSON.parse(configMaps.stdout) as { items: unknown[] }).items).toEqual([]);
    } finally {
      await ws.remove();
    }
  }, 300_000);
});
