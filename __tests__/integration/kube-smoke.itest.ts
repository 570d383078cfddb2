// Smoke tests of the Kubernetes half of the test environment (scripts/test-env/kube.sh): the real
// kube-apiserver with the Knative/Tekton CRDs, the least-privilege deployer identity of docs/rbac.yaml,
// and the Knative Serving and Tekton controller STAND-INS (test/standins/).
import { randomBytes } from 'node:crypto';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  V1ObjectMeta,
  V1Pod,
  Watch,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, inject, it } from 'vitest';

const env = inject('testEnv');

function need(key: string): string {
  const v = env[key];
  if (!v) throw new Error(`${key} is missing from the test environment (scripts/test-env/test-env env)`);
  return v;
}

/** client-node's models are classes; build metadata as one. */
function meta(fields: Partial<V1ObjectMeta>): V1ObjectMeta {
  return Object.assign(new V1ObjectMeta(), fields);
}

function kubeConfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

const ns = need('KUBE_NAMESPACE');
const admin = kubeConfig(need('KUBECONFIG_ADMIN'));
const deployer = kubeConfig(need('KUBECONFIG_DEPLOYER'));
const adminObjects = KubernetesObjectApi.makeApiClient(admin);
const suffix = randomBytes(3).toString('hex');
const created: KubernetesObject[] = [];

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
type KService = KubernetesObject & {
  metadata: { generation?: number };
  status?: {
    observedGeneration?: number;
    conditions?: Cond[];
    url?: string;
    address?: { url: string };
    latestCreatedRevisionName?: string;
    latestReadyRevisionName?: string;
    traffic?: Array<{ revisionName?: string; percent?: number; latestRevision?: boolean }>;
  };
};
type TaskRun = KubernetesObject & {
  status?: {
    podName?: string;
    conditions?: Cond[];
    results?: Array<{ name: string; type: string; value: string }>;
    steps?: Array<{ name: string; container: string; terminated?: { exitCode: number; reason: string } }>;
  };
};

const cond = (o: { status?: { conditions?: Cond[] } }, type: string): Cond | undefined =>
  o.status?.conditions?.find((c) => c.type === type);

/** Watches one object until the predicate holds (re-watching when the stream ends), or fails after timeoutMs. */
async function watchUntil<T extends KubernetesObject>(
  kc: KubeConfig,
  collectionPath: string,
  name: string,
  predicate: (o: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const watch = new Watch(kc);
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    const found = await new Promise<T | undefined>((resolve) => {
      let controller: AbortController | undefined;
      const timer = setTimeout(() => controller?.abort(), Math.max(1, deadline - Date.now()));
      void watch
        .watch(
          collectionPath,
          { fieldSelector: `metadata.name=${name}` },
          (_type: string, obj: T) => {
            last = obj;
            if (predicate(obj)) {
              clearTimeout(timer);
              controller?.abort();
              resolve(obj);
            }
          },
          () => {
            clearTimeout(timer);
            resolve(undefined);
          },
        )
        .then((c) => {
          controller = c;
        });
    });
    if (found) return found;
  }
  throw new Error(
    `${collectionPath}/${name}: condition not reached in ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`,
  );
}

function knativeService(name: string, image: string, extraEnv = 'one'): KService {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: meta({ name, namespace: ns, labels: { 'app.kubernetes.io/managed-by': 'faas-deploy-test' } }),
    spec: {
      template: {
        spec: {
          containers: [
            { image, env: [{ name: 'SMOKE', value: extraEnv }], ports: [{ containerPort: 8080 }] },
          ],
        },
      },
    } as unknown,
  } as KService;
}

async function apply<T extends KubernetesObject>(api: KubernetesObjectApi, obj: T): Promise<T> {
  const out = await api.patch(
    obj,
    undefined,
    undefined,
    'faas-deploy-test',
    true,
    PatchStrategy.ServerSideApply,
  );
  if (!created.some((c) => c.kind === obj.kind && c.metadata?.name === obj.metadata?.name)) created.push(obj);
  return out;
}

