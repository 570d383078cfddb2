// API errors a user can act on, from real API server answers: who was refused what and where (403),
// credentials not accepted (401), "no such object" against "no such resource type" (404).
import { describe, expect, it } from 'vitest';
import {
  ApiNotInstalledError,
  ForbiddenError,
  KubeApiError,
  UnauthorizedError,
  apiError,
  isUnknownResource,
} from '../../../src/kube/errors.js';

// Bodies as kube-apiserver v1.37 writes them.
const forbidden = JSON.stringify({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message:
    'services.serving.knative.dev "hello" is forbidden: User "system:serviceaccount:faas-test:faas-deploy" cannot delete resource "services" in API group "serving.knative.dev" in the namespace "faas-test"',
  reason: 'Forbidden',
  details: { name: 'hello', group: 'serving.knative.dev', kind: 'services' },
  code: 403,
});
const objectMissing = JSON.stringify({
  kind: 'Status',
  status: 'Failure',
  message: 'services.serving.knative.dev "hello" not found',
  reason: 'NotFound',
  details: { name: 'hello', group: 'serving.knative.dev', kind: 'services' },
  code: 404,
});
const typeMissing = JSON.stringify({
  kind: 'Status',
  status: 'Failure',
  message: 'the server could not find the requested resource',
  reason: 'NotFound',
  details: {},
  code: 404,
});

describe('API errors a user can act on', () => {
  it('403 names verb, resource, namespace, user and docs/rbac.yaml', () => {
    const error = new ForbiddenError(
      { verb: 'delete', resource: 'services.serving.knative.dev', namespace: 'faas-test' },
      forbidden,
    );
    expect(error.message).toMatch(
      /^Kubernetes refused to delete services\.serving\.knative\.dev in namespace "faas-test" for system:serviceaccount:faas-test:faas-deploy \(403 Forbidden\)\. The identity in the kubeconfig needs the Role in docs\/rbac\.yaml/,
    );
    expect([error.verb, error.resource, error.namespace]).toEqual([
      'delete',
      'services.serving.knative.dev',
      'faas-test',
    ]);
  });

  it('403 without a server message falls back to what the request was', () => {
    const error = new ForbiddenError(
      { verb: 'watch', resource: 'services.serving.knative.dev', namespace: 'x' },
      'forbidden',
    );
    expect(error.message).toMatch(
      /^Kubernetes refused to watch services\.serving\.knative\.dev in namespace "x" \(403/,
    );
  });

  it('tells "no such object" from "no such resource type" on a 404', () => {
    expect(isUnknownResource(404, objectMissing)).toBe(false);
    expect(isUnknownResource(404, typeMissing)).toBe(true);
    expect(isUnknownResource(404, '404 page not found')).toBe(true);
    expect(isUnknownResource(403, typeMissing)).toBe(false);
  });

  it('maps each answer to its error: 401, 403, a missing API group, anything else', () => {
    const server = 'https://k8s.example:6443';
    const intent = { verb: 'create', resource: 'taskruns.tekton.dev', namespace: 'n' };
    const notInstalled = (s: string): Error => new ApiNotInstalledError(`no Tekton at ${s}`);
    expect(apiError(server, intent, { status: 401, body: '' })).toBeInstanceOf(UnauthorizedError);
    expect(apiError(server, intent, { status: 403, body: forbidden })).toBeInstanceOf(ForbiddenError);
    expect(apiError(server, intent, { status: 404, body: typeMissing }, notInstalled).message).toBe(
      'no Tekton at https://k8s.example:6443',
    );
    // Without a "not installed" description, and for a missing object, the plain API error.
    expect(apiError(server, intent, { status: 404, body: typeMissing })).toBeInstanceOf(KubeApiError);
    const missing = apiError(server, intent, { status: 404, body: objectMissing }, notInstalled);
    expect(missing).toBeInstanceOf(KubeApiError);
    expect(missing.message).toBe(
      'Kubernetes API: create taskruns.tekton.dev in namespace "n" failed with HTTP 404: services.serving.knative.dev "hello" not found',
    );
  });
});
