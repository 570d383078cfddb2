// The deploy stage's Kubernetes specifics: a cluster without Knative Serving, and server-side apply
// conflicts parsed into manager and field (bodies as kube-apiserver v1.37 writes them).
import { describe, expect, it } from 'vitest';
import { KnativeNotInstalledError } from '../../../src/deploy/errors.js';
import { KNATIVE_SERVICES, KnativeApi, parseConflicts } from '../../../src/deploy/knative-api.js';
import { KubeHttp } from '../../../src/kube/http.js';

const typeMissing = JSON.stringify({
  kind: 'Status',
  status: 'Failure',
  message: 'the server could not find the requested resource',
  reason: 'NotFound',
  details: {},
  code: 404,
});
const conflict = JSON.stringify({
  kind: 'Status',
  status: 'Failure',
  message:
    'Apply failed with 1 conflict: conflict with "kubectl-edit" using serving.knative.dev/v1: .spec.template.spec.containers[name="function"].image',
  reason: 'Conflict',
  details: {
    causes: [
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "kubectl-edit" using serving.knative.dev/v1',
        field: '.spec.template.spec.containers[name="function"].image',
      },
    ],
  },
  code: 409,
});

describe('Knative API answers', () => {
  it('maps a missing Knative group to "Knative Serving is not installed"', () => {
    const api = new KnativeApi({
      http: new KubeHttp({ server: 'https://k8s.example:6443', authenticate: async () => {} }),
      namespace: 'n',
    });
    const error = api.resources.error(KNATIVE_SERVICES, 'patch', { status: 404, body: typeMissing }, 'hello');
    expect(error).toBeInstanceOf(KnativeNotInstalledError);
    expect(error.message).toMatch(
      /^Knative Serving is not installed in the cluster at https:\/\/k8s\.example:6443/,
    );
  });

  it('parses server-side apply conflicts into manager and field', () => {
    expect(parseConflicts(conflict)).toEqual([
      { manager: 'kubectl-edit', field: '.spec.template.spec.containers[name="function"].image' },
    ]);
    expect(parseConflicts('not json')).toEqual([]);
  });
});
