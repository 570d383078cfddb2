import { chmodSync, mkdtempSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBuildContext } from '../../src/package/build-context.js';
import { contentTag } from '../../src/package/content-tag.js';
import { renderDockerfile, requestTimeouts } from '../../src/package/render-dockerfile.js';
import { fillTemplate, loadTemplate } from '../../src/package/template.js';
import { DEFAULT_BASE_IMAGES, resolveBaseImages } from '../../src/package/base-images.js';
import type { FunctionSpec } from '../../src/plan/types.js';

const echo: FunctionSpec = {
  name: 'echo',
  directory: 'functions/echo',
  runtime: 'go',
  watchdog: 'classic',
  env: {},
  secrets: [],
  scale: {},
  timeoutSeconds: 30,
  resources: {},
  visibility: 'public',
};

function makeContext(files: Record<string, string>, mode = 0o644): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'faas-ctx-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text, { mode });
  }
  return dir;
}

describe('renderDockerfile (go, classic)', () => {
  it('fills every placeholder with the base images and the timeouts', async () => {
    const images = resolveBaseImages({
      builder: '127.0.0.1:5000/golang:1.26',
      watchdog: '127.0.0.1:5000/wd:0.3.9',
    });
    const dockerfile = renderDockerfile(echo, await loadTemplate('go', 'classic'), images);
    expect(dockerfile).not.toContain('{{');
    expect(dockerfile).toContain('ARG BUILDER_IMAGE=127.0.0.1:5000/golang:1.26');
    expect(dockerfile).toContain('ARG WATCHDOG_IMAGE=127.0.0.1:5000/wd:0.3.9');
    expect(dockerfile).toContain(`ARG RUNTIME_IMAGE=${DEFAULT_BASE_IMAGES.runtime}`);
    expect(dockerfile).toContain('exec_timeout="30s"');
    expect(dockerfile).toContain('read_timeout="31s"');
    expect(dockerfile).toContain('combine_output="false"');
    expect(dockerfile).toContain('USER 65534:65534');
  });

  it('derives Knative timeoutSeconds above the watchdog timeouts', () => {
    expect(requestTimeouts(59.2)).toEqual({
      exec: '60s',
      read: '61s',
      write: '61s',
      knativeTimeoutSeconds: 62,
    });
  });

  it('never leaves a placeholder without a value', () => {
    expect(() => fillTemplate('FROM {{image}}', {})).toThrow('Template placeholder {{image}} has no value.');
  });
});

describe('contentTag', () => {
  it('is the same for the same files whatever their order, timestamps or umask', async () => {
    const a = makeContext({
      'main.go': 'package main\n',
      'go.mod': 'module x\n',
      'lib/util.go': 'package lib\n',
    });
    const b = makeContext(
      { 'lib/util.go': 'package lib\n', 'go.mod': 'module x\n', 'main.go': 'package main\n' },
      0o600,
    );
    utimesSync(path.join(b, 'main.go'), new Date(0), new Date(0));
    const tagA = contentTag(await readBuildContext(a), 'FROM x', 'v1');
    expect(tagA).toMatch(/^ctx-[0-9a-f]{32}$/);
    expect(contentTag(await readBuildContext(b), 'FROM x', 'v1')).toBe(tagA);
  });

  it('changes with any byte, path, executable bit, the Dockerfile or the template version', async () => {
    const dir = makeContext({ 'main.go': 'package main\n', 'run.sh': 'echo\n' });
    const base = contentTag(await readBuildContext(dir), 'FROM x', 'v1');
    const tags = new Set([base]);
    tags.add(contentTag(await readBuildContext(dir), 'FROM y', 'v1'));
    tags.add(contentTag(await readBuildContext(dir), 'FROM x', 'v2'));
    chmodSync(path.join(dir, 'run.sh'), 0o755);
    tags.add(contentTag(await readBuildContext(dir), 'FROM x', 'v1'));
    writeFileSync(path.join(dir, 'main.go'), 'package main \n');
    tags.add(contentTag(await readBuildContext(dir), 'FROM x', 'v1'));
    writeFileSync(path.join(dir, 'extra.txt'), '');
    tags.add(contentTag(await readBuildContext(dir), 'FROM x', 'v1'));
    expect(tags.size).toBe(6);
  });

  it('records a symlink as a link and never follows it out of the directory', async () => {
    const outside = makeContext({ 'secret.txt': 'top secret' });
    const dir = makeContext({ 'main.go': 'package main\n' });
    symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'leak.txt'));
    const entries = await readBuildContext(dir);
    const link = entries.find((entry) => entry.path === 'leak.txt');
    expect(link?.kind).toBe('symlink');
    expect(link?.data.toString()).toBe(path.join(outside, 'secret.txt'));
    expect(entries.some((entry) => entry.data.toString().includes('top secret'))).toBe(false);
  });
});
