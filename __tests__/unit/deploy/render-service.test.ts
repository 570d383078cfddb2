import { describe, expect, it } from 'vitest';
import { renderService } from '../../../src/deploy/render-service.js';
import type { FunctionSpec } from '../../../src/plan/types.js';

const spec: FunctionSpec = {
  name: 'hello',
  directory: 'functions/hello',
  runtime: 'go',
  watchdog: 'classic',
  env: { GREETING: 'hi', A_FIRST: '1' },
  secrets: ['db-credentials'],
  scale: { min: 1, max: 10, target: 50 },
  concurrency: 4,
  timeoutSeconds: 60,
  resources: { cpu: '250m', memory: '128Mi' },
  visibility: 'cluster-local',
};

describe('renderService', () => {
  const service = renderService(spec, {
    service: 'hello-pr-12',
    namespace: 'functions',
    image: 'ghcr.io/org/hello@sha256:' + 'a'.repeat(64),
    pullRequest: 12,
    commit: 'c0ffee',
    runUrl: 'https://github.com/org/repo/actions/runs/1',
    imagePullSecret: 'ghcr',
  });

  it('labels and annotates the Service as DESIGN.md §4 says', () => {
    expect(service.metadata).toEqual({
      name: 'hello-pr-12',
      namespace: 'functions',
      labels: {
        'app.kubernetes.io/managed-by': 'faas-deploy',
        'faas-deploy.dev/function': 'hello',
        'faas-deploy.dev/pr': '12',
        'networking.knative.dev/visibility': 'cluster-local',
      },
      annotations: {
        'faas-deploy.dev/commit': 'c0ffee',
        'faas-deploy.dev/run-url': 'https://github.com/org/repo/actions/runs/1',
      },
    });
  });

  it('puts autoscaling annotations on the revision template only, as Knative requires', () => {
    expect(service.spec.template.metadata.annotations).toEqual({
      'autoscaling.knative.dev/min-scale': '1',
      'autoscaling.knative.dev/max-scale': '10',
      'autoscaling.knative.dev/target': '50',
    });
    expect(JSON.stringify(service.metadata)).not.toContain('autoscaling');
  });

  it('writes the container by digest with env, secrets, one port, resources and the timeout', () => {
    expect(service.spec.template.spec).toEqual({
      containerConcurrency: 4,
      timeoutSeconds: 62,
      imagePullSecrets: [{ name: 'ghcr' }],
      containers: [
        {
          name: 'function',
          image: 'ghcr.io/org/hello@sha256:' + 'a'.repeat(64),
          ports: [{ name: 'http1', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/_/health' } },
          env: [
            { name: 'A_FIRST', value: '1' },
            { name: 'GREETING', value: 'hi' },
          ],
          envFrom: [{ secretRef: { name: 'db-credentials' } }],
          resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { memory: '128Mi' } },
        },
      ],
    });
  });
});

describe('renderService readiness', () => {
  it("probes of-watchdog's /_/ready, which answers only once the function's own server is up", () => {
    const ofWatchdog = renderService(
      { ...spec, watchdog: 'of-watchdog' },
      { service: 'hello', namespace: 'functions', image: 'r/hello@sha256:' + 'b'.repeat(64) },
    );
    const container = (ofWatchdog.spec.template.spec['containers'] as { readinessProbe: unknown }[])[0];
    expect(container?.readinessProbe).toEqual({ httpGet: { path: '/_/ready' } });
  });
});
