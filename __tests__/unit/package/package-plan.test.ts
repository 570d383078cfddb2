import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBuildContext } from '../../../src/package/build-context.js';
import { contentTag } from '../../../src/package/content-tag.js';
import {
  FUNCTION_DIR,
  packageFunction,
  TEMPLATE_DIR,
  writeBuildContext,
} from '../../../src/package/index.js';
import { renderDockerfile, requestTimeouts, SHUTDOWN_GRACE } from '../../../src/package/render-dockerfile.js';
import { fillTemplate, loadTemplate, TEMPLATE_VERSION } from '../../../src/package/template.js';
import { DEFAULT_BASE_IMAGES, resolveBaseImages } from '../../../src/package/base-images.js';
import type { FunctionSpec, Runtime, Watchdog } from '../../../src/plan/types.js';
import { UserError } from '../../../src/util/errors.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');

function specOf(
  runtime: Runtime,
  watchdog: Watchdog = 'classic',
  directory = 'functions/fn',
  timeoutSeconds = 30,
): FunctionSpec {
  return {
    name: 'fn',
    directory,
    runtime,
    watchdog,
    env: {},
    secrets: [],
    scale: {},
    timeoutSeconds,
    resources: {},
    visibility: 'public',
  };
}

function makeDir(files: Record<string, string>, mode = 0o644): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'faas-ctx-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text, { mode });
  }
  return dir;
}

function files(names: Record<string, string>): { path: string; kind: 'file'; data: Buffer }[] {
  return Object.entries(names).map(([p, text]) => ({ path: p, kind: 'file', data: Buffer.from(text) }));
}

/** Lines of the last stage of a Dockerfile (from its last FROM on). */
function finalStage(dockerfile: string): string[] {
  const lines = dockerfile.split('\n');
  const last = lines.map((l) => l.startsWith('FROM ')).lastIndexOf(true);
  return lines.slice(last);
}

const typicalFiles: Record<'go' | 'node' | 'python', Record<Watchdog, Record<string, string>>> = {
  go: {
    classic: { 'go.mod': 'module x\n', 'go.sum': '', 'main.go': 'package main\n' },
    'of-watchdog': { 'go.mod': 'module x\n', 'handler.go': 'package function\n' },
  },
  node: {
    classic: { 'package.json': '{}', 'package-lock.json': '{}', 'index.js': '' },
    'of-watchdog': { 'package.json': '{}', 'handler.js': '' },
  },
  python: {
    classic: { 'requirements.txt': 'six\n', 'handler.py': '' },
    'of-watchdog': { 'handler.py': '' },
  },
};

describe('fillTemplate', () => {
  it('keeps or drops {{#if}} blocks, whole lines included, and fills placeholders', () => {
    const text =
      'A\n{{#if yes}}\nB {{v}}\n{{/if}}\n{{#if no}}\nC\n{{/if}}\nD {{#if yes}}e{{/if}}{{#if no}}f{{/if}}\n';
    expect(fillTemplate(text, { yes: true, no: '', v: 'value' })).toBe('A\nB value\nD e\n');
    expect(fillTemplate(text, { yes: 'x', no: false, v: 'value' })).toBe('A\nB value\nD e\n');
  });

  it('never leaves a placeholder or a block without a value', () => {
    expect(() => fillTemplate('FROM {{image}}', {})).toThrow('Template placeholder {{image}} has no value.');
    expect(() => fillTemplate('{{#if x}}a{{/if}}', {})).toThrow('Template block {{#if x}} has no value.');
    expect(() => fillTemplate('{{#if x}}a', { x: true })).toThrow('unbalanced or nested');
    expect(() => fillTemplate('{{#if x}}\n{{#if y}}\na\n{{/if}}\n{{/if}}\n', { x: true, y: true })).toThrow(
      'has a nested block',
    );
  });
});

