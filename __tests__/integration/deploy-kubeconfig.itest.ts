// Credentials for the deploy stage on the real API server: the kubeconfig input (plain and base64)
// masked before any connection is made, written 0600 and removed at close; KUBECONFIG as fallback;
// a clear error with none of them.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectCluster } from '../../src/deploy/index.js';
import { UserError } from '../../src/util/errors.js';
import { KubeRest, resourcePath } from '../../test/standins/kube-client.ts';
import {
  editKubeconfig,
  functionSpec,
  need,
  pushImage,
  suffix,
  tcpProxy,
  type TcpProxy,
} from './deploy-helpers.js';

const env = inject('testEnv');
const ns = need(env, 'KUBE_NAMESPACE');
const registry = need(env, 'REGISTRY');
const deployerFile = need(env, 'KUBECONFIG_DEPLOYER');
const deployerKubeconfig = readFileSync(deployerFile, 'utf8');
const token =
  (load(deployerKubeconfig) as { users: Array<{ user: { token: string } }> }).users[0]?.user.token ?? '';
const admin = KubeRest.fromFile(need(env, 'KUBECONFIG_ADMIN'));
const run = suffix();
let tempDir: string;
let proxy: TcpProxy;
const made: string[] = [];

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(tmpdir(), 'faas-deploy-kc-'));
  proxy = await tcpProxy(need(env, 'KUBE_API_URL'));
});
afterAll(async () => {
  proxy.close();
  for (const p of made) await admin.delete(p).catch(() => undefined);
  await rm(tempDir, { recursive: true, force: true });
});

describe('input kubeconfig', () => {
  for (const form of ['plain YAML', 'base64'] as const) {
    it(`${form}: every credential masked before the first connection, file 0600, removed at close`, async () => {
      expect(token).toMatch(/^ey/);
      const yaml = editKubeconfig(deployerKubeconfig, { server: proxy.url });
      const input = form === 'base64' ? Buffer.from(yaml).toString('base64') : yaml;
      const masked: Array<{ value: string; connectionsSoFar: number }> = [];
      const before = proxy.connections;
      const cluster = await connectCluster({
        kubeconfig: input,
        namespace: ns,
        tempDir,
        secret: (value) => masked.push({ value, connectionsSoFar: proxy.connections - before }),
      });
      const dirs = (await readdir(tempDir)).filter((d) => d.startsWith('faas-deploy-kube-'));
      expect(dirs).toHaveLength(1);
      const file = path.join(tempDir, dirs[0] ?? '', 'kubeconfig');
      try {
        expect((await stat(file)).mode & 0o777).toBe(0o600);
        expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
        expect((await readFile(file, 'utf8')).trim()).toBe(yaml.trim());

        const name = `it-kc-${form === 'base64' ? 'b64' : 'yaml'}-${run}`;
        made.push(resourcePath('serving.knative.dev', 'v1', ns, 'services', name));
        const result = await cluster.deployFunction({
          spec: functionSpec(name),
          service: name,
          image: await pushImage(registry, `faas-deploy-it/${run}`, 'kc'),
          waitTimeoutSeconds: 60,
        });
        expect(result).toMatchObject({ status: 'ready' });
        expect(proxy.connections - before).toBeGreaterThan(0);
      } finally {
        await cluster.close();
      }
      // The raw input and the token itself, both before anything was sent.
      expect(masked.map((m) => m.value)).toEqual(expect.arrayContaining([input, token]));
      expect(masked.every((m) => m.connectionsSoFar === 0)).toBe(true);
      expect(existsSync(file)).toBe(false);
      expect(existsSync(path.dirname(file))).toBe(false);
    });
  }

  it('a broken input is refused naming the input, and leaves no file behind', async () => {
    await expect(
      connectCluster({
        kubeconfig: 'bm90IGEga3ViZWNvbmZpZw==',
        namespace: ns,
        tempDir,
        secret: () => undefined,
      }),
    ).rejects.toThrow(/^Input "kubeconfig" looks like base64 but does not decode to a kubeconfig/);
    expect((await readdir(tempDir)).filter((d) => d.startsWith('faas-deploy-kube-'))).toEqual([]);
  });
});

describe('without the input', () => {
  it('uses KUBECONFIG (and masks its token), writing nothing', async () => {
    const masked: string[] = [];
    const cluster = await connectCluster({
      kubeconfig: '',
      namespace: ns,
      tempDir,
      secret: (v) => masked.push(v),
      env: { KUBECONFIG: deployerFile },
    });
    try {
      expect(cluster.user).toBe(`system:serviceaccount:${ns}:${need(env, 'KUBE_DEPLOYER_SA')}`);
      expect(await cluster.deletePreviews(987654)).toEqual([]);
    } finally {
      await cluster.close();
    }
    expect(masked).toContain(token);
    expect((await readdir(tempDir)).filter((d) => d.startsWith('faas-deploy-kube-'))).toEqual([]);
  });

  it('with no KUBECONFIG and not in a pod: says what to set', async () => {
    const error = await connectCluster({
      kubeconfig: '',
      namespace: ns,
      tempDir,
      secret: () => undefined,
      env: {},
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^No cluster credentials: set input "kubeconfig"/);
  });
});
