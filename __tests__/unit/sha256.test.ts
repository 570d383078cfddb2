import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSha256, JS_HASH_BUDGET } from '../../src/package/sha256.js';

const reference = (chunks: readonly (string | Uint8Array)[]): string => {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
};
/** Hashes in JavaScript only, unless given a smaller budget. */
const ours = (chunks: readonly (string | Uint8Array)[], budget = { remaining: Infinity }): string => {
  const hash = createSha256(budget);
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest();
};

describe('createSha256', () => {
  it('gives the FIPS 180-4 test vectors', () => {
    expect(ours([''])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(ours(['abc'])).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(ours(['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'])).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('matches node:crypto on every length around the block and padding boundaries', () => {
    const data = randomBytes(300);
    for (let length = 0; length <= 300; length++) {
      expect(ours([data.subarray(0, length)]), `length ${length}`).toBe(
        reference([data.subarray(0, length)]),
      );
    }
  });

  it('matches node:crypto whatever the split into updates, strings included', () => {
    const data = randomBytes(5000);
    for (const size of [1, 3, 63, 64, 65, 1000]) {
      const chunks: (string | Uint8Array)[] = [];
      for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size), `${i}:ü`);
      expect(ours(chunks), `chunks of ${size}`).toBe(reference(chunks));
    }
  });

  it('hands input beyond the budget to node:crypto, this hash and the next, with the same digests', () => {
    const data = randomBytes(JS_HASH_BUDGET + 70_000);
    const chunks = [data.subarray(0, 1000), data.subarray(1000, 3000), data.subarray(3000)];
    const budget = { remaining: 1500 };
    expect(ours(chunks, budget)).toBe(reference(chunks));
    expect(budget.remaining).toBe(0);
    expect(ours([data.subarray(0, 10)], budget)).toBe(reference([data.subarray(0, 10)]));
    expect(ours([data], { remaining: JS_HASH_BUDGET })).toBe(reference([data]));
  });

  it('shares one budget across the process by default', () => {
    const small = randomBytes(100);
    expect(createSha256().update(small).digest()).toBe(reference([small]));
  });
});
