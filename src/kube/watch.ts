// One list+watch of a collection (a label or field selector on a namespace's objects), shared by
// every caller waiting for one of its objects to reach some state: one stream for 50 functions instead
// of 50, and the reconnect logic in one place. The deploy stage waits for Knative Services with it, the
// Tekton builder follows its TaskRuns. The stream is resumed from the last resourceVersion seen (events
// and bookmarks) whenever it ends — the server's timeoutSeconds, a dropped connection, an idle stream —
// and the collection is listed again when the server answers 410 Gone (that resourceVersion has been
// compacted away).
import { describeError } from '../util/errors.js';
import type { KubeHttp, StreamEnd } from './http.js';

/** What the watch needs of an object. */
export interface WatchedObject {
  metadata: { name: string; resourceVersion?: string };
}

export interface WatchStats {
  lists: number;
  watches: number;
  /** Streams that ended and were resumed from the last resourceVersion. */
  resumes: number;
  /** 410 Gone answers that made us list again. */
  gone: number;
}

export interface CollectionWatchOptions {
  http: KubeHttp;
  /** Collection path, e.g. /apis/serving.knative.dev/v1/namespaces/x/services */
  collectionPath: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side timeoutSeconds of each watch request (the server ends the stream then; we resume). */
  watchTimeoutSeconds?: number;
  /** Turns a non-2xx answer into the error waiters get (403, an API group not installed…). */
  toError: (verb: 'list' | 'watch', status: number, body: string) => Error;
  /** Tests only: start watching from this resourceVersion instead of listing first. */
  startResourceVersion?: string;
  log?: (message: string) => void;
}

interface Waiter<T> {
  name: string;
  check: (object: T | undefined) => boolean;
  resolve: (object: T | undefined) => void;
  reject: (error: Error) => void;
}

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T & { code?: number; message?: string };
}

export class CollectionWatch<T extends WatchedObject> {
  readonly stats: WatchStats = { lists: 0, watches: 0, resumes: 0, gone: 0 };
  private readonly options: CollectionWatchOptions;
  private readonly cache = new Map<string, T>();
  private readonly waiters = new Set<Waiter<T>>();
  private readonly log: (message: string) => void;
  private resourceVersion: string | undefined;
  private loop: Promise<void> | undefined;
  private abort = new AbortController();
  private listed = false;

  constructor(options: CollectionWatchOptions) {
    this.options = options;
    this.log = options.log ?? (() => undefined);
    this.resourceVersion = options.startResourceVersion;
    if (options.startResourceVersion !== undefined) this.listed = true;
  }

