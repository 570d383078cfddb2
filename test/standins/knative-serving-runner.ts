// Knative Serving STAND-IN, data plane — the Docker part: runs one container per routable revision
// (knative-serving-dataplane.ts decides which, and how) with the Docker engine of the test environment
// (DOCKER_HOST from $FAAS_TEST_STATE/env.d/containers.env), host networking, a free 127.0.0.1 port.
// Images are pulled when the engine lacks them (the kubelet's IfNotPresent), with the revision's pull
// credentials in a private DOCKER_CONFIG of the stand-in (never the user's ~/.docker). A container that
// exits is logged (with the tail of its output) and not restarted; the revision's Ready does not change.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  STANDIN_LABEL,
  STANDIN_LABEL_VALUE,
  STATE_LABEL,
  containerEnv,
  containerLabels,
  containerName,
  dockerRunArgs,
  hasCommand,
  imageEnvMap,
  readinessCheck,
  revisionId,
  specEnv,
  upstreamToMove,
  type DesiredRevision,
  type EnvSources,
  type ImageConfig,
} from './knative-serving-dataplane.ts';
import type { Backend } from './knative-ingress.ts';
import { parseImageRef, type RegistryCredentials } from './registry-resolve.ts';

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function docker(args: string[], env: NodeJS.ProcessEnv): Promise<DockerResult> {
  return new Promise((resolve) => {
    execFile('docker', args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** DOCKER_* of the containers component's env file, with the stand-in's own DOCKER_CONFIG. */
export function dockerEnv(state: string): { env: NodeJS.ProcessEnv } | { error: string } {
  const file = path.join(state, 'env.d', 'containers.env');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { error: `no Docker engine: ${file} does not exist (is the containers component up?)` };
  }
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('DOCKER_')),
  );
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.startsWith('#') && line.startsWith('DOCKER_'))
      env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  if (!env['DOCKER_HOST']) return { error: `no Docker engine: ${file} has no DOCKER_HOST` };
  env['DOCKER_CONFIG'] = path.join(state, 'kube', 'knative-docker', 'cli');
  fs.mkdirSync(env['DOCKER_CONFIG'], { recursive: true, mode: 0o700 });
  return { env };
}

/** What the runner asks of the API (the stand-in answers with its REST client). */
export interface RevisionContext {
  envSources(d: DesiredRevision): Promise<EnvSources>;
  credentials(d: DesiredRevision, registry: string): Promise<RegistryCredentials | undefined>;
}

type State = 'starting' | 'ready' | 'exited' | 'failed' | 'stopping';

/** run() gives up: the container cannot start (the reason is logged, the ingress answers 503). */
class NotRunning extends Error {}
/** run() noticed that the entry was stopped meanwhile. */
class Cancelled extends Error {}

/** The state as it is now (a function, so that TypeScript does not narrow it across awaits). */
const stateOf = (e: { state: State }): State => e.state;

interface Entry {
  d: DesiredRevision;
  state: State;
  reason: string;
  name: string;
  containerId?: string;
  ports: number[];
  port?: number;
  waiter?: ChildProcess;
  since: number;
}

export interface RunnerOptions {
  state: string;
  log: (msg: string) => void;
  ctx: RevisionContext;
  /** called when an entry is gone, so the owner can sync again */
  onChange: () => void;
  /** at most this many image pulls at once (the machine has two cores); starts from images the engine has do not wait */
  parallel?: number;
}

export class ContainerRunner {
  private readonly entries = new Map<string, Entry>();
  private readonly byRevision = new Map<string, Entry>();
  private readonly reserved = new Set<number>();
  private readonly opts: RunnerOptions;
  private readonly engine: { env: NodeJS.ProcessEnv } | { error: string };
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private stopping = false;
  private readonly inflight = new Set<Promise<void>>();

  constructor(opts: RunnerOptions) {
    this.opts = opts;
    this.engine = dockerEnv(opts.state);
    if ('error' in this.engine) opts.log(`data plane: ${this.engine.error}; no revision will run`);
  }

  private filter(): string[] {
    return [
      '--filter',
      `label=${STANDIN_LABEL}=${STANDIN_LABEL_VALUE}`,
      '--filter',
      `label=${STATE_LABEL}=${this.opts.state}`,
    ];
  }

