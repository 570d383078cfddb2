/**
 * kaniko in the runner: the Docker engine (the `docker` CLI from PATH, DOCKER_HOST honoured) runs the
 * executor image with the build context mounted read-only, pushes to the registry and writes the
 * digest to a mounted file. Every docker invocation goes through the CommandRunner seam.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeBuildContext } from '../package/index.js';
import { describeError } from '../util/errors.js';
import { processRunner, type CommandRunner } from '../util/exec.js';
import { writeDockerConfig, type DockerConfigDir } from './docker-config.js';
import { digestReference } from './image-ref.js';
import { kanikoFlags } from './kaniko-args.js';
import { kanikoErrorLine, LogLines, tailOf } from './log.js';
import type { RegistryCredentials } from './registry.js';
import { RUN_LABEL, type BuildControls, type BuildRequest, type BuildResult, type Builder } from './types.js';

/** Labels on every executor container, so a run's containers can be found (and counted) on the engine. */
export const LABEL_FUNCTION = 'dev.faas-deploy.function';
export const LABEL_RUN = RUN_LABEL;

export interface KanikoBuilderOptions {
  /** The executor image (input kaniko-image). */
  kanikoImage: string;
  /** The input registry prefix (for the cache repository). */
  registry: string;
  /** Credentials by registry host, written into the executor's docker config. */
  credentials?: Record<string, RegistryCredentials>;
  insecureRegistries?: readonly string[];
  runner?: CommandRunner;
  /** Environment of the docker CLI (default: this process's, so DOCKER_HOST applies). */
  env?: NodeJS.ProcessEnv;
  /** Parent of the private work directories (default RUNNER_TEMP, else the OS temp dir). */
  tempDir?: string;
  /** A build running longer is stopped and reported as timed out. Default 30 min. */
  timeoutSeconds?: number;
  /** Value of the run label on the executor containers (default: a random id). */
  runId?: string;
  reproducible?: boolean;
}

export interface KanikoInvocation {
  /** Host directory holding the build context (mounted read-only at /workspace). */
  contextDir: string;
  /** Host directory the digest file is written to (mounted at /faas-out). */
  outDir: string;
  /** Host directory with config.json (mounted read-only at /faas-docker), when there are credentials. */
  dockerConfigDir?: string;
  containerName: string;
}

/** The `docker run …` argv for one build (the exact argument array, never a shell string). */
export function kanikoRunArgs(
  request: Pick<BuildRequest, 'name' | 'image' | 'dockerfile' | 'dockerfilePath'>,
  invocation: KanikoInvocation,
  options: Pick<KanikoBuilderOptions, 'kanikoImage' | 'registry' | 'insecureRegistries' | 'reproducible'> & {
    runId: string;
  },
): string[] {
  const args = [
    'run',
    '--rm',
    '--name',
    invocation.containerName,
    '--network',
    'host',
    '--label',
    `${LABEL_FUNCTION}=${request.name}`,
    '--label',
    `${LABEL_RUN}=${options.runId}`,
    '-v',
    `${invocation.contextDir}:/workspace:ro`,
    '-v',
    `${invocation.outDir}:/faas-out`,
  ];
  if (invocation.dockerConfigDir) {
    args.push('-v', `${invocation.dockerConfigDir}:/faas-docker:ro`, '-e', 'DOCKER_CONFIG=/faas-docker');
  }
  args.push(
    options.kanikoImage,
    '--context=dir:///workspace',
    `--dockerfile=/workspace/${request.dockerfilePath}`,
    `--destination=${request.image}`,
    '--digest-file=/faas-out/digest',
    ...kanikoFlags({
      image: request.image,
      registry: options.registry,
      dockerfile: request.dockerfile,
      ...(options.insecureRegistries ? { insecureRegistries: options.insecureRegistries } : {}),
      ...(options.reproducible ? { reproducible: true } : {}),
    }),
  );
  return args;
}

/** A container name docker accepts, unique per build. */
function containerName(fn: string): string {
  return `faas-kaniko-${fn.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 40)}-${randomBytes(4).toString('hex')}`;
}

export class KanikoBuilder implements Builder {
  readonly kind = 'kaniko' as const;
  private readonly options: KanikoBuilderOptions;
  private readonly runner: CommandRunner;
  private readonly runId: string;
  private dockerConfig: Promise<DockerConfigDir | undefined> | undefined;

  constructor(options: KanikoBuilderOptions) {
    this.options = options;
    this.runner = options.runner ?? processRunner;
    this.runId = options.runId ?? randomBytes(6).toString('hex');
  }

  private tempDir(): string {
    return this.options.tempDir ?? process.env['RUNNER_TEMP'] ?? os.tmpdir();
  }

