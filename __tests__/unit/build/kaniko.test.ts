// The in-runner kaniko builder through its CommandRunner seam: the exact `docker run` argv, the docker
// config it mounts (0700/0600, masked, removed), the digest it reads back, and what a failure, a
// missing executor image, a cancellation and a timeout turn into.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseImageBuildArgs, baseImagesOf, kanikoFlags } from '../../../src/build/kaniko-args.js';
import { failureReason, KanikoBuilder, kanikoRunArgs } from '../../../src/build/kaniko.js';
import type { BuildLog } from '../../../src/build/log.js';
import type { BuildRequest } from '../../../src/build/types.js';
import type { CommandResult, CommandRunner, RunOptions } from '../../../src/util/exec.js';

const dockerfile = `ARG BUILDER_IMAGE=127.0.0.1:5000/faas-base/golang:1.26.8
ARG WATCHDOG_IMAGE=ghcr.io/openfaas/classic-watchdog:0.3.9
ARG RUNTIME_IMAGE=127.0.0.1:5000/faas-base/runtime:1.35.0
FROM \${WATCHDOG_IMAGE} AS watchdog
FROM \${BUILDER_IMAGE} AS build
RUN go build -o /out/handler .
FROM \${RUNTIME_IMAGE}
COPY --from=watchdog /fwatchdog /usr/bin/fwatchdog
COPY --from=build /out/handler /usr/bin/handler
`;
const digest = `sha256:${'ab'.repeat(32)}`;

const request: BuildRequest = {
  name: 'echo',
  image: '127.0.0.1:5001/echo:ctx-0123',
  tag: 'ctx-0123',
  entries: [
    { path: 'function/main.go', kind: 'file', executable: false, data: Buffer.from('package main\n') },
  ],
  dockerfile,
  dockerfilePath: '.faas/Dockerfile',
};

class RecordingLog implements BuildLog {
  readonly text: string[] = [];
  readonly secrets: string[] = [];
  readonly groups: { title: string; lines: readonly string[] }[] = [];
  info(line: string): void {
    this.text.push(line);
  }
  warning(line: string): void {
    this.text.push(line);
  }
  group(title: string, lines: readonly string[]): void {
    this.groups.push({ title, lines });
    this.text.push(title, ...lines);
  }
  secret(value: string): void {
    this.secrets.push(value);
  }
}

interface Call {
  command: string;
  args: readonly string[];
  options: RunOptions | undefined;
}

/** The seam: records every command and answers with `respond`. */
class FakeDocker implements CommandRunner {
  readonly calls: Call[] = [];
  readonly respond: (call: Call, self: FakeDocker) => Promise<CommandResult>;
  constructor(respond: (call: Call, self: FakeDocker) => Promise<CommandResult>) {
    this.respond = respond;
  }
  run(command: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
    const call = { command, args, options };
    this.calls.push(call);
    return this.respond(call, this);
  }
}

/** Host side of a `-v host:container[:ro]` mount in an argv. */
function mountOf(args: readonly string[], containerPath: string): string | undefined {
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] === '-v' && args[i + 1]?.split(':')[1] === containerPath) return args[i + 1]?.split(':')[0];
  }
  return undefined;
}

let temp = '';
beforeAll(async () => {
  temp = await mkdtemp(path.join(tmpdir(), 'faas-kaniko-unit-'));
});
afterAll(async () => {
  await rm(temp, { recursive: true, force: true });
});