const servicesPath = `/apis/serving.knative.dev/v1/namespaces/${ns}/services`;
const taskRunsPath = `/apis/tekton.dev/v1/namespaces/${ns}/taskruns`;
const settled = (gen: number) => (s: KService) =>
  (s.status?.observedGeneration ?? 0) >= gen && (cond(s, 'Ready')?.status ?? 'Unknown') !== 'Unknown';

afterAll(async () => {
  for (const obj of created.reverse()) {
    await adminObjects.delete(obj).catch(() => undefined);
  }
});

describe('Knative Serving stand-in on the real API server', () => {
  it('a Service with an image the registry has becomes Ready with a URL; an update makes revision 00002', async () => {
    const image = need('IMAGE_RUNTIME');
    const name = `smoke-${suffix}`;
    const applied = await apply(adminObjects, knativeService(name, image));
    const gen1 = applied.metadata.generation ?? 0;
    expect(gen1).toBe(1);
    const ready = await watchUntil<KService>(admin, servicesPath, name, settled(gen1), 60_000);
    expect(cond(ready, 'Ready')).toMatchObject({ status: 'True' });
    expect(ready.status?.observedGeneration).toBe(1);
    expect(ready.status?.url).toBe(`http://${name}.${ns}.example.com`);
    expect(ready.status?.address?.url).toBe(`http://${name}.${ns}.svc.cluster.local`);
    expect(ready.status?.latestReadyRevisionName).toBe(`${name}-00001`);
    expect(ready.status?.traffic).toEqual([
      { latestRevision: true, percent: 100, revisionName: `${name}-00001` },
    ]);
    expect(ready.status?.conditions?.map((c) => c.type)).toEqual([
      'ConfigurationsReady',
      'Ready',
      'RoutesReady',
    ]);

    const rev = await adminObjects.read<
      KubernetesObject & { status?: { containerStatuses?: Array<{ imageDigest: string }> } }
    >({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Revision',
      metadata: { name: `${name}-00001`, namespace: ns },
    });
    expect(rev.metadata?.labels).toMatchObject({
      'serving.knative.dev/service': name,
      'serving.knative.dev/configuration': name,
      'serving.knative.dev/configurationGeneration': '1',
    });
    const repo = image.replace(/[:@][^/]*$/, '');
    expect(rev.status?.containerStatuses?.[0]?.imageDigest).toMatch(
      new RegExp(`^${repo.replace(/\./g, '\\.')}@sha256:[0-9a-f]{64}$`),
    );

    // A spec change bumps the generation; the status follows it to a new revision.
    const updated = await apply(adminObjects, knativeService(name, image, 'two'));
    expect(updated.metadata.generation).toBe(2);
    const ready2 = await watchUntil<KService>(admin, servicesPath, name, settled(2), 60_000);
    expect(cond(ready2, 'Ready')?.status).toBe('True');
    expect(ready2.status?.latestReadyRevisionName).toBe(`${name}-00002`);
    expect(ready2.status?.traffic?.[0]?.revisionName).toBe(`${name}-00002`);

    // The visibility label does not bump the generation but moves the URL to the cluster domain.
    const local = knativeService(name, image, 'two');
    local.metadata = meta({
      name,
      namespace: ns,
      labels: { 'networking.knative.dev/visibility': 'cluster-local' },
    });
    expect((await apply(adminObjects, local)).metadata.generation).toBe(2);
    const clusterLocal = await watchUntil<KService>(
      admin,
      servicesPath,
      name,
      (s) => s.status?.url === `http://${name}.${ns}.svc.cluster.local`,
      60_000,
    );
    expect(cond(clusterLocal, 'Ready')?.status).toBe('True');
    expect(clusterLocal.status?.latestReadyRevisionName).toBe(`${name}-00002`);
  });

  it('a Service whose image does not exist ends Ready False/RevisionMissing with the ContainerMissing message', async () => {
    const registry = need('REGISTRY');
    const name = `smoke-missing-${suffix}`;
    const image = `${registry}/faas-smoke/does-not-exist:missing`;
    await apply(adminObjects, knativeService(name, image));
    const failed = await watchUntil<KService>(admin, servicesPath, name, settled(1), 60_000);
    expect(cond(failed, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RevisionMissing',
      message: `Configuration "${name}" does not have any ready Revision.`,
    });
    const unable =
      `Unable to fetch image "${image}": failed to resolve image to digest: ` +
      `HEAD http://${registry}/v2/faas-smoke/does-not-exist/manifests/missing: unexpected status code 404 Not Found ` +
      '(HEAD responses have no body, use GET for details)';
    expect(cond(failed, 'ConfigurationsReady')).toMatchObject({
      status: 'False',
      reason: 'RevisionFailed',
      message: `Revision "${name}-00001" failed with message: ${unable}.`,
    });
    expect(failed.status?.address).toBeUndefined();
    expect(failed.status?.traffic).toBeUndefined();
    const rev = await adminObjects.read<KubernetesObject & { status?: { conditions?: Cond[] } }>({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Revision',
      metadata: { name: `${name}-00001`, namespace: ns },
    });
    expect(cond(rev, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ContainerMissing',
      message: unable,
    });
  });
});

