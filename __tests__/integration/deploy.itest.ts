// The deploy stage against the real kube-apiserver and the Knative Serving stand-in, run entirely as
// the least-privilege deployer identity (a ServiceAccount token bound to docs/rbac.yaml and nothing
// else). The admin identity only looks (Revisions, traffic) and cleans up.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeRest, resourcePath, type KubeObject } from '../../test/standins/kube-client.ts';
import type { Cluster, DeployResult } from '../../src/deploy/index.js';
import {
  blackhole,
  connectDeploy,
  functionSpec,
  need,
  pushImage,
  slowRegistry,
  suffix,
} from './deploy-helpers.js';

const env = inject('testEnv');
const ns = need(env, 'KUBE_NAMESPACE');
const registry = need(env, 'REGISTRY');
const deployerKubeconfig = readFileSync(need(env, 'KUBECONFIG_DEPLOYER'), 'utf8');
const admin = KubeRest.fromFile(need(env, 'KUBECONFIG_ADMIN'));
const run = suffix();
const repo = `faas-deploy-it/${run}`;

let tempDir: string;
let cluster: Cluster;
const secrets: string[] = [];
const servicesMade = new Set<string>();

type Svc = KubeObject & {
  metadata: KubeObject['metadata'] & { managedFields?: Array<{ manager?: string; operation?: string }> };
  status?: { traffic?: Array<{ revisionName?: string; percent?: number }>; latestReadyRevisionName?: string };
};
const knative = (plural: string, name?: string): string =>
  resourcePath('serving.knative.dev', 'v1', ns, plural, name);

/** The Service as the admin sees it; undefined when absent. */
async function readService(name: string): Promise<Svc | undefined> {
  return await admin.get<Svc>(knative('services', name));
}

async function revisionsOf(name: string): Promise<string[]> {
  const list = await admin.call<{ items: KubeObject[] }>(
    'GET',
    `${knative('revisions')}?labelSelector=${encodeURIComponent(`serving.knative.dev/service=${name}`)}`,
  );
  return list.items.map((r) => r.metadata.name).sort();
}

async function deploy(
  name: string,
  image: string,
  extra: Partial<Parameters<Cluster['deployFunction']>[0]> = {},
  fn = name,
): Promise<DeployResult> {
  servicesMade.add(name);
  return await cluster.deployFunction({
    spec: functionSpec(fn),
    service: name,
    image,
    commit: 'c0ffee',
    runUrl: 'https://github.example/o/r/actions/runs/1',
    waitTimeoutSeconds: 60,
    ...extra,
  });
}

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(tmpdir(), 'faas-deploy-it-'));
  cluster = await connectDeploy({
    kubeconfig: deployerKubeconfig,
    namespace: ns,
    tempDir,
    secret: (v) => secrets.push(v),
    ingressAddress: '203.0.113.7',
  });
});

afterAll(async () => {
  await cluster.close();
  await rm(tempDir, { recursive: true, force: true });
  for (const name of servicesMade) {
    await admin.delete(knative('services', name)).catch(() => undefined);
  }
});