  /**
   * Resolves with the object `name` (undefined when it does not exist) as soon as `check` accepts
   * it — immediately if the cached state already does. `check` sees every state the watch delivers.
   * Rejects when signal aborts or the watch fails for good (403, an API group not installed).
   */
  waitFor(
    name: string,
    check: (object: T | undefined) => boolean,
    signal?: AbortSignal,
  ): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        reject(abortReason(signal as AbortSignal));
      };
      const waiter: Waiter<T> = {
        name,
        check,
        resolve: (object) => {
          signal?.removeEventListener('abort', onAbort);
          this.waiters.delete(waiter);
          resolve(object);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          this.waiters.delete(waiter);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      if (this.listed && check(this.cache.get(name))) {
        waiter.resolve(this.cache.get(name));
        return;
      }
      this.start();
    });
  }

  /** The last state seen of an object (after at least one list). */
  latest(name: string): T | undefined {
    return this.cache.get(name);
  }

  private start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal)
      .catch((error: unknown) => {
        const err = error instanceof Error ? error : new Error(String(error));
        for (const w of [...this.waiters]) w.reject(err);
      })
      .finally(() => {
        this.loop = undefined;
        // A waiter that arrived while the loop was failing starts a fresh one.
        if (this.waiters.size > 0 && !this.abort.signal.aborted) this.start();
      });
  }

  private notify(name: string): void {
    const object = this.cache.get(name);
    for (const w of [...this.waiters]) if (w.name === name && w.check(object)) w.resolve(object);
  }

  /** The selector part of a list or watch query. */
  private selector(): Record<string, string> {
    const { labelSelector, fieldSelector } = this.options;
    return {
      ...(labelSelector ? { labelSelector } : {}),
      ...(fieldSelector ? { fieldSelector } : {}),
    };
  }

  private async list(signal: AbortSignal): Promise<void> {
    const { http, collectionPath, toError } = this.options;
    const query = new URLSearchParams(this.selector()).toString();
    const res = await http.request({
      method: 'GET',
      path: query === '' ? collectionPath : `${collectionPath}?${query}`,
      idempotent: true,
      signal,
    });
    if (res.status !== 200) throw toError('list', res.status, res.body);
    const list = JSON.parse(res.body) as { metadata?: { resourceVersion?: string }; items?: T[] };
    this.stats.lists++;
    // Every waiter hears the listed state, also of an object that is not there (deleted meanwhile).
    const names = new Set([...this.cache.keys(), ...[...this.waiters].map((w) => w.name)]);
    this.cache.clear();
    for (const item of list.items ?? []) {
      this.cache.set(item.metadata.name, item);
      names.add(item.metadata.name);
    }
    this.resourceVersion = list.metadata?.resourceVersion;
    this.listed = true;
    for (const name of names) this.notify(name);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { http, collectionPath, toError } = this.options;
    const timeout = this.options.watchTimeoutSeconds ?? 240;
    let failures = 0;
    while (!signal.aborted && this.waiters.size > 0) {
      if (this.resourceVersion === undefined) await this.list(signal);
      const query = new URLSearchParams({
        watch: '1',
        ...this.selector(),
        resourceVersion: this.resourceVersion ?? '',
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(timeout),
      });
      this.stats.watches++;
      let gone = false;
      const end: StreamEnd = await http.stream(
        `${collectionPath}?${query.toString()}`,
        (value) => {
          const event = value as WatchEvent<T>;
          if (event.type === 'ERROR') {
            // 410 Gone inside the stream: our resourceVersion is too old.
            if (event.object.code === 410) gone = true;
            else this.log(`watch error event: ${event.object.message ?? JSON.stringify(event.object)}`);
            throw new Error(`watch ERROR event ${event.object.code ?? ''}`);
          }
          const rv = event.object.metadata.resourceVersion;
          if (rv) this.resourceVersion = rv;
          if (event.type === 'BOOKMARK') return;
          const name = event.object.metadata.name;
          if (event.type === 'DELETED') this.cache.delete(name);
          else this.cache.set(name, event.object);
          this.notify(name);
        },
        signal,
        (timeout + 30) * 1000,
      );
      if (end.kind === 'aborted') return;
      if (end.kind === 'http') {
        if (end.status === 410) gone = true;
        else if (end.status === 429 || end.status >= 500) failures++;
        else throw toError('watch', end.status, end.body);
      }
      if (gone) {
        this.stats.gone++;
        this.log(`watch: resourceVersion ${this.resourceVersion ?? ''} is gone (410); listing again`);
        this.resourceVersion = undefined;
        continue;
      }
      if (end.kind === 'error') failures++;
      if (end.kind === 'end') failures = 0;
      if (failures > 8) throw new Error(`watching ${collectionPath} keeps failing: ${endText(end)}`);
      if (this.waiters.size === 0) return;
      this.stats.resumes++;
      this.log(`watch ended (${endText(end)}); resuming from resourceVersion ${this.resourceVersion ?? ''}`);
      if (failures > 0) await delay(Math.min(4000, 200 * 2 ** failures), signal);
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => undefined);
  }
}

function endText(end: StreamEnd): string {
  switch (end.kind) {
    case 'end':
      return 'closed by the server';
    case 'aborted':
      return 'aborted';
    case 'error':
      return describeError(end.error);
    case 'http':
      return `HTTP ${end.status}`;
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
