import { describe, expect, it } from 'vitest';
import { formatProblem, parseManifest } from '../../../src/plan/manifest.js';
import { buildFunctionSpecs } from '../../../src/plan/discover.js';

const file = 'functions/hello/function.yaml';

describe('parseManifest', () => {
  it('accepts every documented field', () => {
    const { manifest, problems } = parseManifest(
      [
        'name: hello',
        'runtime: go',
        'watchdog: of-watchdog',
        'env: { GREETING: hi, COUNT: 3 }',
        'secrets: [db-credentials]',
        'scale: { min: 0, max: 10, target: 100 }',
        'concurrency: 0',
        'timeout: 60s',
        'resources: { cpu: 250m, memory: 128Mi }',
        'visibility: cluster-local',
      ].join('\n'),
      file,
    );
    expect(problems).toEqual([]);
    expect(manifest).toMatchObject({ name: 'hello', scale: { max: 10 }, resources: { memory: '128Mi' } });
  });

  it.each([
    [
      'runtime: java\n',
      'functions/hello/function.yaml:1:1: field "runtime" must be one of go, node, python, dockerfile',
    ],
    ['name: Hello_World\n', 'field "name" must be a DNS-1035 label'],
    [`name: ${'a'.repeat(40)}\n`, 'field "name" must be at most 39 characters'],
    [
      'env:\n  GREETING: hi\n  colour: [red]\n',
      'functions/hello/function.yaml:3:3: field "env.colour" must be string,number,boolean',
    ],
    [
      'scale:\n  min: 1\n  burst: 4\n',
      'functions/hello/function.yaml:3:3: field "scale.burst" unknown field "burst"; expected one of min, max, target',
    ],
    ['replicas: 3\n', 'functions/hello/function.yaml:1:1: field "replicas" unknown field "replicas"'],
    ['timeout: 20m\n', 'field "timeout" must be a duration from 1s to 10m'],
    ['env:\n  PORT: "9000"\n', 'functions/hello/function.yaml:2:3: field "env.PORT" is reserved by Knative'],
    ['scale: { min: 5, max: 2 }\n', 'field "scale.min" must not exceed scale.max'],
    ['name: [unclosed\n', 'functions/hello/function.yaml:2:1: is not valid YAML'],
    ['- a\n- b\n', 'functions/hello/function.yaml:1: must be a mapping of fields'],
  ])('reports %j as %s', (text, expected) => {
    const { manifest, problems } = parseManifest(text, file);
    expect(manifest).toBeUndefined();
    expect(problems.map(formatProblem).join('\n')).toContain(expected);
  });
});

describe('buildFunctionSpecs', () => {
  it('detects runtimes in order and fills defaults', () => {
    const { functions, problems } = buildFunctionSpecs(
      [
        { directory: 'functions/a', files: new Set(['go.mod', 'package.json']) },
        { directory: 'functions/b', files: new Set(['package.json', 'requirements.txt']) },
        { directory: 'functions/c', files: new Set(['handler.py', 'Dockerfile']) },
        { directory: 'functions/d', files: new Set(['Dockerfile']) },
        { directory: 'functions/e', files: new Set(['notes.txt']) },
        {
          directory: 'functions/f',
          files: new Set(['function.yaml', 'run.sh']),
          manifestText: 'runtime: dockerfile\n',
        },
      ],
      { watchdog: 'classic' },
      parseManifest,
    );
    expect(problems).toEqual([]);
    expect(functions.map((fn) => [fn.name, fn.runtime])).toEqual([
      ['a', 'go'],
      ['b', 'node'],
      ['c', 'python'],
      ['d', 'dockerfile'],
      ['f', 'dockerfile'],
    ]);
    expect(functions[0]).toMatchObject({
      watchdog: 'classic',
      timeoutSeconds: 60,
      visibility: 'public',
      env: {},
    });
  });

  it('reports duplicate names naming both directories', () => {
    const { problems } = buildFunctionSpecs(
      [
        { directory: 'functions/a', files: new Set(['go.mod']), manifestText: 'name: shared\n' },
        {
          directory: 'functions/b',
          files: new Set(['go.mod', 'function.yaml']),
          manifestText: 'name: shared\n',
        },
      ],
      { watchdog: 'classic' },
      parseManifest,
    );
    expect(problems).toEqual([
      {
        file: 'functions/b/function.yaml',
        field: 'name',
        message: 'function name "shared" is already used by functions/a',
      },
    ]);
  });

  it('rejects a function name in the form of a preview Service (<name>-pr-<N>)', () => {
    const { functions, problems } = buildFunctionSpecs(
      [
        { directory: 'functions/foo-pr-7', files: new Set(['go.mod']) },
        {
          directory: 'functions/b',
          files: new Set(['go.mod', 'function.yaml']),
          manifestText: 'name: api-pr-12\n',
        },
        { directory: 'functions/pr-7', files: new Set(['go.mod']) },
      ],
      { watchdog: 'classic' },
      parseManifest,
    );
    expect(functions.map((fn) => fn.name)).toEqual(['pr-7']);
    expect(problems.map((p) => [p.file, p.field, p.message.slice(0, 40)])).toEqual([
      ['functions/foo-pr-7', 'name', 'function name "foo-pr-7" ends in -pr-<N>'],
      ['functions/b/function.yaml', 'name', 'function name "api-pr-12" ends in -pr-<N'],
    ]);
  });

  it('rejects a directory name that is no valid function name unless function.yaml names it', () => {
    const { functions, problems } = buildFunctionSpecs(
      [
        { directory: 'functions/My_Func', files: new Set(['go.mod']) },
        { directory: 'functions/Other_Func', files: new Set(['go.mod']), manifestText: 'name: other\n' },
      ],
      { watchdog: 'classic' },
      parseManifest,
    );
    expect(problems.map((p) => p.message)).toEqual([
      'directory name "My_Func" is not a valid function name (DNS-1035 label of at most 39 characters); rename the directory or set "name" in function.yaml',
    ]);
    expect(functions.map((fn) => fn.name)).toEqual(['other']);
  });
});