describe('deployFunction with the least-privilege identity', () => {
  it('runs as the deployer ServiceAccount, not the admin', () => {
    expect(cluster.user).toBe(`system:serviceaccount:${ns}:${need(env, 'KUBE_DEPLOYER_SA')}`);
  });

  it('creates a Service and waits until it is Ready: URL, revision, address, Host-header form', async () => {
    const name = `it-create-${run}`;
    const image = await pushImage(registry, repo, 'create');
    const result = await deploy(name, image);
    expect(result).toMatchObject({
      status: 'ready',
      service: name,
      url: `http://${name}.${ns}.example.com`,
      revision: `${name}-00001`,
      address: `http://${name}.${ns}.svc.cluster.local`,
      ingress: { address: '203.0.113.7', host: `${name}.${ns}.example.com` },
      generation: 1,
    });
    const live = await readService(name);
    expect(live?.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'faas-deploy',
      'faas-deploy.dev/function': name,
    });
    expect(live?.metadata.annotations).toMatchObject({ 'faas-deploy.dev/commit': 'c0ffee' });
    expect(live?.metadata.managedFields?.map((m) => `${m.manager}/${m.operation}`)).toContain(
      'faas-deploy/Apply',
    );
  });

  it('an update to a new image waits for the new generation, not the Ready of the old one', async () => {
    const name = `it-update-${run}`;
    const one = await deploy(name, await pushImage(registry, repo, 'update-1'));
    expect(one).toMatchObject({ status: 'ready', revision: `${name}-00001`, generation: 1 });
    // The old generation is Ready=True when the apply returns: a waiter that trusted it would stop now.
    const image2 = await pushImage(registry, repo, 'update-2');
    const two = await deploy(name, image2);
    expect(two).toMatchObject({ status: 'ready', revision: `${name}-00002`, generation: 2 });
    const live = await readService(name);
    expect(live?.status?.traffic).toEqual([
      { latestRevision: true, percent: 100, revisionName: `${name}-00002` },
    ]);
    expect(await revisionsOf(name)).toEqual([`${name}-00001`, `${name}-00002`]);
  });

  it('re-applying the same Service makes no new generation and no new revision', async () => {
    const name = `it-noop-${run}`;
    const image = await pushImage(registry, repo, 'noop');
    const one = await deploy(name, image);
    // Another commit and run URL are annotations only: no spec change, no new generation.
    const again = await deploy(name, image, {
      commit: 'beef',
      runUrl: 'https://github.example/o/r/actions/runs/2',
    });
    expect(again).toMatchObject({ status: 'ready', generation: 1, revision: `${name}-00001` });
    expect(one.status).toBe('ready');
    // Already settled for this generation: no waiting at all.
    expect(again.status === 'ready' ? again.timing.waitMs : Infinity).toBeLessThan(1000);
    expect(await revisionsOf(name)).toEqual([`${name}-00001`]);
    expect((await readService(name))?.metadata.annotations?.['faas-deploy.dev/commit']).toBe('beef');
  });

  it('a first deploy whose image is missing fails with the ContainerMissing message', async () => {
    const name = `it-missing-${run}`;
    const image = `${registry}/${repo}/nothing@sha256:${'0'.repeat(64)}`;
    const result = await deploy(name, image);
    expect(result.status).toBe('failed');
    if (result.status !== 'failed') return;
    expect(result.condition).toMatchObject({ status: 'False', reason: 'RevisionMissing' });
    expect(result.revision).toMatchObject({
      name: `${name}-00001`,
      condition: { reason: 'ContainerMissing' },
    });
    expect(result.reason).toContain(
      `RevisionMissing: Configuration "${name}" does not have any ready Revision.`,
    );
    expect(result.reason).toContain(
      `Revision "${name}-00001" ContainerMissing: Unable to fetch image "${image}": failed to resolve image to digest: ` +
        `HEAD http://${registry}/v2/${repo}/nothing/manifests/sha256:${'0'.repeat(64)}: unexpected status code 404 Not Found`,
    );
    expect(result.previousRevisionServing).toBeUndefined();
    expect(result.url).toBe(`http://${name}.${ns}.example.com`);
  });

  it('a failed update reports RevisionFailed and that the previous revision still serves', async () => {
    const name = `it-failupd-${run}`;
    expect(await deploy(name, await pushImage(registry, repo, 'failupd'))).toMatchObject({ status: 'ready' });
    const bad = `${registry}/${repo}/gone@sha256:${'1'.repeat(64)}`;
    const result = await deploy(name, bad);
    expect(result.status).toBe('failed');
    if (result.status !== 'failed') return;
    expect(result.generation).toBe(2);
    expect(result.condition).toMatchObject({ status: 'False', reason: 'RevisionFailed' });
    expect(result.reason).toMatch(
      new RegExp(
        `^RevisionFailed: Revision "${name}-00002" failed with message: Unable to fetch image "${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`,
      ),
    );
    expect(result.previousRevisionServing).toBe(`${name}-00001`);
    expect(result.reason).toContain(`the previous revision ${name}-00001 still serves the traffic`);
    // And it really does: the route kept 100 % on 00001.
    const live = await readService(name);
    expect(live?.status?.traffic).toEqual([
      { latestRevision: true, percent: 100, revisionName: `${name}-00001` },
    ]);
  });

  it('gives up after wait-timeout with the condition Knative was still in', async () => {
    const hole = await blackhole();
    try {
      const name = `it-timeout-${run}`;
      const image = `127.0.0.1:${hole.port}/${repo}@sha256:${'2'.repeat(64)}`;
      const started = Date.now();
      const result = await deploy(name, image, { waitTimeoutSeconds: 3 });
      const took = Date.now() - started;
      expect(result).toMatchObject({ status: 'failed', timedOut: true });
      if (result.status !== 'failed') return;
      expect(result.reason).toMatch(/^Not Ready after wait-timeout 3s: Ready=Unknown /);
      expect(took).toBeGreaterThanOrEqual(3000);
      expect(took).toBeLessThan(8000);
    } finally {
      hole.close();
    }
  });

  it('a cluster-local function gets the cluster-internal URL and no Host-header form', async () => {
    const name = `it-local-${run}`;
    servicesMade.add(name);
    const result = await cluster.deployFunction({
      spec: functionSpec(name, { visibility: 'cluster-local' }),
      service: name,
      image: await pushImage(registry, repo, 'local'),
      waitTimeoutSeconds: 60,
    });
    expect(result).toMatchObject({ status: 'ready', url: `http://${name}.${ns}.svc.cluster.local` });
    expect(result.status === 'ready' && result.ingress).toBeUndefined();
    expect((await readService(name))?.metadata.labels?.['networking.knative.dev/visibility']).toBe(
      'cluster-local',
    );
  });

  it('keeps waiting across watch streams that end mid-wait (server timeoutSeconds=1)', async () => {
    const slow = await slowRegistry(registry, 3500);
    const dropping = await connectDeploy({
      kubeconfig: deployerKubeconfig,
      namespace: ns,
      tempDir,
      secret: () => undefined,
      watchTimeoutSeconds: 1,
    });
    try {
      const name = `it-drop-${run}`;
      servicesMade.add(name);
      const image = (await pushImage(registry, repo, 'drop')).replace(registry, slow.host);
      const result = await dropping.deployFunction({
        spec: functionSpec(name),
        service: name,
        image,
        waitTimeoutSeconds: 60,
      });
      expect(result).toMatchObject({ status: 'ready', revision: `${name}-00001` });
      // The stream ended at least twice during the 3.5 s resolution and was resumed, not re-listed.
      expect(dropping.watchStats.resumes).toBeGreaterThanOrEqual(2);
      expect(dropping.watchStats.lists).toBe(1);
    } finally {
      await dropping.close();
      slow.close();
    }
  });
});