describe('renderDockerfile', () => {
  it('fills every placeholder of the Go classic template with the base images and the timeouts', async () => {
    const images = resolveBaseImages({
      builder: '127.0.0.1:5000/golang:1.26',
      watchdog: '127.0.0.1:5000/wd:0.3.9',
    });
    const dockerfile = renderDockerfile(
      specOf('go'),
      await loadTemplate('go', 'classic'),
      images,
      files(typicalFiles.go.classic),
    );
    expect(dockerfile).not.toContain('{{');
    expect(dockerfile).toContain('ARG BUILDER_IMAGE=127.0.0.1:5000/golang:1.26');
    expect(dockerfile).toContain('ARG WATCHDOG_IMAGE=127.0.0.1:5000/wd:0.3.9');
    expect(dockerfile).toContain(`ARG RUNTIME_IMAGE=${DEFAULT_BASE_IMAGES.runtime}`);
    expect(dockerfile).toContain('exec_timeout="30s"');
    expect(dockerfile).toContain('read_timeout="31s"');
    expect(dockerfile).toContain('write_timeout="31s"');
    expect(dockerfile).toContain('combine_output="false"');
    expect(dockerfile).toContain('COPY function/go.mod function/go.sum ./');
  });

  it.each([
    ['go', 'classic'],
    ['go', 'of-watchdog'],
    ['node', 'classic'],
    ['node', 'of-watchdog'],
    ['python', 'classic'],
    ['python', 'of-watchdog'],
  ] as const)(
    '%s/%s: watchdog settings, non-root, and a final stage that runs nothing',
    async (runtime, watchdog) => {
      const dockerfile = renderDockerfile(
        specOf(runtime, watchdog, 'functions/fn', 5),
        await loadTemplate(runtime, watchdog),
        DEFAULT_BASE_IMAGES,
        files(typicalFiles[runtime][watchdog]),
      );
      expect(dockerfile).not.toMatch(/\{\{|\}\}/);
      expect(dockerfile).toContain(`template ${TEMPLATE_VERSION}`);
      const final = finalStage(dockerfile);
      expect(final[0]).toBe('FROM ${RUNTIME_IMAGE}');
      // Only COPY/ENV/LABEL/USER/WORKDIR/EXPOSE/ENTRYPOINT: nothing executes in the final image's build,
      // so nothing but what is copied explicitly can come from a build stage, and a shell-less base works.
      expect(final.filter((l) => /^RUN\b/.test(l))).toEqual([]);
      expect(final).toContain('USER 65534:65534');
      expect(final).toContain('ENTRYPOINT ["/usr/bin/fwatchdog"]');
      expect(final).toContain('COPY --from=watchdog /fwatchdog /usr/bin/fwatchdog');
      const env = final.join('\n');
      expect(env).toContain('port="8080"');
      expect(env).toContain('exec_timeout="5s"');
      expect(env).toContain('read_timeout="6s"');
      expect(env).toContain('write_timeout="6s"');
      expect(env).toContain(`healthcheck_interval="${SHUTDOWN_GRACE}"`);
      expect(env).toContain('HOME="/tmp"');
      if (watchdog === 'classic') {
        expect(env).toContain('combine_output="false"');
        expect(env).not.toContain('mode="http"');
      } else {
        expect(env).toContain('mode="http"');
        expect(env).toContain('upstream_url="http://127.0.0.1:8082"');
        expect(env).toContain('ready_path="/_/ready"');
      }
      const imageKeys = {
        go: ['builder', 'runtime'],
        node: ['node', 'nodeRuntime'],
        python: ['python', 'pythonRuntime'],
      } as const;
      const [builder, runtimeImage] = imageKeys[runtime];
      expect(dockerfile).toContain(`ARG RUNTIME_IMAGE=${DEFAULT_BASE_IMAGES[runtimeImage]}`);
      expect(dockerfile).toContain(`ARG BUILDER_IMAGE=${DEFAULT_BASE_IMAGES[builder]}`);
    },
  );

  it('node: npm ci with a lockfile, npm install without one, no dependency stage without package.json', async () => {
    const template = await loadTemplate('node', 'classic');
    const render = (f: Record<string, string>) =>
      renderDockerfile(specOf('node'), template, DEFAULT_BASE_IMAGES, files(f));
    const locked = render({ 'package.json': '{}', 'package-lock.json': '{}', 'index.js': '' });
    expect(locked).toContain('COPY function/package.json function/package-lock.json ./');
    expect(locked).toContain('RUN npm ci --omit=dev');
    expect(locked).toContain('COPY --from=deps /home/app/node_modules/ ./node_modules/');
    const unlocked = render({ 'package.json': '{}', 'index.js': '' });
    expect(unlocked).toContain('COPY function/package.json ./');
    expect(unlocked).toContain('RUN npm install --no-package-lock --omit=dev');
    const bare = render({ 'index.js': '' });
    expect(bare).not.toContain('AS deps');
    expect(bare).not.toContain('COPY --from=deps');
    expect(() => render({ 'package.json': '{"main": "server.js"}' })).toThrow(/"main" names server.js/);
    expect(() => render({ 'package.json': '{}' })).toThrow(UserError);
    expect(render({ 'package.json': '{"main": "lib/start"}', 'lib/start.js': '' })).toContain(
      'fprocess="node /home/app"',
    );
  });

  it('python: requirements.txt, else pyproject.toml dependencies, else no dependency stage', async () => {
    const template = await loadTemplate('python', 'classic');
    const render = (f: Record<string, string>) =>
      renderDockerfile(specOf('python'), template, DEFAULT_BASE_IMAGES, files(f));
    const req = render({ 'requirements.txt': 'six\n', 'main.py': '' });
    expect(req).toContain('COPY function/requirements.txt ./');
    expect(req).toContain('--target /opt/faas-deploy/python -r requirements.txt');
    expect(req).toContain('fprocess="python3 /home/app/main.py"');
    const pyproject = render({ 'pyproject.toml': '[project]\n', 'handler.py': '', 'main.py': '' });
    expect(pyproject).toContain('COPY function/pyproject.toml ./');
    expect(pyproject).toContain('import tomllib');
    expect(pyproject).toContain('fprocess="python3 /home/app/handler.py"');
    const bare = render({ 'handler.py': '' });
    expect(bare).not.toContain('AS deps');
    expect(bare).not.toContain('/opt/faas-deploy/python/ /opt');
    expect(() => render({ 'app.py': '' })).toThrow('needs a handler.py or main.py');
    expect(() =>
      renderDockerfile(
        specOf('python', 'of-watchdog'),
        { text: '' },
        DEFAULT_BASE_IMAGES,
        files({ 'main.py': '' }),
      ),
    ).toThrow('needs a handler.py defining handle(event, context)');
  });

  it('go: a go.mod is required; go.sum is copied only when there is one', async () => {
    const template = await loadTemplate('go', 'classic');
    const render = (f: Record<string, string>) =>
      renderDockerfile(specOf('go'), template, DEFAULT_BASE_IMAGES, files(f));
    expect(render({ 'go.mod': 'module x\n', 'main.go': '' })).toContain('COPY function/go.mod ./\n');
    expect(() => render({ 'main.go': '' })).toThrow('needs a go.mod');
  });

  it('derives Knative timeoutSeconds above the watchdog timeouts', () => {
    expect(requestTimeouts(59.2)).toEqual({
      exec: '60s',
      read: '61s',
      write: '61s',
      knativeTimeoutSeconds: 62,
    });
  });
});

