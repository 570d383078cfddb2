// The deploy stage when things go wrong, on the real API server: refusals by RBAC, a cluster without
// Knative Serving, fields owned by other managers, connections that break, a watch whose
// resourceVersion is gone, and the ingress address read from a LoadBalancer Service.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { KnativeNotInstalledError, type Cluster } from '../../src/deploy/index.js';
import { KNATIVE_SERVICES } from '../../src/deploy/knative-api.js';
import type { LiveService } from '../../src/deploy/knative-status.js';
import { connectKube, ForbiddenError, KubeResources } from '../../src/kube/index.js';
import { KubeRest, resourcePath, sleep, type KubeObject } from '../../test/standins/kube-client.ts';
import {
  connectDeploy,
  editKubeconfig,
  functionSpec,
  need,
  pushImage,
  slowRegistry,
  suffix,
  tcpProxy,
} from './deploy-helpers.js';

const env = inject('testEnv');
const ns = need(env, 'KUBE_NAMESPACE');
const registry = need(env, 'REGISTRY');
const apiUrl = need(env, 'KUBE_API_URL');
const adminFile = need(env, 'KUBECONFIG_ADMIN');
const deployerKubeconfig = readFileSync(need(env, 'KUBECONFIG_DEPLOYER'), 'utf8');
const admin = KubeRest.fromFile(adminFile);
const run = suffix();
const repo = `faas-deploy-it/${run}`;
const made: string[] = [];
let tempDir: string;

const knative = (plural: string, name?: string): string =>
  resourcePath('serving.knative.dev', 'v1', ns, plural, name);

async function connect(
  kubeconfig: string,
  extra: Partial<Parameters<typeof connectDeploy>[0]> = {},
): Promise<Cluster> {
  return await connectDeploy({ kubeconfig, namespace: ns, tempDir, ...extra });
}

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(tmpdir(), 'faas-deploy-it-'));
});

afterAll(async () => {
  for (const p of made.reverse()) await admin.delete(p).catch(() => undefined);
  await rm(tempDir, { recursive: true, force: true });
});

/**
 * A ServiceAccount bound to the faas-deploy Role of docs/rbac.yaml with some verbs taken away, and a
 * kubeconfig with its token: the least-privilege identity, one permission short.
 */
async function identityWithout(verbs: string[]): Promise<string> {
  const name = `faas-deploy-no-${verbs.join('-')}-${run}`;
  const docs = loadAll(
    readFileSync(new URL('../../docs/rbac.yaml', import.meta.url), 'utf8'),
  ) as KubeObject[];
  const role = docs.find((d) => d.kind === 'Role' && d.metadata.name === 'faas-deploy');
  if (!role) throw new Error('docs/rbac.yaml has no Role faas-deploy');
  const rules = (role['rules'] as Array<{ verbs: string[] }>).map((r) => ({
    ...r,
    verbs: r.verbs.filter((v) => !verbs.includes(v)),
  }));
  const rbac = (plural: string): string => resourcePath('rbac.authorization.k8s.io', 'v1', ns, plural, name);
  const sa = resourcePath('', 'v1', ns, 'serviceaccounts', name);
  await admin.apply(
    sa,
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } },
    'faas-deploy-it',
  );
  await admin.apply(
    rbac('roles'),
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: ns }, rules },
    'faas-deploy-it',
  );
  await admin.apply(
    rbac('rolebindings'),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
    },
    'faas-deploy-it',
  );
  made.push(sa, rbac('roles'), rbac('rolebindings'));
  const token = await admin.call<{ status: { token: string } }>('POST', `${sa}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  const kubeconfig = editKubeconfig(deployerKubeconfig, {
    token: token.status.token,
    user: `system:serviceaccount:${ns}:${name}`,
  });
  // The authorizer's cache follows the new binding within moments; wait until the Role applies.
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  const probe = new KubeRest(kc);
  for (let i = 0; i < 100; i++) {
    if ((await probe.request('GET', `${knative('revisions')}/none`)).status === 404) break;
    await sleep(100);
  }
  return kubeconfig;
}

describe('403 with the least-privilege identity', () => {
  it('outside its namespace: names the verb, resource, namespace and docs/rbac.yaml', async () => {
    const cluster = await connectDeploy({
      kubeconfig: deployerKubeconfig,
      namespace: 'default',
      tempDir,
      secret: () => undefined,
    });
    try {
      const error = await cluster
        .deployFunction({
          spec: functionSpec('outside'),
          service: `outside-${run}`,
          image: await pushImage(registry, repo, 'outside'),
          waitTimeoutSeconds: 10,
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(ForbiddenError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^Kubernetes refused to patch services\\.serving\\.knative\\.dev in namespace "default" for system:serviceaccount:${ns}:faas-deploy \\(403 Forbidden\\)\\. The identity in the kubeconfig needs the Role in docs/rbac\\.yaml`,
        ),
      );
    } finally {
      await cluster.close();
    }
  });

  it('a Role without delete: the deploy works, the cleanup is refused naming delete', async () => {
    const cluster = await connect(await identityWithout(['delete']));
    try {
      const name = `it-nodelete-${run}`;
      made.push(knative('services', name));
      const ok = await cluster.deployFunction({
        spec: functionSpec(name),
        service: name,
        image: await pushImage(registry, repo, 'nodelete'),
        pullRequest: 77,
        waitTimeoutSeconds: 60,
      });
      expect(ok).toMatchObject({ status: 'ready' });
      for (const attempt of [
        () => cluster.deleteService(name, { kind: 'preview', pullRequest: 77 }),
        () => cluster.deletePreviews(77),
      ]) {
        const error = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(ForbiddenError);
        expect(error).toMatchObject({
          verb: 'delete',
          resource: 'services.serving.knative.dev',
          namespace: ns,
        });
        expect((error as Error).message).toContain('docs/rbac.yaml');
      }
    } finally {
      await cluster.close();
    }
  });

  it('a Role without watch: waiting is refused naming watch', async () => {
    const cluster = await connect(await identityWithout(['watch']));
    try {
      const name = `it-nowatch-${run}`;
      made.push(knative('services', name));
      const error = await cluster
        .deployFunction({
          spec: functionSpec(name),
          service: name,
          image: await pushImage(registry, repo, 'nowatch'),
          waitTimeoutSeconds: 30,
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(ForbiddenError);
      expect((error as Error).message).toMatch(
        new RegExp(`^Kubernetes refused to watch services\\.serving\\.knative\\.dev in namespace "${ns}"`),
      );
    } finally {
      await cluster.close();
    }
  });
});

