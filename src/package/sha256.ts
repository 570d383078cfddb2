/**
 * SHA-256 (FIPS 180-4) for content tags. Loading node:crypto costs about 6 ms of a CLI start, a
 * tenth of a whole `faas-deploy plan` in a large monorepo (issue #4), while a function's build
 * context is usually a few kilobytes: the first SMALL_HASH_BUDGET bytes of the process are hashed
 * by a small WebAssembly module (src/package/sha256.wat; ~0.5 ms to compile and start, then
 * hundreds of megabytes a second, where the same rounds in JavaScript run interpreted: ~2 ms for
 * the 3 KB of a typical function), the rest by node:crypto, faster still once loaded. Where
 * WebAssembly is not available (`node --jitless`), node:crypto does it all. Every path gives the
 * same digest (unit-tested against node:crypto on every length around the block boundaries).
 */
import { SHA256_WASM } from './sha256-wasm.js';

/** Bytes this process hashes in WebAssembly, over all hashes, before it loads node:crypto. */
export const SMALL_HASH_BUDGET = 256 * 1024;

/** Bytes the WebAssembly module may still hash before node:crypto takes over. */
export interface HashBudget {
  remaining: number;
}

const processBudget: HashBudget = { remaining: SMALL_HASH_BUDGET };

/** The incremental interface of node:crypto's Hash that content tags use. */
export interface Sha256 {
  update(data: string | Uint8Array): Sha256;
  /** Lower-case hexadecimal digest; the hash cannot be updated afterwards. */
  digest(): string;
}

/** The module's compression function over its own memory (see sha256.wat for the layout). */
export interface Compressor {
  bytes: Uint8Array;
  words: Int32Array;
  compress: (state: number, data: number, blocks: number) => void;
}

/** Where the state words and the input go in the module's memory. */
const STATE = 512;
const INPUT = 1024;
/** Whole blocks that fit between INPUT and the end of the module's two pages. */
const INPUT_BLOCKS = (2 * 65536 - INPUT) >> 6;

let processCompressor: { compressor: Compressor | null } | undefined;

/** This process's compressor (compiled once), or null where WebAssembly is not available. */
export function defaultCompressor(): Compressor | null {
  processCompressor ??= { compressor: instantiate() };
  return processCompressor.compressor;
}

/** The part of the WebAssembly JavaScript API used here (this project's types have no DOM). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

function instantiate(): Compressor | null {
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (!wasm) return null;
  const { exports } = new wasm.Instance(new wasm.Module(Buffer.from(SHA256_WASM, 'base64')));
  const { memory, compress } = exports as {
    memory: { buffer: ArrayBuffer };
    compress: Compressor['compress'];
  };
  return { bytes: new Uint8Array(memory.buffer), words: new Int32Array(memory.buffer), compress };
}

const INITIAL_STATE = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

class SmallSha256 implements Sha256 {
  private readonly state = new Int32Array(INITIAL_STATE);
  /** A partly filled block, kept until the next update or the padding fills it. */
  private readonly block = new Uint8Array(64);
  private filled = 0;
  private length = 0;
  /** Set once the process outgrew its budget: this hash's input so far is replayed into it. */
  private native: import('node:crypto').Hash | undefined;
  private readonly pending: Uint8Array[] = [];

  private readonly budget: HashBudget;
  private readonly compressor: Compressor;

  constructor(budget: HashBudget, compressor: Compressor) {
    this.budget = budget;
    this.compressor = compressor;
  }

  update(data: string | Uint8Array): Sha256 {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (this.native) {
      this.native.update(bytes);
      return this;
    }
    if (bytes.length > this.budget.remaining) {
      this.budget.remaining = 0;
      this.native = nativeHash();
      for (const chunk of this.pending) this.native.update(chunk);
      this.native.update(bytes);
      return this;
    }
    this.pending.push(bytes);
    this.length += bytes.length;
    this.budget.remaining -= bytes.length;
    let offset = 0;
    // Top up a partly filled block first; then whole blocks straight from the input.
    if (this.filled > 0) {
      const take = Math.min(64 - this.filled, bytes.length);
      this.block.set(bytes.subarray(0, take), this.filled);
      this.filled += take;
      offset = take;
      if (this.filled < 64) return this;
      this.compress(this.block, 0, 1);
      this.filled = 0;
    }
    const whole = (bytes.length - offset) >> 6;
    for (let done = 0; done < whole;) {
      const blocks = Math.min(whole - done, INPUT_BLOCKS);
      this.compress(bytes, offset + done * 64, blocks);
      done += blocks;
    }
    offset += whole * 64;
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
      this.compress(this.block, 0, 1);
      this.filled = 0;
    }
    this.block.fill(0, this.filled, 56);
    const view = new DataView(this.block.buffer);
    view.setUint32(56, Math.floor(bits / 0x100000000));
    view.setUint32(60, bits >>> 0);
    this.compress(this.block, 0, 1);
    let hex = '';
    for (let i = 0; i < 8; i++) hex += ((this.state[i] ?? 0) >>> 0).toString(16).padStart(8, '0');
    return hex;
  }

  /** `blocks` 64-byte blocks of `from`, from `at`, through the module's memory. */
  private compress(from: Uint8Array, at: number, blocks: number): void {
    const { bytes, words, compress } = this.compressor;
    bytes.set(from.subarray(at, at + blocks * 64), INPUT);
    words.set(this.state, STATE >> 2);
    compress(STATE, INPUT, blocks);
    this.state.set(words.subarray(STATE >> 2, (STATE >> 2) + 8));
  }
}

function nativeHash(): import('node:crypto').Hash {
  return process.getBuiltinModule('node:crypto').createHash('sha256');
}

class NativeSha256 implements Sha256 {
  private readonly hash = nativeHash();
  update(data: string | Uint8Array): Sha256 {
    this.hash.update(data);
    return this;
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/**
 * A SHA-256 hash: WebAssembly for the first SMALL_HASH_BUDGET bytes of the process, then
 * node:crypto; node:crypto only where there is no WebAssembly (`compressor` null).
 */
export function createSha256(
  budget: HashBudget = processBudget,
  compressor: Compressor | null = defaultCompressor(),
): Sha256 {
  return compressor ? new SmallSha256(budget, compressor) : new NativeSha256();
}