describe('resolveBaseImages', () => {
  it('uses an overridden build image for the final image too unless that is overridden as well', () => {
    expect(resolveBaseImages({})).toEqual(DEFAULT_BASE_IMAGES);
    const mirror = resolveBaseImages({
      node: 'mirror/node:24',
      python: 'mirror/py',
      pythonRuntime: 'mirror/py-rt',
    });
    expect(mirror.node).toBe('mirror/node:24');
    expect(mirror.nodeRuntime).toBe('mirror/node:24');
    expect(mirror.pythonRuntime).toBe('mirror/py-rt');
    expect(mirror.runtime).toBe(DEFAULT_BASE_IMAGES.runtime);
    expect(resolveBaseImages(mirror)).toEqual(mirror);
  });
});

describe('readBuildContext', () => {
  it('honours .dockerignore with Docker rules: globs, directories, ** and ! exceptions', () => {
    const dir = makeDir({
      '.dockerignore': '# comment\n*.log\nsecrets/\n**/*.tmp\ndocs\n!docs/keep.md\n/Dockerfile.dev\n',
      'main.go': '',
      'debug.log': '',
      'sub/trace.log': '',
      'secrets/key': '',
      'a/b/c.tmp': '',
      'docs/other.md': '',
      'docs/keep.md': '',
      'Dockerfile.dev': '',
      'Main.LOG': '',
    });
    const paths = readBuildContext(dir).map((e) => `${e.kind}:${e.path}`);
    expect(paths).toEqual([
      'file:.dockerignore',
      'file:Main.LOG',
      'dir:a',
      'dir:a/b',
      'file:docs/keep.md',
      'file:main.go',
      'dir:sub',
      'file:sub/trace.log',
    ]);
  });

  it('records a symlink as a link and never follows it, nor a symlinked .dockerignore', () => {
    const outside = makeDir({ 'secret.txt': 'top secret', ignore: '*\n' });
    const dir = makeDir({ 'main.go': 'package main\n' });
    symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'leak.txt'));
    symlinkSync(outside, path.join(dir, 'linked-dir'));
    symlinkSync(path.join(outside, 'ignore'), path.join(dir, '.dockerignore'));
    const entries = readBuildContext(dir);
    expect(entries.map((e) => `${e.kind}:${e.path}`)).toEqual([
      'symlink:.dockerignore',
      'symlink:leak.txt',
      'symlink:linked-dir',
      'file:main.go',
    ]);
    expect(entries.find((e) => e.path === 'leak.txt')?.data.toString()).toBe(
      path.join(outside, 'secret.txt'),
    );
    expect(entries.some((entry) => entry.data.toString().includes('top secret'))).toBe(false);
  });
});

