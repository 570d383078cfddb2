// The wiring from the inputs, the environment and the event to each stage.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildSettings,
  clusterOptions,
  createRunTempDir,
  executeOptions,
  imagePrefix,
  newRunId,
  readRunEvent,
  removeRunTempDir,
  reportContext,
  runNamespace,
  runRepository,
  secretsAvailable,
} from '../../src/context.js';
import { readInputs, type Inputs } from '../../src/inputs.js';
import type { KubeConnection } from '../../src/kube/index.js';

function inputs(values: Record<string, string> = {}): Inputs {
  return readInputs({ get: (name) => values[name] ?? '', secret: () => undefined });
}

let work = '';
afterEach(() => {
  if (work) rmSync(work, { recursive: true, force: true });
  work = '';
});

describe('the run’s temp dir and id', () => {
  it('is a private directory inside RUNNER_TEMP, removed with what is in it', async () => {
    work = mkdtempSync(path.join(tmpdir(), 'faas-context-'));
    const dir = await createRunTempDir({ RUNNER_TEMP: work });
    expect(path.dirname(dir)).toBe(work);
    expect(path.basename(dir)).toMatch(/^faas-deploy-\w{6}$/);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    writeFileSync(path.join(dir, 'kubeconfig'), 'x');
    await removeRunTempDir(dir);
    await removeRunTempDir(dir);
    expect(() => statSync(dir)).toThrow();
  });

  it('ids are 12 hex digits, a valid label value, new each time', () => {
    const ids = new Set(Array.from({ length: 20 }, () => newRunId()));
    expect(ids.size).toBe(20);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}$/);
  });
});

describe('stage settings', () => {
  const kube = { server: 'https://k', user: 'u', source: 'KUBECONFIG' } as unknown as KubeConnection;

  it('the build stage gets the build inputs, the run’s dir and id and the shared connection, no other input', () => {
    const settings = buildSettings(
      inputs({ builder: 'tekton', registry: 'ghcr.io/Octo', 'github-token': 'ghs_x', kubeconfig: 'k: v' }),
      {
        tempDir: '/t/faas-deploy-1',
        runId: 'abcdefabcdef',
        kube,
        registry: 'ghcr.io/octo/fns',
        namespace: 'previews',
      },
    );
    expect(settings).toEqual({
      builder: 'tekton',
      registry: 'ghcr.io/octo/fns',
      registryUsername: '',
      registryPassword: '',
      kanikoImage: 'ghcr.io/osscontainertools/kaniko:v1.28.3',
      concurrency: 4,
      namespace: 'previews',
      tektonServiceAccount: '',
      registrySecret: '',
      tempDir: '/t/faas-deploy-1',
      runId: 'abcdefabcdef',
      kube,
    });
    expect(settings.kube).toBe(kube);
  });

  it('the cluster gets the namespace and where the ingress address comes from', () => {
    const options = clusterOptions(
      inputs({
        namespace: 'team-a',
        'ingress-address': '203.0.113.5',
        'ingress-service': 'kourier-system/kourier',
      }),
      'octo/fns',
      'team-a',
    );
    expect(options).toMatchObject({
      namespace: 'team-a',
      repository: 'octo/fns',
      ingressAddress: '203.0.113.5',
      ingressService: 'kourier-system/kourier',
    });
    expect('ingressService' in clusterOptions(inputs(), 'octo/fns', 'default')).toBe(false);
  });

  it('images are scoped by repository; previews live in preview-namespace', () => {
    expect(imagePrefix(inputs({ registry: 'ghcr.io/Octo' }), 'Octo/My_Fns')).toBe('ghcr.io/octo/my_fns');
    expect(runNamespace(inputs({ namespace: 'prod', 'preview-namespace': 'pr' }), { mode: 'preview' })).toBe(
      'pr',
    );
    expect(runNamespace(inputs({ namespace: 'prod', 'preview-namespace': 'pr' }), { mode: 'deploy' })).toBe(
      'prod',
    );
    expect(runNamespace(inputs({ namespace: 'prod' }), 'sweep')).toBe('prod');
    expect(runRepository({ GITHUB_REPOSITORY: 'o/r' }, { name: 'push' })).toBe('o/r');
    expect(() => runRepository({}, { name: 'push' })).toThrow(/GITHUB_REPOSITORY/);
  });

  it('executePlan gets the limits, the commit, the run link and the pull secret', () => {
    const signal = new AbortController().signal;
    expect(
      executeOptions(
        inputs({ concurrency: '2', 'wait-timeout': '90s', 'image-pull-secret': 'pull' }),
        { name: 'push', headSha: 'c0ffee' },
        'https://github.com/o/r/actions/runs/1/attempts/1',
        signal,
      ),
    ).toEqual({
      concurrency: 2,
      waitTimeoutSeconds: 90,
      commit: 'c0ffee',
      runUrl: 'https://github.com/o/r/actions/runs/1/attempts/1',
      imagePullSecret: 'pull',
      signal,
    });
  });

  it('the report context takes the ingress address it is given, else the input, and the secrets to mask', () => {
    const env = { GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '7', GITHUB_RUN_ATTEMPT: '2' };
    const values = { 'ingress-address': '203.0.113.5', 'github-token': 'ghs_t', 'registry-password': 'pw' };
    const made = reportContext(env, { name: 'push' }, inputs(values), '198.51.100.9');
    expect(made).toMatchObject({
      run: { id: 7, attempt: 2 },
      runUrl: 'https://github.com/o/r/actions/runs/7/attempts/2',
      ingressAddress: '198.51.100.9',
      secrets: ['ghs_t', 'pw'],
    });
    expect(reportContext(env, { name: 'push' }, inputs(values)).ingressAddress).toBe('203.0.113.5');
  });

  it('credentials to deploy with: input kubeconfig, KUBECONFIG or an in-cluster service account', () => {
    expect(secretsAvailable(inputs(), {})).toBe(false);
    expect(secretsAvailable(inputs({ kubeconfig: 'apiVersion: v1' }), {})).toBe(true);
    expect(secretsAvailable(inputs(), { KUBECONFIG: '/k' })).toBe(true);
    expect(secretsAvailable(inputs(), { KUBERNETES_SERVICE_HOST: '10.0.0.1' })).toBe(true);
  });
});

describe('readRunEvent', () => {
  it('reads the payload and the ref and sha of the run', async () => {
    work = mkdtempSync(path.join(tmpdir(), 'faas-context-'));
    const file = path.join(work, 'event.json');
    writeFileSync(file, JSON.stringify({ repository: { name: 'r', owner: { login: 'o' } } }));
    const event = await readRunEvent({ GITHUB_EVENT_NAME: 'push', GITHUB_EVENT_PATH: file });
    expect(event).toMatchObject({ name: 'push', repository: { owner: 'o', name: 'r' } });
  });

  it('names the file it cannot read', async () => {
    await expect(
      readRunEvent({ GITHUB_EVENT_NAME: 'push', GITHUB_EVENT_PATH: '/nonexistent/event.json' }),
    ).rejects.toThrow('Could not read the event payload at GITHUB_EVENT_PATH (/nonexistent/event.json): ');
    expect(await readRunEvent({})).toMatchObject({ name: '' });
  });
});