  /** One config.json for every build of the run, written on first use and removed by close(). */
  private config(context: BuildControls): Promise<DockerConfigDir | undefined> {
    const credentials = this.options.credentials ?? {};
    this.dockerConfig ??=
      Object.keys(credentials).length === 0
        ? Promise.resolve(undefined)
        : writeDockerConfig(this.tempDir(), credentials, (value) => {
            context.log.secret(value);
          });
    return this.dockerConfig;
  }

  async build(request: BuildRequest, context: BuildControls): Promise<BuildResult> {
    const started = Date.now();
    const seconds = (): number => (Date.now() - started) / 1000;
    const log = new LogLines();
    const work = await mkdtemp(path.join(this.tempDir(), 'faas-deploy-kaniko-'));
    const name = containerName(request.name);
    const timeoutMs = (this.options.timeoutSeconds ?? 1800) * 1000;
    let stopped: 'cancelled' | 'timed out' | undefined;
    let removal: Promise<unknown> | undefined;
    const stop = (why: 'cancelled' | 'timed out'): void => {
      if (stopped) return;
      stopped = why;
      // Killing the CLI would leave the container running: remove the container itself.
      removal = this.runner.run('docker', ['rm', '-f', name], this.runOptions()).catch(() => undefined);
    };
    const onAbort = (): void => {
      stop('cancelled');
    };
    const timer = setTimeout(() => {
      stop('timed out');
    }, timeoutMs);
    context.signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (context.signal.aborted) stop('cancelled');
      const contextDir = path.join(work, 'context');
      const outDir = path.join(work, 'out');
      await mkdir(outDir);
      // The executor runs as root in the container; the digest directory is only for it and us.
      await chmod(outDir, 0o777);
      await writeBuildContext(request, contextDir);
      const dockerConfig = await this.config(context);
      const args = kanikoRunArgs(
        request,
        {
          contextDir,
          outDir,
          containerName: name,
          ...(dockerConfig ? { dockerConfigDir: dockerConfig.dir } : {}),
        },
        { ...this.options, runId: this.runId },
      );
      context.log.info(
        `${request.name}: building ${request.image} with kaniko (${this.options.kanikoImage})`,
      );
      const result = stopped
        ? { exitCode: 130, stdout: '', stderr: '' }
        : await this.runner.run('docker', args, {
            ...this.runOptions(),
            onOutput: (chunk) => {
              log.write(chunk);
            },
          });
      await removal;
      const lines = log.lines();
      context.log.group(`kaniko: ${request.name} → ${request.image} (exit ${result.exitCode})`, lines);
      if (stopped) {
        return {
          status: 'failed',
          reason:
            stopped === 'cancelled'
              ? 'Build cancelled; the kaniko container was removed.'
              : `Build timed out after ${Math.round(timeoutMs / 1000)} s; the kaniko container was removed.`,
          logTail: tailOf(lines),
          seconds: seconds(),
        };
      }
      if (result.exitCode !== 0) {
        return {
          status: 'failed',
          reason: failureReason(result.exitCode, lines, this.options.kanikoImage),
          logTail: tailOf(lines),
          seconds: seconds(),
        };
      }
      const digest = (await readFile(path.join(outDir, 'digest'), 'utf8').catch(() => '')).trim();
      if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
        return {
          status: 'failed',
          reason: `kaniko exited 0 but wrote no digest (got "${digest.slice(0, 80)}").`,
          logTail: tailOf(lines),
          seconds: seconds(),
        };
      }
      return { status: 'built', image: digestReference(request.image, digest), digest, seconds: seconds() };
    } catch (error) {
      return {
        status: 'failed',
        reason: `kaniko build failed: ${describeError(error)}`,
        logTail: log.lastLines(),
        seconds: seconds(),
      };
    } finally {
      clearTimeout(timer);
      context.signal.removeEventListener('abort', onAbort);
      await rm(work, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private runOptions(): { env?: NodeJS.ProcessEnv } {
    return this.options.env ? { env: this.options.env } : {};
  }

  async close(): Promise<void> {
    const config = await this.dockerConfig?.catch(() => undefined);
    this.dockerConfig = undefined;
    await config?.remove();
  }
}

/** Why a `docker run` of the executor failed, in one line. */
export function failureReason(exitCode: number, lines: readonly string[], kanikoImage: string): string {
  const kaniko = kanikoErrorLine(lines);
  // 125: the engine could not create or start the container (image missing, bad mount, …).
  if (
    exitCode === 125 ||
    (!kaniko && lines.some((l) => /Unable to find image|pull access denied|manifest unknown/i.test(l)))
  ) {
    const engine = [...lines].reverse().find((l) => /^docker:|Error response from daemon/i.test(l.trim()));
    return `The Docker engine could not run the kaniko executor image "${kanikoImage}": ${(engine ?? tailOf(lines, 1)).replace(/^docker:\s*/, '').trim()}`;
  }
  return `kaniko failed (exit ${exitCode}): ${kaniko ?? tailOf(lines, 1)}`;
}
