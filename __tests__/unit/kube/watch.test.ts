// The one list+watch, against a local server that plays scripted API server answers: the selector on
// both requests, resume from the last resourceVersion, a re-list after 410 Gone, a deleted object, and
// a refusal handed to the waiters. (The integration tests run the same loop on the real API server.)
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeHttp } from '../../../src/kube/http.js';
import { CollectionWatch } from '../../../src/kube/watch.js';

interface Obj {
  metadata: { name: string; resourceVersion?: string };
  done?: boolean;
}

type Answer = { status: number; body: unknown } | { events: unknown[] };

let server: http.Server;
let kube: KubeHttp;
const lists: Answer[] = [];
const watches: Answer[] = [];
const seen: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(`${url.searchParams.get('watch') ? 'watch' : 'list'} ${url.search}`);
    const answer = (url.searchParams.get('watch') ? watches : lists).shift() ?? { status: 500, body: {} };
    if ('events' in answer) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(answer.events.map((e) => `${JSON.stringify(e)}\n`).join(''));
      return;
    }
    res.writeHead(answer.status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  kube = new KubeHttp({
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    authenticate: () => Promise.resolve(),
  });
});
afterAll(() => {
  kube.close();
  server.close();
});

function watch(extra: Partial<ConstructorParameters<typeof CollectionWatch>[0]> = {}): CollectionWatch<Obj> {
  lists.length = 0;
  watches.length = 0;
  seen.length = 0;
  return new CollectionWatch<Obj>({
    http: kube,
    collectionPath: '/apis/tekton.dev/v1/namespaces/n/taskruns',
    labelSelector: 'faas-deploy.dev/run=r1',
    toError: (verb, status) => new Error(`${verb} refused: ${status}`),
    ...extra,
  });
}

const list = (rv: string, items: Obj[]): Answer => ({
  status: 200,
  body: { metadata: { resourceVersion: rv }, items },
});

describe('CollectionWatch', () => {
  it('lists, then watches from the list’s resourceVersion with the same selector, resuming after the stream ends', async () => {
    const w = watch({ fieldSelector: 'metadata.name=a' });
    lists.push(list('10', [{ metadata: { name: 'a', resourceVersion: '9' } }]));
    watches.push(
      { events: [{ type: 'BOOKMARK', object: { metadata: { name: '', resourceVersion: '11' } } }] },
      {
        events: [
          { type: 'MODIFIED', object: { metadata: { name: 'a', resourceVersion: '12' }, done: true } },
        ],
      },
    );
    const a = await w.waitFor('a', (o) => o?.done === true, AbortSignal.timeout(5000));
    await w.stop();
    expect(a?.metadata.resourceVersion).toBe('12');
    const selector = 'labelSelector=faas-deploy.dev%2Frun%3Dr1&fieldSelector=metadata.name%3Da';
    expect(seen[0]).toBe(`list ?${selector}`);
    expect(seen[1]).toContain(`watch ?watch=1&${selector}&resourceVersion=10&allowWatchBookmarks=true`);
    // Resumed from the bookmark's resourceVersion, not listed again.
    expect(seen[2]).toContain('resourceVersion=11');
    expect(w.stats).toMatchObject({ lists: 1, watches: 2, resumes: 1, gone: 0 });
  });

  it('lists again after 410 Gone for a resourceVersion the server no longer has', async () => {
    const w = watch({ startResourceVersion: '1' });
    watches.push({ status: 410, body: { kind: 'Status', code: 410 } });
    lists.push(list('20', [{ metadata: { name: 'b', resourceVersion: '19' } }]));
    const b = await w.waitFor('b', (o) => o !== undefined, AbortSignal.timeout(5000));
    await w.stop();
    expect(b?.metadata.resourceVersion).toBe('19');
    expect(seen[0]).toContain('resourceVersion=1&');
    expect(w.stats).toMatchObject({ lists: 1, gone: 1 });
  });

  it('a waiter hears of an object the list does not have (deleted before it looked)', async () => {
    const w = watch();
    lists.push(list('25', []));
    const states: Array<Obj | undefined> = [];
    const absent = await w.waitFor(
      'gone',
      (o) => {
        states.push(o);
        return o === undefined;
      },
      AbortSignal.timeout(5000),
    );
    await w.stop();
    expect(absent).toBeUndefined();
    expect(states).toEqual([undefined]);
  });

  it('a DELETED event reaches the waiter as undefined', async () => {
    const w = watch();
    lists.push(list('30', [{ metadata: { name: 'c', resourceVersion: '29' } }]));
    watches.push({
      events: [{ type: 'DELETED', object: { metadata: { name: 'c', resourceVersion: '31' } } }],
    });
    const states: Array<string | undefined> = [];
    await w.waitFor(
      'c',
      (o) => {
        states.push(o?.metadata.resourceVersion);
        return o === undefined;
      },
      AbortSignal.timeout(5000),
    );
    await w.stop();
    expect(states).toEqual(['29', undefined]);
  });

  it('a refused watch rejects every waiter with the error toError makes', async () => {
    const w = watch();
    lists.push(list('40', []));
    watches.push({ status: 403, body: { kind: 'Status', code: 403 } });
    const waits = [w.waitFor('d', (o) => o !== undefined), w.waitFor('e', (o) => o !== undefined)];
    for (const result of await Promise.allSettled(waits)) {
      expect(result).toMatchObject({ status: 'rejected', reason: new Error('watch refused: 403') });
    }
    await w.stop();
  });
});
