import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processBinding } from '../../src/util/process-binding.js';

describe('processBinding', () => {
  it("hands out Node's own bindings", () => {
    expect(typeof processBinding('fs')?.['lstat']).toBe('function');
    expect(typeof processBinding('spawn_sync')?.['spawn']).toBe('function');
  });

  it("tells Node's own process.binding from the wrapper --pending-deprecation puts in its place", () => {
    const name = (flags: string[]) =>
      spawnSync(process.execPath, [...flags, '-p', 'process.binding.name'], { encoding: 'utf8' });
    expect(name([]).stdout.trim()).toBe('binding');
    const wrapped = name(['--pending-deprecation']);
    // The name processBinding refuses: calling the wrapper would print DEP0111.
    expect(wrapped.stdout.trim()).toBe('deprecated');
    expect(wrapped.stderr).toBe('');
  });

  it('gives nothing for a missing, wrapped or refusing process.binding, or a binding that is no object', () => {
    expect(processBinding('fs', null)).toBeUndefined();
    const deprecated = function deprecated() {
      throw new Error('must not be called');
    };
    expect(processBinding('fs', deprecated)).toBeUndefined();
    const refusing = function binding(): never {
      throw new Error('No such module: fs');
    };
    expect(processBinding('fs', refusing)).toBeUndefined();
    const odd = function binding() {
      return 'not an object';
    };
    expect(processBinding('fs', odd)).toBeUndefined();
  });
});
