/**
 * The system's temporary directory, as os.tmpdir() gives it, without loading node:os (~0.35 ms of
 * a CLI start, issue #4). On POSIX systems os.tmpdir() is TMPDIR, TMP or TEMP, the first one set,
 * else /tmp, without a trailing slash; Windows asks node:os itself. The tests hold the two to the
 * same answers (__tests__/unit/temp-dir.test.ts).
 */
export function temporaryDirectory(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (platform === 'win32') return process.getBuiltinModule('node:os').tmpdir();
  const dir = env.TMPDIR || env.TMP || env.TEMP || '/tmp';
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
}
