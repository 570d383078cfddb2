// The one concurrency pool of the action (the build stage and executePlan both use it).
import { describe, expect, it } from 'vitest';
import { mapPool } from '../../../src/util/pool.js';

const after = <T>(ms: number, value: T): Promise<T> =>
  new Promise((resolve) => {
    setTimeout(() => {
      resolve(value);
    }, ms);
  });

describe('mapPool', () => {
  it('returns the results in input order, whatever order they finish in', async () => {
    expect(await mapPool([30, 10, 20], 2, (ms) => after(ms, ms * 2))).toEqual([60, 20, 40]);
  });

  it('runs at most `limit` workers at once, and uses all of them', async () => {
    let running = 0;
    let most = 0;
    await mapPool([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      most = Math.max(most, running);
      await after(5, n);
      running--;
    });
    expect(most).toBe(3);
  });

  it('runs one at a time for a limit below 1, and nothing for no items', async () => {
    const order: number[] = [];
    await mapPool([1, 2, 3], 0, async (n) => {
      order.push(n);
      await after(1, n);
      order.push(-n);
    });
    expect(order).toEqual([1, -1, 2, -2, 3, -3]);
    let called = false;
    expect(
      await mapPool([], 4, async () => {
        called = true;
        await Promise.resolve();
      }),
    ).toEqual([]);
    expect(called).toBe(false);
  });

  it('rejects with the first worker error', async () => {
    await expect(
      mapPool([1, 2], 2, async (n) => {
        await after(n, n);
        if (n === 2) throw new Error('two failed');
        return n;
      }),
    ).rejects.toThrow('two failed');
  });
});