/**
 * A second kube-apiserver on the same etcd under another key prefix: a real, empty cluster without
 * the Knative CRDs. (Deleting the CRDs from the shared test cluster would delete every Knative Service
 * in it, other tests' included.) Same binary and flags as the running one, read from its command line.
 */
async function apiserverWithoutKnative(): Promise<{
  url: string;
  adminKubeconfig: string;
  stop: () => void;
}> {
  const kubeDir = path.dirname(adminFile);
  const pid = readFileSync(path.join(kubeDir, 'kube-apiserver.pid'), 'utf8').trim();
  const [binary, ...args] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  if (!binary) throw new Error('cannot read the running kube-apiserver command line');
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => {
        resolve(p);
      });
    });
  });
  const flags: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const key = arg.split('=')[0] ?? '';
    const inline = arg.includes('=');
    if (key === '--secure-port' || key === '--cert-dir' || key === '--etcd-prefix') {
      if (!inline) i++;
      continue;
    }
    flags.push(arg);
  }
  flags.push(
    `--secure-port=${port}`,
    `--cert-dir=${path.join(tempDir, 'apiserver2-certs')}`,
    '--etcd-prefix=/faas-no-knative',
  );
  const log = openSync(path.join(tempDir, 'apiserver2.log'), 'a');
  const child: ChildProcess = spawn(binary, flags, { stdio: ['ignore', log, log] });
  closeSync(log);
  const url = `https://127.0.0.1:${port}`;
  const adminKubeconfig = editKubeconfig(readFileSync(adminFile, 'utf8'), { server: url });
  const kc = new KubeConfig();
  kc.loadFromString(adminKubeconfig);
  const rest = new KubeRest(kc);
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`second kube-apiserver exited ${child.exitCode}; see ${tempDir}/apiserver2.log`);
    const ok = await rest.request('GET', '/readyz').then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error('second kube-apiserver not ready after 120 s');
    await sleep(250);
  }
  return {
    url,
    adminKubeconfig,
    stop: () => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    },
  };
}

