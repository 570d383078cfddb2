// Every kind of function.yaml mistake, through both bundles: the CLI exits 1 naming the file, the
// field and the line; the action fails with an error annotation on that file and line.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { goFunction, makeRepo, type TestRepo } from '../../test/support/git-repo.js';

const run = promisify(execFile);
const repos: TestRepo[] = [];
afterAll(() => {
  for (const repo of repos) repo.remove();
});

interface Case {
  what: string;
  files: Record<string, string>;
  /** file:line of the problem, and the text of the message after it. */
  location: string;
  message: string;
}

const manifest = (text: string) => ({ ...goFunction('hello'), 'functions/hello/function.yaml': text });

const cases: Case[] = [
  {
    what: 'an unknown field',
    files: manifest('name: hello\nreplicas: 3\n'),
    location: 'functions/hello/function.yaml:2:1',
    message: 'field "replicas" unknown field "replicas"',
  },
  {
    what: 'an unknown nested field',
    files: manifest('scale:\n  min: 0\n  burst: 2\n'),
    location: 'functions/hello/function.yaml:3:3',
    message: 'field "scale.burst" unknown field "burst"; expected one of min, max, target',
  },
  {
    what: 'a wrong type',
    files: manifest('concurrency: many\n'),
    location: 'functions/hello/function.yaml:1:1',
    message: 'field "concurrency" must be integer',
  },
  {
    what: 'a wrong enum value',
    files: manifest('\nwatchdog: turbo\n'),
    location: 'functions/hello/function.yaml:2:1',
    message: 'field "watchdog" must be one of classic, of-watchdog',
  },
  {
    what: 'a name that is no DNS-1035 label',
    files: manifest('name: Hello_World\n'),
    location: 'functions/hello/function.yaml:1:1',
    message: 'field "name" must be a DNS-1035 label',
  },
  {
    what: 'a name too long for its preview Service',
    files: manifest(`name: ${'x'.repeat(40)}\n`),
    location: 'functions/hello/function.yaml:1:1',
    message: 'field "name" must be at most 39 characters',
  },
  {
    what: 'a bad timeout',
    files: manifest('timeout: 2 minutes\n'),
    location: 'functions/hello/function.yaml:1:1',
    message: 'field "timeout" must be a duration such as 30s, 2m or 1m30s',
  },
  {
    what: 'a reserved environment variable',
    files: manifest('env:\n  K_SERVICE: x\n'),
    location: 'functions/hello/function.yaml:2:3',
    message: 'field "env.K_SERVICE" is reserved by Knative',
  },
  {
    what: 'a bad memory quantity',
    files: manifest('resources:\n  memory: lots\n'),
    location: 'functions/hello/function.yaml:2:3',
    message: 'field "resources.memory" must be a memory quantity such as 128Mi or 1Gi',
  },
  {
    what: 'broken YAML',
    files: manifest('env: {A: 1\n'),
    location: 'functions/hello/function.yaml:2:1',
    message: 'is not valid YAML',
  },
  {
    what: 'a duplicate name',
    files: {
      ...manifest('name: shared\n'),
      ...goFunction('other'),
      'functions/other/function.yaml': 'name: shared\n',
    },
    location: 'functions/other/function.yaml',
    message: 'field "name" function name "shared" is already used by functions/hello',
  },
];

async function node(args: string[], env?: NodeJS.ProcessEnv, cwd?: string) {
  return run(process.execPath, args, { ...(env ? { env } : {}), ...(cwd ? { cwd } : {}) }).then(
    (done) => ({ code: 0, stdout: done.stdout, stderr: done.stderr }),
    (error: unknown) => error as { code: number; stdout: string; stderr: string },
  );
}

describe.each(cases)('function.yaml with $what', ({ files, location, message }) => {
  const repo = makeRepo();
  repos.push(repo);
  repo.commit('functions', files);
  const [file, line, column] = location.split(':');

  it('makes the CLI exit 1 naming file, field and line', async () => {
    const result = await node([path.resolve('dist/cli.js'), 'plan', '--repo', repo.dir, '--json']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`faas-deploy: ${location}: ${message}`);
  });

  it('makes the action fail with an annotation on that file and line', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'faas-runner-'));
    for (const name of ['output', 'summary']) writeFileSync(path.join(work, name), '');
    const result = await node(
      [path.resolve('dist/index.js')],
      {
        PATH: process.env['PATH'],
        GITHUB_WORKSPACE: repo.dir,
        GITHUB_OUTPUT: path.join(work, 'output'),
        GITHUB_STEP_SUMMARY: path.join(work, 'summary'),
        INPUT_MODE: 'plan',
      },
      repo.dir,
    );
    expect(result.code).toBe(1);
    const annotation = `::error title=Invalid function,file=${file ?? ''}${line ? `,line=${line}` : ''}${column ? `,col=${column}` : ''}::`;
    const lines = result.stdout.split('\n').filter((l) => l.startsWith(annotation));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(message);
  });
});
