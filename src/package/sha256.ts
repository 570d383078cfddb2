/* eslint-disable @typescript-eslint/no-non-null-assertion -- indices into fixed-size typed arrays, always in range; `?? 0` would double the work of the interpreted rounds */
/**
 * SHA-256 (FIPS 180-4) for content tags. Loading node:crypto costs about 10 ms of a CLI start, a
 * tenth of a whole `faas-deploy plan` in a large monorepo (issue #4), while a function's build
 * context is usually a few kilobytes: this hashes the first few in JavaScript and hands the rest
 * to node:crypto, which is faster once loaded. Both give the same digest (unit-tested against
 * node:crypto on every length around the block boundaries).
 */

/**
 * How many bytes this process hashes in JavaScript, over all hashes, before it loads node:crypto
 * and hands it the rest. Measured on a fresh process: JavaScript hashes 4 KiB in ~4 ms (interpreted
 * code, before the optimising compilers step in) and 40 KiB in ~8, where loading node:crypto alone
 * takes ~11 and hashes a megabyte in ~3.
 */
export const JS_HASH_BUDGET = 64 * 1024;

/** Bytes JavaScript may still hash before node:crypto takes over. */
export interface HashBudget {
  remaining: number;
}

const processBudget: HashBudget = { remaining: JS_HASH_BUDGET };

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** The incremental interface of node:crypto's Hash that content tags use. */
export interface Sha256 {
  update(data: string | Uint8Array): Sha256;
  /** Lower-case hexadecimal digest; the hash cannot be updated afterwards. */
  digest(): string;
}

class SmallSha256 implements Sha256 {
  private readonly state = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  private readonly words = new Uint32Array(64);
  private readonly block = new Uint8Array(64);
  private filled = 0;
  private length = 0;
  /** Set once the process outgrew JS_HASH_BUDGET: this hash's input so far is replayed into it. */
  private native: import('node:crypto').Hash | undefined;
  private readonly pending: Uint8Array[] = [];
  private readonly budget: HashBudget;

  constructor(budget: HashBudget) {
    this.budget = budget;
  }

  update(data: string | Uint8Array): Sha256 {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (this.native) {
      this.native.update(bytes);
      return this;
    }
    if (bytes.length > this.budget.remaining) {
      this.budget.remaining = 0;
      const { createHash } = process.getBuiltinModule('node:crypto');
      this.native = createHash('sha256');
      for (const chunk of this.pending) this.native.update(chunk);
      this.native.update(bytes);
      return this;
    }
    this.pending.push(bytes);
    this.length += bytes.length;
    this.budget.remaining -= bytes.length;
    let offset = 0;
    // Top up a partly filled block first; then whole blocks straight from the input, uncopied.
    if (this.filled > 0) {
      const take = Math.min(64 - this.filled, bytes.length);
      this.block.set(bytes.subarray(0, take), this.filled);
      this.filled += take;
      offset = take;
      if (this.filled < 64) return this;
      this.compress(this.block, 0);
      this.filled = 0;
    }
    for (; offset + 64 <= bytes.length; offset += 64) this.compress(bytes, offset);
    if (offset < bytes.length) {
      this.block.set(bytes.subarray(offset), 0);
      this.filled = bytes.length - offset;
    }
    return this;
  }

  digest(): string {
    if (this.native) return this.native.digest('hex');
    const bits = this.length * 8;
    this.block[this.filled++] = 0x80;
    if (this.filled > 56) {
      this.block.fill(0, this.filled);
      this.compress(this.block, 0);
      this.filled = 0;
    }
    this.block.fill(0, this.filled, 56);
    const view = new DataView(this.block.buffer);
    view.setUint32(56, Math.floor(bits / 0x100000000));
    view.setUint32(60, bits >>> 0);
    this.compress(this.block, 0);
    let hex = '';
    for (const word of this.state) hex += word.toString(16).padStart(8, '0');
    return hex;
  }

  /** One 64-byte block of `b`, from `at`. */
  private compress(b: Uint8Array, at: number): void {
    const w = this.words;
    for (let i = 0, j = at; i < 16; i++, j += 4) {
      w[i] = (b[j]! << 24) | (b[j + 1]! << 16) | (b[j + 2]! << 8) | b[j + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!;
      const y = w[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    const s = this.state;
    let a = s[0]!;
    let bb = s[1]!;
    let c = s[2]!;
    let d = s[3]!;
    let e = s[4]!;
    let f = s[5]!;
    let g = s[6]!;
    let h = s[7]!;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K[i]! + w[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & bb) ^ (a & c) ^ (bb & c);
      const t2 = (S0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = bb;
      bb = a;
      a = (t1 + t2) | 0;
    }
    s[0] = s[0]! + a;
    s[1] = s[1]! + bb;
    s[2] = s[2]! + c;
    s[3] = s[3]! + d;
    s[4] = s[4]! + e;
    s[5] = s[5]! + f;
    s[6] = s[6]! + g;
    s[7] = s[7]! + h;
  }
}

/** A SHA-256 hash: JavaScript for the first JS_HASH_BUDGET bytes of the process, then node:crypto. */
export function createSha256(budget: HashBudget = processBudget): Sha256 {
  return new SmallSha256(budget);
}