describe('a cluster without Knative Serving', () => {
  it('says Knative Serving is not installed, for deploy, delete and cleanup', async () => {
    const server = await apiserverWithoutKnative();
    const cluster = await connectDeploy({
      kubeconfig: server.adminKubeconfig,
      namespace: ns,
      tempDir,
      secret: () => undefined,
    });
    try {
      const attempts: Array<() => Promise<unknown>> = [
        () =>
          cluster.deployFunction({
            spec: functionSpec('hello'),
            service: 'hello',
            image: `${registry}/x@sha256:${'4'.repeat(64)}`,
            waitTimeoutSeconds: 10,
          }),
        () => cluster.deleteService('hello'),
        () => cluster.deletePreviews(1),
      ];
      for (const attempt of attempts) {
        const error = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(KnativeNotInstalledError);
        expect((error as Error).message).toBe(
          `Knative Serving is not installed in the cluster at ${server.url}: the API server does not know the ` +
            'serving.knative.dev/v1 services resource (404). Install Knative Serving (see docs/cluster-setup.md) or ' +
            'point the kubeconfig at a cluster that has it.',
        );
      }
    } finally {
      await cluster.close();
      server.stop();
    }
  });
});

describe('fields owned by another field manager', () => {
  let cluster: Cluster;
  const warnings: string[] = [];
  beforeAll(async () => {
    cluster = await connect(deployerKubeconfig, { warn: (m) => warnings.push(m) });
  });
  afterAll(async () => {
    await cluster.close();
  });

  const containers = (image: string) => ({
    spec: { template: { spec: { containers: [{ name: 'function', image }] } } },
  });
  const imageOf = async (name: string): Promise<string | undefined> =>
    (
      await admin.get<
        KubeObject & { spec: { template: { spec: { containers: Array<{ image: string }> } } } }
      >(knative('services', name))
    )?.spec.template.spec.containers[0]?.image;

  it('takes back what someone changed imperatively (kubectl edit), with a warning naming them', async () => {
    const name = `it-drift-${run}`;
    made.push(knative('services', name));
    const image = await pushImage(registry, repo, 'drift');
    const deploy = () =>
      cluster.deployFunction({ spec: functionSpec(name), service: name, image, waitTimeoutSeconds: 60 });
    expect(await deploy()).toMatchObject({ status: 'ready', generation: 1 });
    const edited = await pushImage(registry, repo, 'drift-edited');
    await admin.call(
      'PATCH',
      `${knative('services', name)}?fieldManager=kubectl-edit`,
      containers(edited),
      'application/merge-patch+json',
    );
    expect(await imageOf(name)).toBe(edited);
    warnings.length = 0;
    const result = await deploy();
    // Generation 3 (ours again after the edit's 2); its template equals generation 1's, so Knative may
    // route to the revision it already has for it.
    expect(result).toMatchObject({ status: 'ready', generation: 3 });
    expect(await imageOf(name)).toBe(image);
    expect(warnings.join('\n')).toMatch(
      new RegExp(
        `Service "${name}": taking back .*spec\\.template\\.spec\\.containers.* from "kubectl-edit"`,
      ),
    );
  });

  it('refuses fields another declarative tool applies (server-side apply), naming it', async () => {
    const name = `it-owned-${run}`;
    made.push(knative('services', name));
    const image = await pushImage(registry, repo, 'owned');
    const deploy = () =>
      cluster.deployFunction({ spec: functionSpec(name), service: name, image, waitTimeoutSeconds: 60 });
    expect(await deploy()).toMatchObject({ status: 'ready' });
    const theirs = await pushImage(registry, repo, 'owned-theirs');
    await admin.apply(
      knative('services', name),
      {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name, namespace: ns },
        ...containers(theirs),
      },
      'argocd-controller',
    );
    const result = await deploy();
    expect(result.status).toBe('failed');
    expect(result.status === 'failed' && result.reason).toMatch(
      new RegExp(
        `^Service "${name}" is also managed declaratively by "argocd-controller" \\(server-side apply\\), which owns fields faas-deploy sets with other values: \\.spec\\.template\\.spec\\.containers`,
      ),
    );
    expect(await imageOf(name)).toBe(theirs);
  });
});

