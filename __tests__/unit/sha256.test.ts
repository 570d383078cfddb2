import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSha256, defaultCompressor, SMALL_HASH_BUDGET } from '../../src/package/sha256.js';
// @ts-expect-error -- a build script in JavaScript, without declarations
import { sha256WasmModuleSource } from '../../scripts/build-sha256-wasm.mjs';

const reference = (chunks: readonly (string | Uint8Array)[]): string => {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
};

// Both paths: the WebAssembly module (with a budget that never runs out, unless given one) and
// node:crypto alone, as where there is no WebAssembly.
const compressor = defaultCompressor();
const paths = [
  ['WebAssembly', compressor],
  ['node:crypto only', null],
] as const;
const hashWith =
  (using: (typeof paths)[number][1]) =>
  (chunks: readonly (string | Uint8Array)[], budget = { remaining: Infinity }): string => {
    const hash = createSha256(budget, using);
    for (const chunk of chunks) hash.update(chunk);
    return hash.digest();
  };

describe('createSha256', () => {
  it('has WebAssembly in this Node', () => {
    expect(compressor).not.toBeNull();
  });

  it.each(paths)('gives the FIPS 180-4 test vectors (%s)', (_name, using) => {
    const ours = hashWith(using);
    expect(ours([''])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(ours(['abc'])).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(ours(['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'])).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    expect(ours(['a'.repeat(1_000_000)])).toBe(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });

  it.each(paths)(
    'matches node:crypto on every length around the block and padding boundaries (%s)',
    (_name, using) => {
      const ours = hashWith(using);
      const data = randomBytes(300);
      for (let length = 0; length <= 300; length++) {
        expect(ours([data.subarray(0, length)]), `length ${length}`).toBe(
          reference([data.subarray(0, length)]),
        );
      }
    },
  );

  it.each(paths)(
    'matches node:crypto whatever the split into updates, strings included (%s)',
    (_name, using) => {
      const ours = hashWith(using);
      const data = randomBytes(300_000);
      for (const size of [1, 3, 63, 64, 65, 1000, 200_000]) {
        const chunks: (string | Uint8Array)[] = [];
        for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size), `${i}:ü`);
        expect(ours(chunks), `chunks of ${size}`).toBe(reference(chunks));
      }
    },
  );

  it('keeps hashes that are updated in turns apart', () => {
    const a = createSha256({ remaining: Infinity });
    const b = createSha256({ remaining: Infinity });
    const data = randomBytes(1000);
    for (let i = 0; i < 1000; i += 100) {
      a.update(data.subarray(i, i + 100));
      b.update(data.subarray(i, i + 37));
    }
    expect(a.digest()).toBe(reference([data]));
    expect(b.digest()).toBe(
      reference(Array.from({ length: 10 }, (_, i) => data.subarray(i * 100, i * 100 + 37))),
    );
  });

  it('hands input beyond the budget to node:crypto, this hash and the next, with the same digests', () => {
    const ours = hashWith(compressor);
    const data = randomBytes(SMALL_HASH_BUDGET + 70_000);
    const chunks = [data.subarray(0, 1000), data.subarray(1000, 3000), data.subarray(3000)];
    const budget = { remaining: 1500 };
    expect(ours(chunks, budget)).toBe(reference(chunks));
    expect(budget.remaining).toBe(0);
    expect(ours([data.subarray(0, 10)], budget)).toBe(reference([data.subarray(0, 10)]));
    expect(ours([data], { remaining: SMALL_HASH_BUDGET })).toBe(reference([data]));
  });

  it('shares one budget across the process by default', () => {
    const small = randomBytes(100);
    expect(createSha256().update(small).digest()).toBe(reference([small]));
  });

  it('carries the module src/package/sha256.wat assembles to', async () => {
    const committed = readFileSync(path.resolve('src/package/sha256-wasm.ts'), 'utf8');
    expect(committed).toBe(await (sha256WasmModuleSource as () => Promise<string>)());
  });
});