  /** Removes every container of this stand-in (left over from a run that was killed, or at stop). */
  async sweep(): Promise<number> {
    if ('error' in this.engine) return 0;
    const list = await docker(['ps', '-aq', ...this.filter()], this.engine.env);
    const ids = list.stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await docker(['rm', '-f', ...ids], this.engine.env);
    return ids.length;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Where the ingress sends a request for this revision. */
  backend(namespace: string, revision: string): Backend {
    const e = this.byRevision.get(revisionId(namespace, revision));
    if (!e) return { ok: false, reason: 'no container (not started yet)' };
    if (e.state === 'ready' && e.port !== undefined) return { ok: true, port: e.port };
    if (e.state === 'starting') return { ok: false, reason: 'container starting, not answering yet' };
    return { ok: false, reason: e.reason };
  }

  start(d: DesiredRevision): void {
    if (this.stopping || this.entries.has(d.key)) return;
    const e: Entry = {
      d,
      state: 'starting',
      reason: 'starting',
      name: containerName(d.namespace, d.name, d.key),
      ports: [],
      since: performance.now(),
    };
    this.entries.set(d.key, e);
    this.byRevision.set(revisionId(d.namespace, d.name), e);
    const job = this.run(e)
      .then((port) => this.probe(e, port))
      .catch(async (err: unknown) => {
        // Stopped while starting: whatever failed, nothing of it may stay.
        if (err instanceof Cancelled || stateOf(e) === 'stopping') await this.finishCancelled(e);
        else if (err instanceof NotRunning) this.fail(e, err.message);
        else this.fail(e, `stand-in error: ${err instanceof Error ? err.message : String(err)}`);
      });
    this.inflight.add(job);
    void job.finally(() => this.inflight.delete(job));
  }

  stop(key: string, why: string): void {
    const e = this.entries.get(key);
    if (!e || e.state === 'stopping') return;
    const was = e.state;
    e.state = 'stopping';
    e.reason = 'stopping';
    const id = e.containerId;
    if (was !== 'failed') this.opts.log(`${e.d.namespace}/${e.d.name}: stopping its container (${why})`);
    e.waiter?.kill();
    const done = (): void => {
      this.forget(e);
      this.opts.onChange();
    };
    // A container still being created is removed by run() when it sees the state.
    if (id && 'env' in this.engine) void docker(['rm', '-f', id], this.engine.env).then(done);
    else if (was !== 'starting') done();
  }

  /** SIGTERM: no new containers; every container of the stand-in removed. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const e of this.entries.values()) {
      if (e.state !== 'stopping') e.state = 'stopping';
      e.waiter?.kill();
    }
    await this.sweep();
    // Starts that were between `docker run` and noticing the stop remove their own container.
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 5000))]);
    await this.sweep();
  }

  private forget(e: Entry): void {
    if (this.entries.get(e.d.key) === e) this.entries.delete(e.d.key);
    const id = revisionId(e.d.namespace, e.d.name);
    if (this.byRevision.get(id) === e) this.byRevision.delete(id);
    for (const p of e.ports) this.reserved.delete(p);
  }

  private fail(e: Entry, reason: string): void {
    if (e.state === 'stopping') return;
    e.state = 'failed';
    e.reason = reason;
    this.opts.log(`${e.d.namespace}/${e.d.name}: not running: ${reason}`);
  }

  private async limited<T>(job: () => Promise<T>): Promise<T> {
    const parallel = this.opts.parallel ?? 2;
    while (this.active >= parallel) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await job();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  private async freePort(e: Entry): Promise<number> {
    for (;;) {
      const port = await new Promise<number>((resolve, reject) => {
        const srv = net.createServer();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
          const addr = srv.address();
          srv.close(() => {
            resolve(typeof addr === 'object' && addr ? addr.port : 0);
          });
        });
      });
      if (port > 0 && !this.reserved.has(port)) {
        this.reserved.add(port);
        e.ports.push(port);
        return port;
      }
    }
  }

  /** Pulls if needed and starts the container; answers its port. */
  private async run(e: Entry): Promise<number> {
    const { d } = e;
    const log = (msg: string): void => {
      this.opts.log(`${d.namespace}/${d.name}: ${msg}`);
    };
    const gone = (): boolean => stateOf(e) === 'stopping';
    if (gone()) throw new Cancelled();
    if ('error' in this.engine) throw new NotRunning(this.engine.error);
    const env = this.engine.env;

    const sources = await this.opts.ctx.envSources(d);
    const fromSpec = specEnv(d.container, sources);
    if (!fromSpec.ok) throw new NotRunning(`CreateContainerConfigError: ${fromSpec.error}`);

    // The image, pulled with the revision's credentials when the engine does not have it.
    const inspect = ['image', 'inspect', '--format', '{{json .Config}}', d.image];
    let inspected = await docker(inspect, env);
    if (inspected.code !== 0) {
      if (gone()) throw new Cancelled();
      const registry = parseImageRef(d.image).registry;
      const creds = await this.opts.ctx.credentials(d, registry);
      const t0 = performance.now();
      const pulled = await this.limited(() =>
        gone() ? Promise.reject(new Cancelled()) : this.pull(d.image, registry, creds, env),
      );
      if (pulled.code !== 0) throw new NotRunning(`ErrImagePull: ${(pulled.stderr || pulled.stdout).trim()}`);
      log(
        `pulled ${d.image}${creds ? ` as ${creds.username}` : ''} in ${Math.round(performance.now() - t0)} ms`,
      );
      inspected = await docker(inspect, env);
      if (inspected.code !== 0) throw new NotRunning(`image inspect: ${inspected.stderr.trim()}`);
    }
    const config = JSON.parse(inspected.stdout.trim() || 'null') as ImageConfig | null;
    // What the engine would refuse anyway ("No command specified"), without a `docker run`.
    if (!hasCommand(config, d.container))
      throw new NotRunning(
        `no command specified: the image has no ENTRYPOINT or CMD and the container no command or args`,
      );
    const imageEnv = imageEnvMap(config?.Env);

    const port = await this.freePort(e);
    const upstreamUrl = upstreamToMove(fromSpec.env, imageEnv);
    const upstream = upstreamUrl ? { url: upstreamUrl, port: await this.freePort(e) } : undefined;
    const args = dockerRunArgs({
      name: e.name,
      image: d.image,
      env: containerEnv({
        spec: fromSpec.env,
        port,
        ...(upstream ? { upstream } : {}),
        service: d.service,
        configuration: d.configuration,
        revision: d.name,
      }),
      labels: containerLabels(d, this.opts.state),
      container: d.container,
    });
    if (gone()) throw new Cancelled();
    // A container of the same name left by a stop that raced a start.
    await docker(['rm', '-f', e.name], env);
    const started = await docker(args, env);
    if (started.code !== 0) {
      // docker run prints the id before a start error; make sure nothing is left.
      await docker(['rm', '-f', e.name], env);
      throw new NotRunning(`docker run: ${started.stderr.trim() || started.stdout.trim()}`);
    }
    e.containerId = started.stdout.trim().split('\n').pop() ?? e.name;
    e.port = port;
    if (gone()) throw new Cancelled();
    log(
      `container ${e.name} on 127.0.0.1:${port}${upstream ? ` (upstream_url 127.0.0.1:${upstream.port})` : ''} from ${d.image}`,
    );
    this.watchExit(e, env);
    return port;
  }

  private pull(
    image: string,
    registry: string,
    creds: RegistryCredentials | undefined,
    env: NodeJS.ProcessEnv,
  ): Promise<DockerResult> {
    if (!creds) return docker(['pull', '-q', image], env);
    // A config.json with only this registry's credentials, in a directory of its own, removed after.
    const dir = path.join(
      this.opts.state,
      'kube',
      'knative-docker',
      `pull-${randomBytes(6).toString('hex')}`,
    );
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { [registry]: { auth } } }), {
      mode: 0o600,
    });
    return docker(['pull', '-q', image], { ...env, DOCKER_CONFIG: dir }).finally(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }

  private async finishCancelled(e: Entry): Promise<void> {
    if ('env' in this.engine) await docker(['rm', '-f', e.name], this.engine.env);
    this.forget(e);
    this.opts.onChange();
  }

  private watchExit(e: Entry, env: NodeJS.ProcessEnv): void {
    const id = e.containerId ?? e.name;
    const child = spawn('docker', ['wait', id], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    e.waiter = child;
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('close', () => {
      if (e.waiter === child) delete e.waiter;
      if (e.state === 'stopping' || out.trim() === '') return;
      const code = out.trim();
      void docker(['logs', '--tail', '30', id], env).then(async (logs) => {
        const tail = (logs.stdout + logs.stderr).trimEnd();
        this.opts.log(
          `${e.d.namespace}/${e.d.name}: container ${e.name} exited with code ${code} (not restarted; the revision stays Ready)${tail ? `; last output:\n${tail}` : ''}`,
        );
        await docker(['rm', '-f', id], env);
        if (e.state === 'stopping') return;
        e.state = 'exited';
        e.reason = `container exited with code ${code}`;
      });
    });
  }

  /** Until the readiness check passes (or the container exits / is stopped). */
  private async probe(e: Entry, port: number): Promise<void> {
    const check = readinessCheck(e.d.container);
    const t0 = e.since;
    let warned = false;
    while (stateOf(e) === 'starting') {
      if (await probeOnce(check, port)) {
        if (stateOf(e) !== 'starting') return;
        e.state = 'ready';
        e.reason = 'ready';
        this.opts.log(
          `${e.d.namespace}/${e.d.name}: answering on 127.0.0.1:${port} ${Math.round(performance.now() - t0)} ms after it was routed (${check.kind === 'http' ? `GET ${check.path}` : 'TCP'})`,
        );
        return;
      }
      if (!warned && performance.now() - t0 > 60_000) {
        warned = true;
        this.opts.log(`${e.d.namespace}/${e.d.name}: still not answering on 127.0.0.1:${port} after 60 s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** One readiness check: an HTTP GET answered 200–399 (the kubelet's rule), or a TCP connect. */
function probeOnce(check: ReturnType<typeof readinessCheck>, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => {
      done(false);
    });
    socket.once('error', () => {
      done(false);
    });
    socket.once('connect', () => {
      if (check.kind === 'tcp') {
        done(true);
        return;
      }
      socket.write(
        `GET ${check.path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: kube-probe/1.37\r\nConnection: close\r\n\r\n`,
      );
      let head = '';
      socket.on('data', (b: Buffer) => {
        head += b.toString('latin1');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
        if (m) done(Number(m[1]) >= 200 && Number(m[1]) < 400);
        else if (head.length > 64) done(false);
      });
      socket.once('end', () => {
        done(false);
      });
    });
  });
}