describe('least-privilege deployer identity (docs/rbac.yaml)', () => {
  const objects = KubernetesObjectApi.makeApiClient(deployer);
  const core = deployer.makeApiClient(CoreV1Api);

  it('authenticates as the ServiceAccount token', () => {
    expect(deployer.getCurrentUser()?.token).toMatch(/^ey/);
    expect(deployer.getCurrentUser()?.name).toBe(`system:serviceaccount:${ns}:${need('KUBE_DEPLOYER_SA')}`);
  });

  it('can create and patch a Knative Service in its namespace', async () => {
    const name = `smoke-rbac-${suffix}`;
    const one = await apply(objects, knativeService(name, `${need('REGISTRY')}/faas-smoke/rbac:1`));
    expect(one.metadata.generation).toBe(1);
    const two = await apply(
      objects,
      knativeService(name, `${need('REGISTRY')}/faas-smoke/rbac:1`, 'patched'),
    );
    expect(two.metadata.generation).toBe(2);
  });

  async function status403(p: Promise<unknown>): Promise<number> {
    try {
      await p;
      return 200;
    } catch (err) {
      if (err instanceof ApiException) return err.code;
      throw err;
    }
  }

  it('is refused (403) outside its Role', async () => {
    expect(await status403(core.listNamespacedSecret({ namespace: 'kube-system' }))).toBe(403);
    expect(await status403(core.listNamespacedSecret({ namespace: ns }))).toBe(403);
    expect(await status403(core.deleteNamespace({ name: ns }))).toBe(403);
    expect(
      await status403(
        core.createNamespacedPod({
          namespace: ns,
          body: Object.assign(new V1Pod(), { metadata: meta({ name: 'x' }) }),
        }),
      ),
    ).toBe(403);
  });
});