describe('packageFunction', () => {
  it('leaves function.yaml, .git and (node) node_modules out of the context and adds the scaffold', async () => {
    const dir = makeDir({
      'function.yaml': 'watchdog: of-watchdog\n',
      'handler.js': 'module.exports = async () => "hi";\n',
      'package.json': '{}',
      'node_modules/x/index.js': '',
      '.git/HEAD': '',
      'lib/node_modules/kept.js': '',
    });
    const packaged = await packageFunction(
      path.dirname(dir),
      specOf('node', 'of-watchdog', path.basename(dir)),
      DEFAULT_BASE_IMAGES,
    );
    expect(packaged.dockerfilePath).toBe(`${TEMPLATE_DIR}/Dockerfile`);
    expect(packaged.template).toBe('node/of-watchdog');
    expect(packaged.entries.map((e) => e.path)).toEqual([
      '.faas/server.mjs',
      `${FUNCTION_DIR}/handler.js`,
      `${FUNCTION_DIR}/lib`,
      `${FUNCTION_DIR}/lib/node_modules`,
      `${FUNCTION_DIR}/lib/node_modules/kept.js`,
      `${FUNCTION_DIR}/package.json`,
    ]);
    // function.yaml is Service configuration: editing only it (scale, env) keeps the image.
    const before = packaged.tag;
    writeFileSync(path.join(dir, 'function.yaml'), 'watchdog: of-watchdog\nscale: { max: 3 }\n');
    const again = await packageFunction(
      path.dirname(dir),
      specOf('node', 'of-watchdog', path.basename(dir)),
      DEFAULT_BASE_IMAGES,
    );
    expect(again.tag).toBe(before);
  });

  it('uses the Dockerfile of runtime "dockerfile" unchanged, at the context root', async () => {
    const dir = makeDir({
      Dockerfile: 'FROM scratch\nCOPY app /app\n',
      app: 'x',
      '.dockerignore': 'Dockerfile\n',
    });
    const packaged = await packageFunction(
      path.dirname(dir),
      specOf('dockerfile', 'classic', path.basename(dir)),
      DEFAULT_BASE_IMAGES,
    );
    expect(packaged.dockerfile).toBe('FROM scratch\nCOPY app /app\n');
    expect(packaged.dockerfilePath).toBe('Dockerfile');
    expect(packaged.entries.map((e) => e.path)).toEqual(['.dockerignore', 'app']);
    const out = mkdtempSync(path.join(tmpdir(), 'faas-out-'));
    await writeBuildContext(packaged, out);
    expect(readFileSync(path.join(out, 'Dockerfile'), 'utf8')).toBe('FROM scratch\nCOPY app /app\n');
  });

  it('renders the seed example (examples/functions/echo) with the Go classic template', async () => {
    const packaged = await packageFunction(
      repoRoot,
      specOf('go', 'classic', 'examples/functions/echo'),
      DEFAULT_BASE_IMAGES,
    );
    expect(packaged.entries.map((e) => e.path)).toEqual(['function/go.mod', 'function/main.go']);
    expect(packaged.dockerfile).toContain('COPY function/go.mod ./\n');
    expect(packaged.tag).toMatch(/^ctx-[0-9a-f]{32}$/);
  });
});

