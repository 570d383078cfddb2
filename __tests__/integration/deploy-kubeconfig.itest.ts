// Credentials for the deploy stage on the real API server (src/kube): the kubeconfig input (plain and
// base64) masked before any connection is made, written 0600 and removed at close; KUBECONFIG as
// fallback, with a token from an exec plugin masked before the request that carries it; a clear error
// with none of them.
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectKube } from '../../src/kube/index.js';
import { UserError } from '../../src/util/errors.js';
import { KubeRest, resourcePath } from '../../test/standins/kube-client.ts';
import {
  connectDeploy,
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
      const cluster = await connectDeploy({
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
      connectKube({ kubeconfig: 'bm90IGEga3ViZWNvbmZpZw==', tempDir, secret: () => undefined }),
    ).rejects.toThrow(/^Input "kubeconfig" looks like base64 but does not decode to a kubeconfig/);
    expect((await readdir(tempDir)).filter((d) => d.startsWith('faas-deploy-kube-'))).toEqual([]);
  });
});

describe('without the input', () => {
  it('uses KUBECONFIG (and masks its token), writing nothing', async () => {
    const masked: string[] = [];
    const cluster = await connectDeploy({
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
    const error = await connectKube({ kubeconfig: '', tempDir, secret: () => undefined, env: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^No cluster credentials: set input "kubeconfig"/);
  });
});

describe('an exec plugin', () => {
  it('hands out the token at request time: masked before the request that carries it', async () => {
    // A credential plugin as cloud kubeconfigs use them (client.authentication.k8s.io ExecCredential);
    // the token is nowhere in the kubeconfig file.
    const plugin = path.join(tempDir, 'credential-plugin.sh');
    await writeFile(
      plugin,
      `#!/bin/sh\nprintf '%s' '${JSON.stringify({
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        status: { token },
      })}'\n`,
    );
    await chmod(plugin, 0o700);
    const doc = load(editKubeconfig(deployerKubeconfig, { server: proxy.url })) as {
      users: Array<{ user: Record<string, unknown> }>;
    };
    for (const u of doc.users) {
      u.user = {
        exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' },
      };
    }
    const file = path.join(tempDir, 'exec-kubeconfig');
    await writeFile(file, JSON.stringify(doc), { mode: 0o600 });
    const masked: Array<{ value: string; connectionsSoFar: number }> = [];
    const before = proxy.connections;
    const kube = await connectKube({
      kubeconfig: '',
      tempDir,
      secret: (value) => masked.push({ value, connectionsSoFar: proxy.connections - before }),
      env: { KUBECONFIG: file },
    });
    try {
      expect(masked.map((m) => m.value)).not.toContain(token);
      const res = await kube.http.request({
        method: 'GET',
        path: `/apis/serving.knative.dev/v1/namespaces/${ns}/services?limit=1`,
        idempotent: true,
      });
      expect(res.status).toBe(200);
      expect(masked).toContainEqual({ value: token, connectionsSoFar: 0 });
    } finally {
      await kube.close();
    }
  });
});
