// The Tekton builder's answers before a TaskRun exists: a context over the ConfigMap limit is refused
// without a request, a cluster it cannot reach fails the build with the connection's error.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTEXT_PART_BYTES } from '../../../src/build/tekton-task.js';
import { TektonBuilder } from '../../../src/build/tekton.js';
import { connectKube, type KubeConnection } from '../../../src/kube/index.js';

const log = {
  info: () => undefined,
  warning: () => undefined,
  group: () => undefined,
  secret: () => undefined,
};
const request = {
  name: 'big',
  image: '127.0.0.1:5000/big:ctx-1',
  tag: 'ctx-1',
  dockerfile: 'FROM scratch\n',
  dockerfilePath: 'Dockerfile',
  entries: [
    { path: 'blob', kind: 'file' as const, executable: false, data: randomBytes(3 * CONTEXT_PART_BYTES) },
  ],
};

describe('TektonBuilder before the cluster', () => {
  let port = 0;
  let tempDir = '';
  let kube: KubeConnection;
  beforeAll(async () => {
    // A port nothing listens on: taken, then released.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    tempDir = await mkdtemp(path.join(tmpdir(), 'faas-tekton-unit-'));
    kube = await connectKube({
      kubeconfig: [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{ name: c, cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]`,
        'users: [{ name: u, user: { token: t0k3n } }]',
        'contexts: [{ name: c, context: { cluster: c, user: u } }]',
        'current-context: c',
      ].join('\n'),
      tempDir,
      secret: () => undefined,
      retry: { attempts: 1 },
    });
  });
  afterAll(async () => {
    await kube.close();
    await rm(tempDir, { recursive: true, force: true });
  });

  const builder = (maxContextParts: number): TektonBuilder =>
    new TektonBuilder({ kube, namespace: 'ns', kanikoImage: 'k', registry: 'r', maxContextParts });

  it('refuses a context over the limit before it talks to the cluster', async () => {
    const result = await builder(2).build(request, { signal: new AbortController().signal, log });
    expect(result).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /^The build context of big is 3\.0 MiB compressed; the Tekton builder carries at most 2\.0 MiB \(2 ConfigMaps of 1\.00 MiB\)/,
      ) as unknown,
    });
  });

  it('a cluster it cannot reach fails the build with the connection’s error', async () => {
    const result = await builder(8).build(request, { signal: new AbortController().signal, log });
    expect(result).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        new RegExp(
          `^Cannot reach the cluster at https://127\\.0\\.0\\.1:${port} to run the Tekton build: .*ECONNREFUSED`,
        ),
      ) as unknown,
    });
  });
});
