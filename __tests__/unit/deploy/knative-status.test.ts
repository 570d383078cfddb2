// Reading Knative Service status: settled or not for *our* generation, and the failure text, against
// the knative-status fixtures (shapes of knative/serving 1.23).
import fs from 'node:fs';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import {
  explainFailure,
  previousRevisionServing,
  settlement,
  type LiveRevision,
  type LiveService,
} from '../../../src/deploy/knative-status.js';

const fixtures = new URL('../../../../shared/fixtures/knative-status/', import.meta.url);
function fixture(name: string): unknown {
  return load(fs.readFileSync(new URL(name, fixtures), 'utf8'));
}

const ready = fixture('service-ready.yaml') as LiveService;
const failedFirst = fixture('service-failed-revision-missing.yaml') as LiveService;
const failedUpdate = fixture('service-failed-update-previous-revision-serving.yaml') as LiveService;
const missingRevision = fixture('revision-failed-container-missing.yaml') as LiveRevision;

const ref = (svc: LiveService, generation: number) => ({ uid: svc.metadata.uid ?? '', generation });

describe('settlement', () => {
  it('is ready when Knative has observed our generation and Ready is True', () => {
    expect(settlement(ready, ref(ready, 1))).toBe('ready');
  });

  it('never trusts a Ready=True of an older generation', () => {
    // We applied generation 2; the status still describes generation 1.
    const stale = structuredClone(ready);
    stale.metadata.generation = 2;
    expect(settlement(stale, ref(ready, 2))).toBe('pending');
  });

  it('is pending while Ready is Unknown, even at our generation', () => {
    const unknown = structuredClone(ready);
    const cond = unknown.status?.conditions?.find((c) => c.type === 'Ready');
    if (cond) Object.assign(cond, { status: 'Unknown', reason: 'NewObservedGenFailure' });
    expect(settlement(unknown, ref(ready, 1))).toBe('pending');
  });

  it('is failed when Ready is False at our generation', () => {
    expect(settlement(failedFirst, ref(failedFirst, 1))).toBe('failed');
    expect(settlement(failedUpdate, ref(failedUpdate, 2))).toBe('failed');
  });

  it('ignores another object of the same name (deleted and re-created: another uid)', () => {
    expect(settlement(ready, { uid: 'other', generation: 1 })).toBe('pending');
    expect(settlement(undefined, ref(ready, 1))).toBe('pending');
  });

  it('accepts a newer generation than ours (someone applied after us)', () => {
    const newer = structuredClone(ready);
    newer.metadata.generation = 3;
    if (newer.status) newer.status.observedGeneration = 3;
    expect(settlement(newer, ref(ready, 2))).toBe('ready');
  });
});

describe('explainFailure', () => {
  it('first deploy with a missing image: the Service says RevisionMissing, the Revision says ContainerMissing', () => {
    const detail = explainFailure(failedFirst, missingRevision);
    expect(detail.condition).toMatchObject({ status: 'False', reason: 'RevisionMissing' });
    expect(detail.reason).toBe(
      'RevisionMissing: Configuration "hello" does not have any ready Revision.; Revision "hello-00001" ContainerMissing: ' +
        'Unable to fetch image "ghcr.io/knative/helloworld-go:does-not-exist": failed to resolve image to digest: ' +
        'HEAD https://ghcr.io/v2/knative/helloworld-go/manifests/does-not-exist: unexpected status code 404 Not Found ' +
        '(HEAD responses have no body, use GET for details)',
    );
    expect(detail.previousRevisionServing).toBeUndefined();
  });

  it('failed update: RevisionFailed quotes the revision once, and the previous revision still serves', () => {
    const revision = structuredClone(missingRevision);
    revision.metadata.name = 'hello-00002';
    const detail = explainFailure(failedUpdate, revision);
    expect(
      detail.reason.startsWith(
        'RevisionFailed: Revision "hello-00002" failed with message: Unable to fetch image',
      ),
    ).toBe(true);
    expect(detail.reason.match(/Unable to fetch image/g)).toHaveLength(1);
    expect(detail.reason.endsWith('; the previous revision hello-00001 still serves the traffic')).toBe(true);
    expect(detail.previousRevisionServing).toBe('hello-00001');
  });

  it('timed out: says which condition Knative was still in and which generation it had observed', () => {
    const pending = structuredClone(ready);
    pending.metadata.generation = 2;
    const detail = explainFailure(pending, undefined, { seconds: 300, generation: 2 });
    expect(detail.reason).toBe(
      'Not Ready after wait-timeout 5m: Ready=True (Knative has observed generation 1 of 2)',
    );
  });
});

describe('previousRevisionServing', () => {
  it('names revisions other than the latest created that still take traffic', () => {
    expect(previousRevisionServing(failedUpdate)).toBe('hello-00001');
    expect(previousRevisionServing(ready)).toBeUndefined();
    expect(previousRevisionServing(failedFirst)).toBeUndefined();
  });
});
