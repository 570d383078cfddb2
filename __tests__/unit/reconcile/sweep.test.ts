import { describe, expect, it } from 'vitest';
import { liveServiceInfo, ownerMetadata } from '../../../src/kube/ownership.js';
import { sweepPreviews } from '../../../src/reconcile/sweep.js';

const now = new Date('2026-12-04T12:00:00Z');

function preview(service: string, pr: number, deployedAt: string) {
  const owner = ownerMetadata('acme/fns', { kind: 'preview', pullRequest: pr });
  return liveServiceInfo({
    name: service,
    labels: { ...owner.labels, 'faas-deploy.dev/function': service.replace(/-pr-\d+$/, '') },
    annotations: { ...owner.annotations, 'faas-deploy.dev/deployed-at': deployedAt },
  });
}

describe('sweepPreviews', () => {
  it('deletes previews of closed pull requests and previews older than the TTL, keeps the rest', () => {
    const decisions = sweepPreviews({
      previews: [
        preview('a-pr-1', 1, '2026-12-04T11:00:00Z'),
        preview('a-pr-2', 2, '2026-11-20T12:00:00Z'),
        preview('a-pr-3', 3, '2026-12-04T11:59:00Z'),
        preview('b-pr-4', 4, '2026-12-01T00:00:00Z'),
      ],
      states: new Map([
        [1, 'closed'],
        [2, 'open'],
        [3, 'open'],
      ]),
      ttlSeconds: 7 * 86_400,
      now,
    });
    expect(decisions.map((d) => [d.service, d.delete, d.reason])).toEqual([
      ['a-pr-1', true, 'pull request #1 is closed'],
      ['a-pr-2', true, 'deployed 14 d ago, longer than preview-ttl (7 d)'],
      ['a-pr-3', false, 'pull request #3 is open'],
      ['b-pr-4', false, 'GitHub did not say whether pull request #4 is open; kept'],
    ]);
    expect(decisions[0]?.function).toBe('a');
  });

  it('without a TTL only closed pull requests count', () => {
    const decisions = sweepPreviews({
      previews: [preview('a-pr-2', 2, '2020-01-01T00:00:00Z')],
      states: new Map([[2, 'open']]),
      now,
    });
    expect(decisions.map((d) => d.delete)).toEqual([false]);
  });
});