describe('previews and cleanup with the least-privilege identity', () => {
  const pr = 4000 + Math.floor(Math.random() * 5000);

  it('creates previews <fn>-pr-<N> labelled with the PR and deletes exactly those on close; a second close is a no-op', async () => {
    const image = await pushImage(registry, repo, 'preview');
    const a = `pa-${run}`;
    const b = `pb-${run}`;
    for (const fn of [a, b]) {
      const r = await deploy(`${fn}-pr-${pr}`, image, { pullRequest: pr }, fn);
      expect(r).toMatchObject({ status: 'ready', url: `http://${fn}-pr-${pr}.${ns}.example.com` });
    }
    // Another PR's preview and a production Service of the same function must survive.
    expect(await deploy(`${a}-pr-${pr + 1}`, image, { pullRequest: pr + 1 }, a)).toMatchObject({
      status: 'ready',
    });
    expect(await deploy(a, image)).toMatchObject({ status: 'ready' });
    expect((await readService(`${a}-pr-${pr}`))?.metadata.labels?.['faas-deploy.dev/pr']).toBe(String(pr));

    expect(await cluster.deletePreviews(pr)).toEqual([`${a}-pr-${pr}`, `${b}-pr-${pr}`].sort());
    expect(await cluster.deletePreviews(pr)).toEqual([]);
    expect(await readService(`${a}-pr-${pr}`)).toBeUndefined();
    expect((await readService(`${a}-pr-${pr + 1}`))?.metadata.name).toBe(`${a}-pr-${pr + 1}`);
    expect((await readService(a))?.metadata.name).toBe(a);
    expect(await cluster.deletePreviews(pr + 1)).toEqual([`${a}-pr-${pr + 1}`]);
  });

  it('deletes the Service of a function a push removed; again is a no-op; never one it does not manage', async () => {
    const name = `it-removed-${run}`;
    expect(await deploy(name, await pushImage(registry, repo, 'removed'))).toMatchObject({ status: 'ready' });
    expect(await cluster.deleteService(name)).toEqual({ service: name, deleted: true });
    expect(await cluster.deleteService(name)).toEqual({ service: name, deleted: false, reason: 'absent' });
    expect(await readService(name)).toBeUndefined();

    // A Service someone else created under a function's name is left alone.
    const foreign = `it-foreign-${run}`;
    servicesMade.add(foreign);
    await admin.call('POST', knative('services'), {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: foreign, namespace: ns, labels: { 'faas-deploy.dev/function': foreign } },
      spec: { template: { spec: { containers: [{ image: `${registry}/x@sha256:${'3'.repeat(64)}` }] } } },
    });
    const refused = await cluster.deleteService(foreign);
    expect(refused).toMatchObject({
      deleted: false,
      reason: expect.stringMatching(/not labelled as a Service of repository octo-org\/functions/) as unknown,
    });
    expect((await readService(foreign))?.metadata.name).toBe(foreign);
  });
});
