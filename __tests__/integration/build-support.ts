// Helpers shared by the build integration tests (build-*.itest.ts): the test environment's values, the
// docker CLI on its engine, functions packaged by the real package stage, running a pushed image and
// asking it, and a BuildLog that records everything so tests can scan it for secrets.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import type { BuildLog } from '../../src/build/log.js';
import type { BuildRequest } from '../../src/build/types.js';
import { resolveBaseImages } from '../../src/package/base-images.js';
import { packageFunction } from '../../src/package/index.js';
import type { FunctionSpec, Runtime } from '../../src/plan/types.js';
import { freePort } from '../../test/support/net.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

export function testEnv(): (key: string) => string {
  const env = inject('testEnv');
  return (key) => {
    const value = env[key];
    if (!value)
      throw new Error(`${key} is missing from the test environment (scripts/test-env/test-env env)`);
    return value;
  };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  file: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
  input?: string,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      [...args],
      { env: env ?? process.env, maxBuffer: 64 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** The docker CLI on the environment's engine, with a private client config (logins stay in it). */
export class Docker {
  readonly env: NodeJS.ProcessEnv;
  constructor(dockerHost: string, configDir: string) {
    this.env = { ...process.env, DOCKER_HOST: dockerHost, DOCKER_CONFIG: configDir, DOCKER_BUILDKIT: '0' };
  }
  async run(args: string[], options: { input?: string; allowFail?: boolean } = {}): Promise<Run> {
    const r = await run('docker', args, this.env, options.input);
    if (r.code !== 0 && !options.allowFail)
      throw new Error(`docker ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
    return r;
  }
  /** Container events of one kind, by label, between two times (unix seconds, fractions allowed). */
  async events(label: string, since: number, until: number, event = 'create'): Promise<string[]> {
    const r = await this.run([
      'events', '--since', since.toFixed(3), '--until', until.toFixed(3),
      '--filter', 'type=container', '--filter', `event=${event}`, '--filter', `label=${label}`,
      '--format', '{{.Actor.Attributes.name}}',
    ]); // prettier-ignore
    return r.stdout.split('\n').filter((l) => l !== '');
  }
}

export { freePort };

/** Runs an image as a watchdog function on a free host port (env `port`) and returns its URL. */
export async function startFunction(docker: Docker, image: string, containers: string[]): Promise<string> {
  const port = await freePort();
  const name = `build-itest-fn-${port}-${Date.now() % 100000}`;
  await docker.run(['run', '-d', '--name', name, '--network', 'host', '-e', `port=${port}`, image]);
  containers.push(name);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/_/health`);
      if (res.status === 200) return url;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const logs = await docker.run(['logs', name], { allowFail: true });
      throw new Error(`function ${image} not healthy on ${url} after 30 s\n${logs.stdout}${logs.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Records every line, group and masked value, so tests can assert on them and scan them. */
export class RecordingLog implements BuildLog {
  readonly lines: string[] = [];
  readonly secrets: string[] = [];
  info(line: string): void {
    this.lines.push(line);
  }
  warning(line: string): void {
    this.lines.push(`WARNING ${line}`);
  }
  group(title: string, lines: readonly string[]): void {
    this.lines.push(`::group::${title}`, ...lines, '::endgroup::');
  }
  secret(value: string): void {
    this.secrets.push(value);
  }
  text(): string {
    return this.lines.join('\n');
  }
}

/** Every secret-derived value a build could leak, for scanning logs and outputs. */
export function secretForms(user: string, password: string, host: string): string[] {
  const auth = Buffer.from(`${user}:${password}`).toString('base64');
  const json = JSON.stringify({ auths: { [host]: { auth } } });
  return [password, auth, Buffer.from(json).toString('base64')];
}

export interface BaseImageEnv {
  goBuilder: string;
  runtime: string;
  classicWatchdog: string;
}

function spec(name: string, directory: string, runtime: Runtime): FunctionSpec {
  return {
    name,
    directory,
    runtime,
    watchdog: 'classic',
    env: {},
    secrets: [],
    scale: {},
    timeoutSeconds: 30,
    resources: {},
    visibility: 'public',
  };
}

/** A function directory packaged by the real package stage, as a build request for `<registry>/<name>`. */
export async function packaged(
  root: string,
  directory: string,
  name: string,
  registry: string,
  images: BaseImageEnv,
  runtime: Runtime = 'go',
): Promise<BuildRequest> {
  const result = await packageFunction(
    root,
    spec(name, directory, runtime),
    resolveBaseImages({
      builder: images.goBuilder,
      runtime: images.runtime,
      watchdog: images.classicWatchdog,
    }),
  );
  return {
    name,
    image: `${registry}/${name}:${result.tag}`,
    tag: result.tag,
    entries: result.entries,
    dockerfile: result.dockerfile,
    dockerfilePath: result.dockerfilePath,
  };
}

/** A scratch repository with copies of example functions and functions written on the spot. */
export class Workspace {
  readonly root: string;
  private constructor(root: string) {
    this.root = root;
  }
  static async create(): Promise<Workspace> {
    return new Workspace(await mkdtemp(path.join(tmpdir(), 'faas-build-itest-')));
  }
  async copyExample(example: string, as: string): Promise<string> {
    const dir = `functions/${as}`;
    await cp(path.join(repoRoot, 'examples/functions', example), path.join(this.root, dir), {
      recursive: true,
    });
    return dir;
  }
  async write(dir: string, files: Record<string, string | Buffer>): Promise<string> {
    for (const [file, data] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(this.root, dir, file)), { recursive: true });
      await writeFile(path.join(this.root, dir, file), data);
    }
    return dir;
  }
  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/** POSTs a body to a function and returns status and text. */
export async function post(url: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', body });
  return { status: res.status, text: await res.text() };
}