describe('broken connections', () => {
  it('retries the apply through connection resets and resumes a watch whose connection was closed mid-wait', async () => {
    const proxy = await tcpProxy(apiUrl);
    const slow = await slowRegistry(registry, 3000);
    const debug: string[] = [];
    const cluster = await connect(editKubeconfig(deployerKubeconfig, { server: proxy.url }), {
      retry: { baseDelayMs: 50, maxDelayMs: 200 },
      debug: (m) => debug.push(`${new Date().toISOString()} ${m}`),
    });
    try {
      const name = `it-reset-${run}`;
      made.push(knative('services', name));
      proxy.resetNext(2);
      const image = (await pushImage(registry, repo, 'reset')).replace(registry, slow.host);
      const pending = cluster.deployFunction({
        spec: functionSpec(name),
        service: name,
        image,
        waitTimeoutSeconds: 60,
      });
      // Digest resolution takes 3 s; break every connection, the watch included, in the middle of it.
      await sleep(1500);
      const dropped = proxy.dropAll();
      const result = await pending;
      if (result.status !== 'ready') {
        throw new Error(
          `not ready: ${JSON.stringify({ result, stats: cluster.watchStats, dropped, debug })}`,
        );
      }
      expect(result).toMatchObject({ status: 'ready', revision: `${name}-00001` });
      expect(cluster.retries).toBeGreaterThanOrEqual(2);
      expect(dropped).toBeGreaterThanOrEqual(1);
      expect(cluster.watchStats.resumes).toBeGreaterThanOrEqual(1);
      expect(cluster.watchStats.lists).toBe(1);
    } finally {
      await cluster.close();
      slow.close();
      proxy.close();
    }
  });

  it('lists again when the server answers 410 Gone for a resourceVersion it no longer has', async () => {
    const kube = await connectKube({ kubeconfig: deployerKubeconfig, tempDir, secret: () => undefined });
    const cluster = await connect(deployerKubeconfig);
    const name = `it-gone-${run}`;
    made.push(knative('services', name));
    expect(
      await cluster.deployFunction({
        spec: functionSpec(name),
        service: name,
        image: await pushImage(registry, repo, 'gone'),
        waitTimeoutSeconds: 60,
      }),
    ).toMatchObject({ status: 'ready' });
    await cluster.close();
    // resourceVersion 1 is far older than the API server's watch cache: it answers 410 Gone.
    const watcher = new KubeResources(kube.http, ns).watch<LiveService>(
      KNATIVE_SERVICES,
      { labelSelector: 'app.kubernetes.io/managed-by=faas-deploy' },
      { startResourceVersion: '1' },
    );
    try {
      const svc = await watcher.waitFor(name, (s) => s?.metadata.name === name, AbortSignal.timeout(30_000));
      expect(svc?.metadata.name).toBe(name);
      expect(watcher.stats.gone).toBe(1);
      expect(watcher.stats.lists).toBe(1);
    } finally {
      await watcher.stop();
      await kube.close();
    }
  });
});

describe('ingress address from the gateway Service (input ingress-service)', () => {
  it('reads status.loadBalancer.ingress of the named Service with the Role faas-deploy-ingress', async () => {
    // docs/rbac.yaml grants get on services/kourier in the gateway's namespace (faas-test here).
    const gateway = resourcePath('', 'v1', ns, 'services', 'kourier');
    await admin.apply(
      gateway,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kourier', namespace: ns },
        spec: { type: 'LoadBalancer', ports: [{ name: 'http2', port: 80, targetPort: 8080 }] },
      },
      'faas-deploy-it',
    );
    made.push(gateway);
    const live = await admin.call('GET', gateway);
    await admin.call('PUT', `${gateway}/status`, {
      ...live,
      status: { loadBalancer: { ingress: [{ ip: '198.51.100.20' }] } },
    });

    const cluster = await connect(deployerKubeconfig, { ingressService: `${ns}/kourier` });
    try {
      expect(await cluster.ingressAddress()).toBe('198.51.100.20');
      const name = `it-ingress-${run}`;
      made.push(knative('services', name));
      const result = await cluster.deployFunction({
        spec: functionSpec(name),
        service: name,
        image: await pushImage(registry, repo, 'ingress'),
        waitTimeoutSeconds: 60,
      });
      expect(result).toMatchObject({
        status: 'ready',
        ingress: { address: '198.51.100.20', host: `${name}.${ns}.example.com` },
      });
    } finally {
      await cluster.close();
    }
    // Any other Service in that namespace stays out of reach: the deployment still succeeds, the
    // curl examples lose the ingress form, and a warning names the refusal and the two ways out.
    const warnings: string[] = [];
    const other = await connect(deployerKubeconfig, {
      ingressService: `${ns}/istio-ingressgateway`,
      warn: (message: string) => warnings.push(message),
    });
    try {
      const name = `it-noingress-${run}`;
      made.push(knative('services', name));
      const result = await other.deployFunction({
        spec: functionSpec(name),
        service: name,
        image: await pushImage(registry, repo, 'noingress'),
        waitTimeoutSeconds: 60,
      });
      expect(result).toMatchObject({ status: 'ready', service: name });
      expect(result).not.toHaveProperty('ingress');
      expect(await other.ingressAddress()).toBeUndefined();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        new RegExp(
          `^Cannot read the ingress address from Service ${ns}/istio-ingressgateway \\(input ingress-service\\): Kubernetes refused to get services in namespace "${ns}".* set input ingress-address instead, or bind the Role faas-deploy-ingress`,
        ),
      );
    } finally {
      await other.close();
    }
  });
});