describe('kaniko flags', () => {
  it('reads the base-image build args and the FROM images from the rendered Dockerfile', () => {
    expect(baseImageBuildArgs(dockerfile)).toEqual([
      'BUILDER_IMAGE=127.0.0.1:5000/faas-base/golang:1.26.8',
      'WATCHDOG_IMAGE=ghcr.io/openfaas/classic-watchdog:0.3.9',
      'RUNTIME_IMAGE=127.0.0.1:5000/faas-base/runtime:1.35.0',
    ]);
    expect(baseImagesOf(dockerfile)).toEqual([
      'ghcr.io/openfaas/classic-watchdog:0.3.9',
      '127.0.0.1:5000/faas-base/golang:1.26.8',
      '127.0.0.1:5000/faas-base/runtime:1.35.0',
    ]);
    expect(baseImagesOf('FROM scratch\nFROM a AS b\nFROM b\n')).toEqual(['a']);
  });

  it('plain HTTP only for loopback or listed registries; cache in <registry>/build.cache', () => {
    expect(kanikoFlags({ image: 'ghcr.io/octo/echo:ctx-1', registry: 'ghcr.io/octo', dockerfile })).toEqual([
      '--cache=true',
      '--cache-repo=ghcr.io/octo/build.cache',
      '--build-arg=BUILDER_IMAGE=127.0.0.1:5000/faas-base/golang:1.26.8',
      '--build-arg=WATCHDOG_IMAGE=ghcr.io/openfaas/classic-watchdog:0.3.9',
      '--build-arg=RUNTIME_IMAGE=127.0.0.1:5000/faas-base/runtime:1.35.0',
      '--insecure-registry=127.0.0.1:5000',
    ]);
    const lan = kanikoFlags({
      image: 'registry.lan:5000/echo:ctx-1',
      registry: 'registry.lan:5000',
      dockerfile: 'FROM registry.lan:5000/base\n',
      insecureRegistries: ['registry.lan:5000'],
      reproducible: true,
    });
    expect(lan).toEqual([
      '--cache=true',
      '--cache-repo=registry.lan:5000/build.cache',
      '--insecure',
      '--insecure-registry=registry.lan:5000',
      '--reproducible',
    ]);
  });

  it('builds the exact docker run argv', () => {
    const args = kanikoRunArgs(
      request,
      {
        contextDir: '/t/ctx',
        outDir: '/t/out',
        dockerConfigDir: '/t/cfg',
        containerName: 'faas-kaniko-echo-1',
      },
      {
        kanikoImage: '127.0.0.1:5000/faas-base/kaniko-executor:v1.24.0',
        registry: '127.0.0.1:5001',
        runId: 'run-1',
      },
    );
    expect(args).toEqual([
      'run', '--rm', '--name', 'faas-kaniko-echo-1', '--network', 'host',
      '--label', 'dev.faas-deploy.function=echo', '--label', 'faas-deploy.dev/run=run-1',
      '-v', '/t/ctx:/workspace:ro', '-v', '/t/out:/faas-out',
      '-v', '/t/cfg:/faas-docker:ro', '-e', 'DOCKER_CONFIG=/faas-docker',
      '127.0.0.1:5000/faas-base/kaniko-executor:v1.24.0',
      '--context=dir:///workspace', '--dockerfile=/workspace/.faas/Dockerfile',
      '--destination=127.0.0.1:5001/echo:ctx-0123', '--digest-file=/faas-out/digest',
      '--cache=true', '--cache-repo=127.0.0.1:5001/build.cache',
      '--build-arg=BUILDER_IMAGE=127.0.0.1:5000/faas-base/golang:1.26.8',
      '--build-arg=WATCHDOG_IMAGE=ghcr.io/openfaas/classic-watchdog:0.3.9',
      '--build-arg=RUNTIME_IMAGE=127.0.0.1:5000/faas-base/runtime:1.35.0',
      '--insecure', '--insecure-registry=127.0.0.1:5000', '--insecure-registry=127.0.0.1:5001',
    ]); // prettier-ignore
  });
});