describe('writeBuildContext', () => {
  it('writes what the tag hashed: 0644/0755 modes whatever the source modes, one mtime, links kept', async () => {
    const dir = makeDir(
      { 'go.mod': 'module x\n', 'main.go': 'package main\n', 'sub/run.sh': '#!/bin/sh\n' },
      0o600,
    );
    chmodSync(path.join(dir, 'sub/run.sh'), 0o700);
    chmodSync(path.join(dir, 'sub'), 0o700);
    symlinkSync('main.go', path.join(dir, 'alias.go'));
    const packaged = await packageFunction(
      path.dirname(dir),
      specOf('go', 'classic', path.basename(dir)),
      DEFAULT_BASE_IMAGES,
    );
    const out = mkdtempSync(path.join(tmpdir(), 'faas-out-'));
    expect(await writeBuildContext(packaged, out)).toBe('.faas/Dockerfile');
    expect(readFileSync(path.join(out, '.faas/Dockerfile'), 'utf8')).toBe(packaged.dockerfile);
    expect(statSync(path.join(out, 'function/main.go')).mode & 0o777).toBe(0o644);
    expect(statSync(path.join(out, 'function/sub/run.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(out, 'function/sub')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(out, 'function')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(path.join(out, 'function/alias.go'))).toBe('main.go');
    expect(lstatSync(path.join(out, 'function/alias.go')).isSymbolicLink()).toBe(true);
    expect(statSync(path.join(out, 'function/go.mod')).mtime.toISOString()).toBe('2000-01-01T00:00:00.000Z');
    // Reading the written context back gives the same entries, so the same tag.
    const reread = readBuildContext(out).filter(
      (e) => !['.faas', '.faas/Dockerfile', 'function'].includes(e.path),
    );
    expect(contentTag(reread, packaged.dockerfile, TEMPLATE_VERSION)).toBe(packaged.tag);
  });
});

describe('content tag', () => {
  function gitIn(cwd: string, ...args: string[]): string {
    return execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@t',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@t',
      },
    });
  }

  /** git clone under a given umask: the umask is the shell's, the paths are arguments, not script text. */
  function cloneWithUmask(source: string, target: string, umask: string): void {
    execFileSync('sh', ['-c', 'umask "$0" && exec git clone -q "$1" "$2"', umask, source, target]);
  }

  it('is the same for two clones of one commit on different paths, umasks and times', async () => {
    const origin = makeDir({
      'functions/hello/go.mod': 'module hello\n',
      'functions/hello/main.go': 'package main\n',
      'functions/hello/lib/util.go': 'package lib\n',
      'functions/hello/function.yaml': 'timeout: 10s\n',
    });
    chmodSync(path.join(origin, 'functions/hello/lib/util.go'), 0o755);
    gitIn(origin, 'init', '-q');
    gitIn(origin, 'add', '-A');
    gitIn(origin, 'commit', '-qm', 'one');
    const a = path.join(mkdtempSync(path.join(tmpdir(), 'faas-clone-a-')), 'x');
    const b = path.join(mkdtempSync(path.join(tmpdir(), 'faas-clone-b-')), 'deeper', 'y');
    cloneWithUmask(origin, a, '022');
    cloneWithUmask(origin, b, '077');
    expect(statSync(path.join(b, 'functions/hello/main.go')).mode & 0o777).toBe(0o600);
    utimesSync(path.join(b, 'functions/hello/main.go'), new Date(0), new Date(0));
    const spec = specOf('go', 'classic', 'functions/hello');
    const tagA = (await packageFunction(a, spec, DEFAULT_BASE_IMAGES)).tag;
    expect(tagA).toMatch(/^ctx-[0-9a-f]{32}$/);
    expect((await packageFunction(b, spec, DEFAULT_BASE_IMAGES)).tag).toBe(tagA);

    // Any byte of the context, a base image, the function's timeout (it is in the Dockerfile) or the
    // template version gives another tag.
    const tags = new Set([tagA]);
    tags.add((await packageFunction(b, spec, { ...DEFAULT_BASE_IMAGES, runtime: 'other/runtime:1' })).tag);
    tags.add((await packageFunction(b, spec, { ...DEFAULT_BASE_IMAGES, watchdog: 'other/watchdog:1' })).tag);
    tags.add((await packageFunction(b, { ...spec, timeoutSeconds: 11 }, DEFAULT_BASE_IMAGES)).tag);
    const packaged = await packageFunction(b, spec, DEFAULT_BASE_IMAGES);
    tags.add(contentTag(packaged.entries, packaged.dockerfile, `${TEMPLATE_VERSION}x`));
    writeFileSync(path.join(b, 'functions/hello/main.go'), 'package main \n');
    tags.add((await packageFunction(b, spec, DEFAULT_BASE_IMAGES)).tag);
    chmodSync(path.join(b, 'functions/hello/main.go'), 0o700);
    tags.add((await packageFunction(b, spec, DEFAULT_BASE_IMAGES)).tag);
    mkdirSync(path.join(b, 'functions/hello/empty'));
    tags.add((await packageFunction(b, spec, DEFAULT_BASE_IMAGES)).tag);
    expect(tags.size).toBe(8);
  });

  it('changes with a byte of a template file (the server scaffold is part of the context)', async () => {
    const dir = makeDir({ 'handler.py': 'def handle(event, context):\n    return "hi"\n' });
    const packaged = await packageFunction(
      path.dirname(dir),
      specOf('python', 'of-watchdog', path.basename(dir)),
      DEFAULT_BASE_IMAGES,
    );
    const scaffold = packaged.entries.find((e) => e.path === '.faas/server.py');
    expect(scaffold?.data.toString()).toContain('def main()');
    const changed = packaged.entries.map((e) =>
      e === scaffold ? { ...e, data: Buffer.concat([e.data, Buffer.from('#')]) } : e,
    );
    expect(contentTag(changed, packaged.dockerfile, TEMPLATE_VERSION)).not.toBe(packaged.tag);
  });

  it('does not let two different contexts run together into the same bytes', () => {
    const entry = (p: string, data: string) => ({
      path: p,
      kind: 'file' as const,
      executable: false,
      data: Buffer.from(data),
    });
    expect(contentTag([entry('ab', 'c')], 'FROM x', 'v1')).not.toBe(
      contentTag([entry('a', 'bc')], 'FROM x', 'v1'),
    );
  });
});
