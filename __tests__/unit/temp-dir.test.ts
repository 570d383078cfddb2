import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { temporaryDirectory } from '../../src/util/temp-dir.js';

describe('temporaryDirectory', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  const cases: Partial<Record<'TMPDIR' | 'TMP' | 'TEMP', string>>[] = [
    {},
    { TMPDIR: '/var/tmp' },
    { TMPDIR: '/var/tmp/' },
    { TMPDIR: '/' },
    { TMPDIR: '', TMP: '/srv/tmp' },
    { TMP: '/srv/tmp/', TEMP: '/other' },
    { TEMP: '/other' },
    { TMPDIR: 'relative/dir/' },
    { TMPDIR: '/with space/ü' },
  ];

  it.each(cases.map((env) => [JSON.stringify(env), env]))('answers as os.tmpdir() with %s', (_shown, env) => {
    for (const key of ['TMPDIR', 'TMP', 'TEMP'] as const) vi.stubEnv(key, env[key]);
    expect(temporaryDirectory()).toBe(tmpdir());
  });
});
