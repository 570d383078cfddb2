// The committed CLI bundle, run as a user runs it.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { load } from 'js-yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { goFunction, makeRepo, type TestRepo } from '../../test/support/git-repo.js';

const cli = path.resolve('dist/cli.js');
const run = promisify(execFile);

async function faas(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  nodeOptions: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...nodeOptions, cli, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('faas-deploy plan (dist/cli.js)', () => {
  let repo: TestRepo | undefined;
  afterEach(() => repo?.remove());

  it('prints the plan of examples/ as JSON and nothing else', async () => {
    const result = await faas(['plan', '--repo', 'examples', '--json']);
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as { mode: string; functions: Record<string, unknown>[] };
    expect(plan.mode).toBe('deploy');
    expect(plan.functions.map((fn) => fn.name)).toEqual(['echo', 'hello-http', 'hello-node', 'hello-python']);
    expect(plan.functions.slice(0, 1)).toEqual([
      {
        name: 'echo',
        directory: 'functions/echo',
        runtime: 'go',
        watchdog: 'classic',
        changed: true,
        action: 'deploy',
        service: 'echo',
        image: expect.stringMatching(/^localhost:5000\/echo:ctx-[0-9a-f]{32}$/) as unknown,
      },
    ]);
  });

  it('writes the Dockerfile and the Knative Service with --out', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'faas-out-'));
    const result = await faas(['plan', '--repo', 'examples', '--out', out, '--registry', 'ghcr.io/Octo-Org']);
    expect(result.code).toBe(0);
    const dockerfile = readFileSync(path.join(out, 'echo', 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('COPY --from=watchdog /fwatchdog /usr/bin/fwatchdog');
    expect(dockerfile).toContain('fprocess="/usr/bin/handler"');
    expect(dockerfile).not.toMatch(/\{\{/);
    const service = load(readFileSync(path.join(out, 'echo', 'service.yaml'), 'utf8')) as {
      apiVersion: string;
      metadata: { name: string; labels: Record<string, string> };
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(service.apiVersion).toBe('serving.knative.dev/v1');
    expect(service.metadata.name).toBe('echo');
    expect(service.metadata.labels['app.kubernetes.io/managed-by']).toBe('faas-deploy');
    expect(service.spec.template.spec.containers[0]?.image).toMatch(/^ghcr\.io\/octo-org\/echo:ctx-/);
  });

  it('stops quietly, exit 0, when its reader closes the pipe early (| head)', async () => {
    repo = makeRepo();
    const files: Record<string, string> = {};
    // More JSON than a pipe buffers (64 KiB), so the CLI is still writing when head exits.
    for (let i = 0; i < 400; i++) Object.assign(files, goFunction(`fn-${String(i).padStart(3, '0')}`));
    repo.commit('many functions', files);
    const { stdout, stderr } = await run('bash', [
      '-c',
      '"$0" "$1" plan --repo "$2" --json 2>"$2/.stderr" | head -c 100 >/dev/null; echo "${PIPESTATUS[0]}"',
      process.execPath,
      cli,
      repo.dir,
    ]);
    expect(stderr).toBe('');
    expect(readFileSync(path.join(repo.dir, '.stderr'), 'utf8')).toBe('');
    expect(stdout.trim()).toBe('0');
  });

  it('exits 2 with the usage on an unknown flag', async () => {
    const result = await faas(['plan', '--repo', 'examples', '--frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("Unknown option '--frobnicate'");
    expect(result.stderr).toContain('Usage: faas-deploy plan');
  });

  it('exits 2 without the plan command', async () => {
    expect((await faas(['--json'])).code).toBe(2);
  });

  it('exits 1 naming the file, field and line of an invalid function.yaml', async () => {
    repo = makeRepo();
    repo.commit('fn', {
      ...goFunction('hello'),
      'functions/hello/function.yaml': 'name: hello\nscale:\n  min: lots\n',
    });
    const result = await faas(['plan', '--repo', repo.dir, '--json']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('functions/hello/function.yaml:3:3: field "scale.min" must be integer');
  });

  it('plans only the functions changed between --base and --head', async () => {
    repo = makeRepo();
    const base = repo.commit('two functions', { ...goFunction('alpha'), ...goFunction('beta') });
    const head = repo.commit('change beta', {
      'functions/beta/main.go': '// changed\n' + 'package main\nfunc main() {}\n',
    });
    const result = await faas(['plan', '--repo', repo.dir, '--base', base, '--head', head, '--json']);
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as {
      base: string;
      head: string;
      functions: { name: string; action: string; changed: boolean }[];
    };
    expect(plan.base).toBe(base);
    expect(plan.head).toBe(head);
    expect(plan.functions.map((fn) => [fn.name, fn.changed, fn.action])).toEqual([
      ['alpha', false, 'skip'],
      ['beta', true, 'deploy'],
    ]);
    expect(existsSync(path.join(repo.dir, 'out'))).toBe(false);
  });

  it('resolves revisions given by name, and says which one is not a commit', async () => {
    repo = makeRepo();
    const base = repo.commit('two functions', { ...goFunction('alpha'), ...goFunction('beta') });
    const head = repo.commit('change alpha', { 'functions/alpha/extra.go': 'package main\n' });
    const byName = await faas(['plan', '--repo', repo.dir, '--base', 'HEAD~1', '--head', 'main', '--json']);
    expect(byName.code).toBe(0);
    const plan = JSON.parse(byName.stdout) as {
      base: string;
      head: string;
      functions: { changed: boolean }[];
    };
    expect([plan.base, plan.head]).toEqual([base, head]);
    expect(plan.functions.map((fn) => fn.changed)).toEqual([true, false]);

    // Full object ids take the one-process path; one that is a blob, or unknown, is named.
    const blob = repo.git('rev-parse', `${head}:functions/alpha/go.mod`);
    const notCommit = await faas(['plan', '--repo', repo.dir, '--base', base, '--head', blob, '--json']);
    expect(notCommit).toMatchObject({ code: 1, stdout: '' });
    expect(notCommit.stderr).toContain(`Revision "${blob}" is not a commit in ${repo.dir}.`);
    const unknown = 'f'.repeat(40);
    const missing = await faas(['plan', '--repo', repo.dir, '--base', unknown, '--head', head, '--json']);
    expect(missing.stderr).toContain(`Revision "${unknown}" is not a commit`);
    const option = await faas(['plan', '--repo', repo.dir, '--base', '--output=x', '--head', head]);
    expect(option.code).not.toBe(0);
    expect(existsSync(path.join(repo.dir, 'x'))).toBe(false);
  });

  it('takes a runtime only from a regular file: not a directory or a symbolic link of that name', async () => {
    repo = makeRepo();
    repo.commit('functions', {
      ...goFunction('plain'),
      'functions/dir-marker/package.json/keep': '',
      'functions/dir-marker/handler.py': 'print(1)\n',
      'functions/linked/handler.py': 'print(1)\n',
      'functions/nothing/README.md': '',
      'elsewhere/go.mod': 'module x\n',
    });
    symlinkSync(
      path.join(repo.dir, 'elsewhere', 'go.mod'),
      path.join(repo.dir, 'functions', 'linked', 'go.mod'),
    );
    mkdirSync(path.join(repo.dir, 'functions', 'yaml-dir', 'function.yaml'), { recursive: true });
    symlinkSync(
      path.join(repo.dir, 'elsewhere', 'go.mod'),
      path.join(repo.dir, 'functions', 'yaml-dir', 'Dockerfile'),
    );
    const result = await faas(['plan', '--repo', repo.dir, '--json']);
    expect(result.stderr).toBe('');
    const plan = JSON.parse(result.stdout) as { functions: { name: string; runtime: string }[] };
    expect(plan.functions.map((fn) => [fn.name, fn.runtime])).toEqual([
      ['dir-marker', 'python'],
      ['linked', 'python'],
      ['plain', 'go'],
    ]);
  });

  it('names the source file and function in a stack trace, with node --enable-source-maps', async () => {
    // Standard output on a full device: the write fails (ENOSPC), which the CLI does not handle.
    const stderr = path.join(mkdtempSync(path.join(tmpdir(), 'faas-trace-')), 'stderr');
    const { stdout } = await run('bash', [
      '-c',
      '"$0" --enable-source-maps "$1" plan --repo examples --json >/dev/full 2>"$2"; echo "$?"',
      process.execPath,
      cli,
      stderr,
    ]);
    expect(stdout.trim()).toBe('1');
    const trace = readFileSync(stderr, 'utf8');
    expect(trace).toContain('ENOSPC');
    expect(trace).toMatch(/\n {4}at main \(\/\S+\/src\/cli\.ts:\d+:\d+\)\n/);
  });

  it('ships a source map that maps the CLI to its sources', () => {
    const map = JSON.parse(readFileSync(`${cli}.map`, 'utf8')) as { sources: string[] };
    expect(readFileSync(cli, 'utf8')).toMatch(/\n\/\/# sourceMappingURL=cli\.js\.map\n$/);
    expect(map.sources).toEqual(expect.arrayContaining(['../src/cli.ts', '../src/plan/discover.ts']));
  });

  it('reports where the time went with FAAS_DEPLOY_TIMINGS=1, on standard error only', async () => {
    repo = makeRepo();
    const base = repo.commit('one function', goFunction('alpha'));
    const head = repo.commit('change it', { 'functions/alpha/extra.go': 'package main\n' });
    const args = ['plan', '--repo', repo.dir, '--base', base, '--head', head, '--json'];
    const quiet = await faas(args);
    const timed = await faas(args, { ...process.env, FAAS_DEPLOY_TIMINGS: '1' });
    expect(quiet.stderr).toBe('');
    expect(timed.stdout).toBe(quiet.stdout);
    expect(timed.stderr).toMatch(
      /^faas-deploy timings: startup [\d.]+ ms, discovery [\d.]+ ms, manifests [\d.]+ ms, git [\d.]+ ms, plan [\d.]+ ms, packaging [\d.]+ ms, output [\d.]+ ms, total [\d.]+ ms\n$/,
    );
  });
});