describe('KanikoBuilder', () => {
  const credentials = { '127.0.0.1:5001': { username: 'faas-test', password: 'pa55-word' } };
  const auth = Buffer.from('faas-test:pa55-word').toString('base64');

  it('mounts the context and a 0600 config.json, reads the digest, masks and removes the credentials', async () => {
    let seen: { config: string; dirMode: number; fileMode: number; dockerfile: string } | undefined;
    const docker = new FakeDocker((call) => {
      const cfg = mountOf(call.args, '/faas-docker') ?? '';
      seen = {
        config: readFileSync(path.join(cfg, 'config.json'), 'utf8'),
        dirMode: statSync(cfg).mode & 0o777,
        fileMode: statSync(path.join(cfg, 'config.json')).mode & 0o777,
        dockerfile: readFileSync(
          path.join(mountOf(call.args, '/workspace') ?? '', '.faas/Dockerfile'),
          'utf8',
        ),
      };
      call.options?.onOutput?.('INFO[0000] Retrieving image manifest\nINFO[0009] Pushed image\n');
      writeFileSync(path.join(mountOf(call.args, '/faas-out') ?? '', 'digest'), digest);
      return Promise.resolve({ exitCode: 0, stdout: '', stderr: '' });
    });
    const log = new RecordingLog();
    const builder = new KanikoBuilder({
      kanikoImage: 'kaniko:test',
      registry: '127.0.0.1:5001',
      credentials,
      runner: docker,
      tempDir: temp,
      env: { DOCKER_HOST: 'unix:///x.sock' },
    });
    const result = await builder.build(request, { signal: new AbortController().signal, log });
    expect(result).toMatchObject({ status: 'built', digest, image: `127.0.0.1:5001/echo@${digest}` });
    expect(docker.calls).toHaveLength(1);
    expect(docker.calls[0]?.command).toBe('docker');
    expect(docker.calls[0]?.options?.env).toEqual({ DOCKER_HOST: 'unix:///x.sock' });
    expect(seen).toEqual({
      config: JSON.stringify({ auths: { '127.0.0.1:5001': { auth } } }),
      dirMode: 0o700,
      fileMode: 0o600,
      dockerfile,
    });
    expect(log.secrets).toEqual(expect.arrayContaining(['pa55-word', auth]));
    expect(log.groups[0]?.title).toBe('kaniko: echo → 127.0.0.1:5001/echo:ctx-0123 (exit 0)');
    expect(log.groups[0]?.lines).toEqual(['INFO[0000] Retrieving image manifest', 'INFO[0009] Pushed image']);
    const configDir = mountOf(docker.calls[0]?.args ?? [], '/faas-docker') ?? '';
    const contextDir = mountOf(docker.calls[0]?.args ?? [], '/workspace') ?? '';
    expect(existsSync(contextDir)).toBe(false);
    expect(existsSync(configDir)).toBe(true);
    await builder.close();
    expect(existsSync(configDir)).toBe(false);
    expect(log.text.join('\n')).not.toContain('pa55-word');
  });

  it('without credentials mounts no docker config', async () => {
    const docker = new FakeDocker((call) => {
      writeFileSync(path.join(mountOf(call.args, '/faas-out') ?? '', 'digest'), digest);
      return Promise.resolve({ exitCode: 0, stdout: '', stderr: '' });
    });
    const builder = new KanikoBuilder({
      kanikoImage: 'k',
      registry: '127.0.0.1:5000',
      runner: docker,
      tempDir: temp,
    });
    await builder.build(request, { signal: new AbortController().signal, log: new RecordingLog() });
    expect(docker.calls[0]?.args).not.toContain('DOCKER_CONFIG=/faas-docker');
    expect(mountOf(docker.calls[0]?.args ?? [], '/faas-docker')).toBeUndefined();
    await builder.close();
  });

  it('a failing Dockerfile step: kaniko’s error line is the reason, the last 30 lines the tail', async () => {
    const output = [
      ...Array.from({ length: 40 }, (_, i) => `INFO[0001] line ${i}`),
      'INFO[0002] RUN go build -o /out/handler .',
      './main.go:3:1: syntax error: non-declaration statement outside function body',
      'error building image: error building stage: failed to execute command: waiting for process to exit: exit status 1',
      '',
    ].join('\n');
    const docker = new FakeDocker((call) => {
      call.options?.onOutput?.(output);
      return Promise.resolve({ exitCode: 1, stdout: '', stderr: '' });
    });
    const builder = new KanikoBuilder({
      kanikoImage: 'k',
      registry: '127.0.0.1:5001',
      runner: docker,
      tempDir: temp,
    });
    const result = await builder.build(request, {
      signal: new AbortController().signal,
      log: new RecordingLog(),
    });
    expect(result).toMatchObject({
      status: 'failed',
      reason:
        'kaniko failed (exit 1): error building image: error building stage: failed to execute command: waiting for process to exit: exit status 1',
    });
    const tail = result.status === 'failed' ? result.logTail.split('\n') : [];
    expect(tail).toHaveLength(30);
    expect(tail.at(-2)).toContain('syntax error');
    await builder.close();
  });

  it('a missing executor image (docker run exit 125) names the image and the engine’s message', () => {
    expect(
      failureReason(
        125,
        [
          "Unable to find image '127.0.0.1:5000/nope/kaniko:v0' locally",
          'docker: Error response from daemon: manifest for 127.0.0.1:5000/nope/kaniko:v0 not found: manifest unknown: manifest unknown.',
          "See 'docker run --help'.",
        ],
        '127.0.0.1:5000/nope/kaniko:v0',
      ),
    ).toBe(
      'The Docker engine could not run the kaniko executor image "127.0.0.1:5000/nope/kaniko:v0": Error response from daemon: manifest for 127.0.0.1:5000/nope/kaniko:v0 not found: manifest unknown: manifest unknown.',
    );
  });

  it('cancellation removes the container by name (killing the CLI would leave it running)', async () => {
    let release: (() => void) | undefined;
    const docker = new FakeDocker((call) => {
      if (call.args[0] === 'rm') {
        release?.();
        return Promise.resolve({ exitCode: 0, stdout: '', stderr: '' });
      }
      return new Promise((resolve) => {
        release = () => {
          resolve({ exitCode: 137, stdout: '', stderr: '' });
        };
      });
    });
    const controller = new AbortController();
    const builder = new KanikoBuilder({
      kanikoImage: 'k',
      registry: '127.0.0.1:5001',
      runner: docker,
      tempDir: temp,
    });
    const pending = builder.build(request, { signal: controller.signal, log: new RecordingLog() });
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    const result = await pending;
    const name = docker.calls[0]?.args[docker.calls[0].args.indexOf('--name') + 1];
    expect(name).toMatch(/^faas-kaniko-echo-[0-9a-f]{8}$/);
    expect(docker.calls[1]?.args).toEqual(['rm', '-f', name]);
    expect(result).toMatchObject({
      status: 'failed',
      reason: 'Build cancelled; the kaniko container was removed.',
    });
    await builder.close();
  });

  it('a build over its timeout is stopped the same way and reported as timed out', async () => {
    const docker = new FakeDocker((call, self) => {
      if (call.args[0] === 'rm') return Promise.resolve({ exitCode: 0, stdout: '', stderr: '' });
      return new Promise((resolve) => {
        const poll = setInterval(() => {
          if (self.calls.some((c) => c.args[0] === 'rm')) {
            clearInterval(poll);
            resolve({ exitCode: 137, stdout: '', stderr: '' });
          }
        }, 10);
      });
    });
    const builder = new KanikoBuilder({
      kanikoImage: 'k',
      registry: '127.0.0.1:5001',
      runner: docker,
      tempDir: temp,
      timeoutSeconds: 0.2,
    });
    const result = await builder.build(request, {
      signal: new AbortController().signal,
      log: new RecordingLog(),
    });
    expect(result).toMatchObject({
      status: 'failed',
      reason: 'Build timed out after 0 s; the kaniko container was removed.',
    });
    await builder.close();
  });
});