describe('Tekton stand-in on the real API server', () => {
  const objects = KubernetesObjectApi.makeApiClient(deployer);

  function taskRun(name: string, script: string): TaskRun {
    return {
      apiVersion: 'tekton.dev/v1',
      kind: 'TaskRun',
      metadata: meta({ name, namespace: ns }),
      spec: {
        timeout: '5m',
        taskSpec: {
          results: [{ name: 'greeting', type: 'string' }],
          steps: [{ name: 'greet', image: need('IMAGE_RUNTIME'), script }],
        },
      },
    } as TaskRun;
  }
  const done = (t: TaskRun): boolean => (cond(t, 'Succeeded')?.status ?? 'Unknown') !== 'Unknown';

  it('runs the step for real and reports its result', async () => {
    const name = `smoke-tr-${suffix}`;
    await objects.create(taskRun(name, "printf '%s' hello > $(results.greeting.path)\necho greeted"));
    created.push({ apiVersion: 'tekton.dev/v1', kind: 'TaskRun', metadata: meta({ name, namespace: ns }) });
    const tr = await watchUntil<TaskRun>(deployer, taskRunsPath, name, done, 180_000);
    expect(cond(tr, 'Succeeded')).toMatchObject({
      status: 'True',
      reason: 'Succeeded',
      message: 'All Steps have completed executing',
    });
    expect(tr.status?.results).toEqual([{ name: 'greeting', type: 'string', value: 'hello' }]);
    expect(tr.status?.podName).toBe(`${name}-pod`);
    expect(tr.status?.steps?.[0]).toMatchObject({
      name: 'greet',
      container: 'step-greet',
      terminated: { exitCode: 0, reason: 'Completed' },
    });
    const logs = await deployer
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: `${name}-standin-logs`, namespace: ns });
    expect(logs.data?.['step-greet']).toBe('greeted\n');
  });

  it('a failing step ends Succeeded False/StepFailed with the exit code in the message', async () => {
    const name = `smoke-tr-fail-${suffix}`;
    await objects.create(taskRun(name, 'echo failing on purpose\nexit 3'));
    created.push({ apiVersion: 'tekton.dev/v1', kind: 'TaskRun', metadata: meta({ name, namespace: ns }) });
    const tr = await watchUntil<TaskRun>(deployer, taskRunsPath, name, done, 180_000);
    expect(cond(tr, 'Succeeded')).toMatchObject({
      status: 'False',
      reason: 'StepFailed',
      message: '"step-greet" exited with code 3: Error',
    });
    expect(tr.status?.steps?.[0]?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    const logs = await admin
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: `${name}-standin-logs`, namespace: ns });
    expect(logs.data?.['step-greet']).toContain('failing on purpose');
  });

  it('spec.timeout stops the running step: Succeeded False/TaskRunTimeout', async () => {
    const name = `smoke-tr-timeout-${suffix}`;
    const tr = taskRun(name, 'sleep 60');
    (tr as unknown as { spec: { timeout: string } }).spec.timeout = '3s';
    await objects.create(tr);
    created.push({ apiVersion: 'tekton.dev/v1', kind: 'TaskRun', metadata: meta({ name, namespace: ns }) });
    const started = Date.now();
    const out = await watchUntil<TaskRun>(deployer, taskRunsPath, name, done, 60_000);
    expect(cond(out, 'Succeeded')).toMatchObject({
      status: 'False',
      reason: 'TaskRunTimeout',
      message: `TaskRun "${name}" failed to finish within "3s"`,
    });
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('spec.status TaskRunCancelled kills the running step: Succeeded False/TaskRunCancelled', async () => {
    const name = `smoke-tr-cancel-${suffix}`;
    await objects.create(taskRun(name, 'sleep 60'));
    created.push({ apiVersion: 'tekton.dev/v1', kind: 'TaskRun', metadata: meta({ name, namespace: ns }) });
    await watchUntil<TaskRun & { status?: { steps?: Array<{ running?: unknown }> } }>(
      deployer,
      taskRunsPath,
      name,
      (t) => t.status?.steps?.[0]?.running !== undefined,
      60_000,
    );
    await objects.patch(
      {
        apiVersion: 'tekton.dev/v1',
        kind: 'TaskRun',
        metadata: meta({ name, namespace: ns }),
        spec: { status: 'TaskRunCancelled' },
      } as TaskRun,
      undefined,
      undefined,
      'faas-deploy-test',
      undefined,
      PatchStrategy.MergePatch,
    );
    const out = await watchUntil<TaskRun>(deployer, taskRunsPath, name, done, 30_000);
    expect(cond(out, 'Succeeded')).toMatchObject({ status: 'False', reason: 'TaskRunCancelled' });
    expect(cond(out, 'Succeeded')?.message).toMatch(new RegExp(`^TaskRun "${name}" was cancelled\\.`));
  });
});
