// Tekton Pipelines controller STAND-IN for the test environment (scripts/test-env/kube.sh starts it).
// This is not Tekton: no Pod is created (there is no kubelet). For every TaskRun without a final
// Succeeded condition it runs the steps of the embedded taskSpec (or of the Task named in taskRef) for
// real, one container per step, with the Docker engine of the containers component, and writes the
// TaskRun status in the shape tektoncd/pipeline v1.15 writes it (status logic in tekton-logic.ts).
//
// Step logs (pods/log cannot be served here): ConfigMap `<taskrun>-standin-logs` in the TaskRun's
// namespace, one key per step container (`step-<name>`, last 256 KiB each), updated after every step,
// and files $FAAS_TEST_STATE/kube/tekton-logs/<namespace>/<taskrun>/step-<name>.log.
//
//   node test/standins/tekton-standin.ts --kubeconfig <admin kubeconfig>
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  KeyedQueue,
  KubeApiError,
  KubeRest,
  listAndWatch,
  resourcePath,
  type KubeObject,
} from './kube-client.ts';
import {
  DEFAULT_TIMEOUT_MS,
  applyStepTemplate,
  finalStatus,
  isFinal,
  paramValues,
  parseGoDuration,
  resolveTaskSpec,
  runningStatus,
  scriptFile,
  stepContainerName,
  terminatedReason,
  terminationMessage,
  validateRun,
  workspacePaths,
  type EnvVar,
  type Outcome,
  type StepState,
  type SubstitutionContext,
  type TaskRunSpec,
  type TaskRunStatus,
  type TaskSpec,
} from './tekton-logic.ts';

const GROUP = 'tekton.dev';
const VERSION = 'v1';
const STATE = process.env['FAAS_TEST_STATE'] ?? '/tmp/faas-deploy-test-env';
const CONTAINERS_ENV = path.join(STATE, 'env.d', 'containers.env');
const WORK_ROOT = path.join(STATE, 'kube', 'tekton-work');
const LOG_ROOT = path.join(STATE, 'kube', 'tekton-logs');
const LOG_TAIL_BYTES = 256 * 1024;

type TaskRun = KubeObject & { spec: TaskRunSpec; status?: TaskRunStatus };

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} tekton-standin: ${msg}\n`);
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

const trPath = (ns: string, name?: string): string => resourcePath(GROUP, VERSION, ns, 'taskruns', name);

// ---- the Docker engine ----------------------------------------------------------------------------

/** DOCKER_* variables from the containers component's env file, or why there are none. */
function dockerEnv(): { env: NodeJS.ProcessEnv } | { error: string } {
  let text: string;
  try {
    text = fs.readFileSync(CONTAINERS_ENV, 'utf8');
  } catch {
    return {
      error: `tekton stand-in: no Docker engine: ${CONTAINERS_ENV} does not exist (is the containers component of scripts/test-env up?)`,
    };
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  let host = false;
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0 || line.startsWith('#')) continue;
    const key = line.slice(0, eq).trim();
    if (key.startsWith('DOCKER_')) {
      env[key] = line.slice(eq + 1);
      if (key === 'DOCKER_HOST') host = true;
    }
  }
  if (!host) return { error: `tekton stand-in: no Docker engine: ${CONTAINERS_ENV} has no DOCKER_HOST` };
  // Keep the CLI away from the invoking user's ~/.docker (credential helpers, contexts).
  if (!env['DOCKER_CONFIG']) {
    env['DOCKER_CONFIG'] = path.join(STATE, 'kube', 'docker-cli');
    fs.mkdirSync(env['DOCKER_CONFIG'], { recursive: true });
  }
  return { env };
}

function docker(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('docker', args, { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

// ---- one TaskRun ----------------------------------------------------------------------------------

interface Run {
  cancelled: boolean;
  statusMessage?: string;
  timedOut: boolean;
  containerId?: string;
  env?: NodeJS.ProcessEnv;
}

const running = new Map<string, Run>(); // by TaskRun uid

/** Why the current step's container was killed (a function: the flags change while we await). */
function killed(run: Run): 'TaskRunCancelled' | 'TaskRunTimeout' | undefined {
  return run.cancelled ? 'TaskRunCancelled' : run.timedOut ? 'TaskRunTimeout' : undefined;
}

async function writeStatus(
  rest: KubeRest,
  ns: string,
  name: string,
  uid: string,
  status: TaskRunStatus,
): Promise<boolean> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const fresh = await rest.get<TaskRun>(trPath(ns, name));
    if (!fresh || fresh.metadata.uid !== uid) return false;
    const res = await rest.request('PUT', `${trPath(ns, name)}/status`, { ...fresh, status });
    if (res.status === 409) continue;
    if (res.status === 404) return false;
    if (res.status < 200 || res.status > 299)
      throw new KubeApiError('PUT', 'taskrun status', res.status, res.text);
    return true;
  }
  throw new Error(`${ns}/${name}: status write still conflicting after 8 attempts`);
}

async function saveLogs(rest: KubeRest, tr: TaskRun, logs: Map<string, string>): Promise<void> {
  const ns = tr.metadata.namespace ?? 'default';
  const data: Record<string, string> = {};
  for (const [k, v] of logs) data[k] = Buffer.byteLength(v) > LOG_TAIL_BYTES ? v.slice(-LOG_TAIL_BYTES) : v;
  await rest.apply(
    resourcePath('', 'v1', ns, 'configmaps', `${tr.metadata.name}-standin-logs`),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `${tr.metadata.name}-standin-logs`,
        namespace: ns,
        labels: { 'tekton.dev/taskRun': tr.metadata.name, 'app.kubernetes.io/managed-by': 'tekton-standin' },
        ownerReferences: [
          {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'TaskRun',
            name: tr.metadata.name,
            uid: tr.metadata.uid ?? '',
          },
        ],
      },
      data,
    },
    'tekton-standin',
  );
}

async function keyFrom(
  rest: KubeRest,
  ns: string,
  kind: 'secrets' | 'configmaps',
  name: string,
  key: string,
): Promise<string | undefined> {
  const obj = await rest.get<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(
    resourcePath('', 'v1', ns, kind, name),
  );
  if (!obj) return undefined;
  if (kind === 'secrets') {
    const v = obj.data?.[key];
    return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
  }
  return obj.data?.[key];
}

async function resolveEnv(
  rest: KubeRest,
  ns: string,
  env: EnvVar[] | undefined,
): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for (const e of env ?? []) {
    if (e.value !== undefined) out.push([e.name, e.value]);
    else if (e.valueFrom?.secretKeyRef) {
      const r = e.valueFrom.secretKeyRef;
      const v = await keyFrom(rest, ns, 'secrets', r.name, r.key);
      if (v === undefined && !r.optional)
        throw new Error(`secret "${r.name}" key "${r.key}" not found (env ${e.name})`);
      if (v !== undefined) out.push([e.name, v]);
    } else if (e.valueFrom?.configMapKeyRef) {
      const r = e.valueFrom.configMapKeyRef;
      const v = await keyFrom(rest, ns, 'configmaps', r.name, r.key);
      if (v === undefined && !r.optional)
        throw new Error(`configmap "${r.name}" key "${r.key}" not found (env ${e.name})`);
      if (v !== undefined) out.push([e.name, v]);
    } else out.push([e.name, '']);
  }
  return out;
}

/** Writes the keys of a Secret/ConfigMap into dir (with `items` remapping), for a volume or workspace. */
async function materialize(
  rest: KubeRest,
  ns: string,
  source: Record<string, unknown>,
  dir: string,
): Promise<void> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
  fs.chmodSync(dir, 0o777);
  // A projected volume (Kubernetes ProjectedVolumeSource, a Tekton workspace binding too): the keys of
  // several ConfigMaps/Secrets in one directory. Sources name their object `name`, items as usual.
  const projected = source['projected'] as
    | { sources?: Array<Record<string, { name?: string; items?: Array<{ key: string; path: string }> }>> }
    | undefined;
  if (projected) {
    for (const src of projected.sources ?? []) {
      if (src['configMap']) await materialize(rest, ns, { configMap: src['configMap'] }, dir);
      else if (src['secret'])
        await materialize(rest, ns, { secret: { ...src['secret'], secretName: src['secret'].name } }, dir);
      else
        throw new Error(
          'tekton stand-in: projected sources other than configMap and secret are not supported',
        );
    }
    return;
  }
  const secret = source['secret'] as
    { secretName?: string; items?: Array<{ key: string; path: string }> } | undefined;
  const cm = source['configMap'] as
    { name?: string; items?: Array<{ key: string; path: string }> } | undefined;
  if (!secret && !cm) return; // emptyDir
  const kind = secret ? 'secrets' : 'configmaps';
  const name = secret ? (secret.secretName ?? '') : (cm?.name ?? '');
  const obj = await rest.get<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(
    resourcePath('', 'v1', ns, kind, name),
  );
  if (!obj) throw new Error(`${kind === 'secrets' ? 'secret' : 'configmap'} "${name}" not found`);
  const files = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(obj.data ?? {}))
    files.set(k, secret ? Buffer.from(v, 'base64') : Buffer.from(v));
  for (const [k, v] of Object.entries(obj.binaryData ?? {})) files.set(k, Buffer.from(v, 'base64'));
  const items = (secret ?? cm)?.items;
  const mapping = items
    ? items.map((i) => [i.key, i.path] as const)
    : [...files.keys()].map((k) => [k, k] as const);
  for (const [key, rel] of mapping) {
    const content = files.get(key);
    if (content === undefined) throw new Error(`${name}: key "${key}" not found`);
    const target = path.join(dir, rel);
    if (!target.startsWith(dir + path.sep)) throw new Error(`${name}: item path "${rel}" leaves the volume`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content, { mode: 0o644 });
  }
}

/**
 * Tekton's credential initialisation, simplified: registry credentials of the TaskRun's ServiceAccount
 * (its `secrets` of type kubernetes.io/dockerconfigjson, and kubernetes.io/basic-auth ones annotated
 * `tekton.dev/docker-*: <registry>`) are merged into /tekton/home/.docker/config.json.
 */
async function writeDockerCredentials(rest: KubeRest, ns: string, sa: string, home: string): Promise<void> {
  const account = await rest.get<{ secrets?: Array<{ name?: string }> }>(
    resourcePath('', 'v1', ns, 'serviceaccounts', sa),
  );
  const auths: Record<string, { auth: string }> = {};
  for (const ref of account?.secrets ?? []) {
    if (!ref.name) continue;
    const secret = await rest.get<{
      type?: string;
      data?: Record<string, string>;
      metadata: { annotations?: Record<string, string> };
    }>(resourcePath('', 'v1', ns, 'secrets', ref.name));
    if (!secret) continue;
    const data = secret.data ?? {};
    if (secret.type === 'kubernetes.io/dockerconfigjson' && data['.dockerconfigjson']) {
      try {
        const cfg = JSON.parse(Buffer.from(data['.dockerconfigjson'], 'base64').toString('utf8')) as {
          auths?: Record<string, { auth: string }>;
        };
        Object.assign(auths, cfg.auths ?? {});
      } catch {
        log(`${ns}/${ref.name}: .dockerconfigjson is not JSON; ignored`);
      }
    } else if (secret.type === 'kubernetes.io/basic-auth') {
      const user = Buffer.from(data['username'] ?? '', 'base64').toString('utf8');
      const pass = Buffer.from(data['password'] ?? '', 'base64').toString('utf8');
      for (const [k, v] of Object.entries(secret.metadata.annotations ?? {})) {
        if (k.startsWith('tekton.dev/docker-'))
          auths[v] = { auth: Buffer.from(`${user}:${pass}`).toString('base64') };
      }
    }
  }
  if (Object.keys(auths).length === 0) return;
  const dir = path.join(home, '.docker');
  fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
  fs.chmodSync(dir, 0o777);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths }, null, 2), { mode: 0o644 });
}

function readResults(dir: string, names: string[]): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const name of names) {
    try {
      out.push({ name, value: fs.readFileSync(path.join(dir, name), 'utf8') });
    } catch {
      // not written (yet)
    }
  }
  return out;
}

async function execute(rest: KubeRest, tr: TaskRun, run: Run): Promise<void> {
  const ns = tr.metadata.namespace ?? 'default';
  const name = tr.metadata.name;
  const uid = tr.metadata.uid ?? '';
  const startTime = tr.status?.startTime ?? now();
  const timeoutMs =
    tr.spec.timeout !== undefined
      ? (parseGoDuration(tr.spec.timeout) ?? DEFAULT_TIMEOUT_MS)
      : DEFAULT_TIMEOUT_MS;
  const steps: StepState[] = [];
  let resolved: TaskSpec | undefined = undefined;
  const finish = async (
    outcome: Outcome,
    results: Array<{ name: string; value: string }> = [],
  ): Promise<void> => {
    await writeStatus(
      rest,
      ns,
      name,
      uid,
      finalStatus(name, startTime, resolved, steps, results, outcome, now()),
    );
    log(
      `${ns}/${name}: finished ${outcome.kind}${'container' in outcome ? ` (${outcome.container} ${outcome.exitCode})` : ''}`,
    );
  };

  if (tr.spec.status === 'TaskRunCancelled') {
    await finish({ kind: 'cancelled', statusMessage: tr.spec.statusMessage ?? '' });
    return;
  }

  // The task: embedded, or a Task in the same namespace.
  let taskSpec = tr.spec.taskSpec;
  let taskName = name;
  if (!taskSpec && tr.spec.taskRef?.name) {
    taskName = tr.spec.taskRef.name;
    const task = await rest.get<{ spec?: TaskSpec }>(resourcePath(GROUP, VERSION, ns, 'tasks', taskName));
    if (!task?.spec) {
      await finish({
        kind: 'failed',
        reason: 'TaskRunResolutionFailed',
        message: `error when listing tasks for taskRun ${name}: tasks.tekton.dev "${taskName}" not found`,
      });
      return;
    }
    taskSpec = task.spec;
  }
  if (!taskSpec) {
    await finish({
      kind: 'failed',
      reason: 'TaskRunValidationFailed',
      message: 'expected exactly one, got neither: spec.taskRef, spec.taskSpec',
    });
    return;
  }
  const ctx: SubstitutionContext = {
    params: paramValues(taskSpec, tr.spec.params),
    workspacePaths: workspacePaths(taskSpec),
    resultNames: (taskSpec.results ?? []).map((r) => r.name),
    taskRunName: name,
    taskRunNamespace: ns,
    taskRunUid: uid,
    taskName,
  };
  const invalid = validateRun(taskSpec, ctx);
  if (invalid) {
    await finish({
      kind: 'failed',
      reason: 'TaskRunValidationFailed',
      message: `invalid input params for task ${taskName}: ${invalid}`,
    });
    return;
  }
  resolved = resolveTaskSpec(taskSpec, ctx);
  await writeStatus(rest, ns, name, uid, runningStatus(name, startTime, resolved, steps, now()));

  const engine = dockerEnv();
  if ('error' in engine) {
    await finish({ kind: 'failed', reason: 'PodCreationFailed', message: engine.error });
    return;
  }
  run.env = engine.env;

  // The "pod": directories for results, home, scripts, workspaces and volumes.
  const work = path.join(WORK_ROOT, `${ns}_${name}_${uid.slice(0, 8)}`);
  const logDir = path.join(LOG_ROOT, ns, name);
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(logDir, { recursive: true });
  const dirs = {
    results: path.join(work, 'results'),
    home: path.join(work, 'home'),
    scripts: path.join(work, 'scripts'),
  };
  for (const d of Object.values(dirs)) {
    fs.mkdirSync(d, { recursive: true });
    fs.chmodSync(d, 0o777);
  }
  await writeDockerCredentials(rest, ns, tr.spec.serviceAccountName ?? 'default', dirs.home);
  const timer = setTimeout(
    () => {
      if (timeoutMs <= 0) return;
      run.timedOut = true;
      if (run.containerId) void docker(['kill', run.containerId], engine.env);
    },
    Math.max(0, Date.parse(startTime) + timeoutMs - Date.now()),
  );
  if (timeoutMs <= 0) clearTimeout(timer);

  const logs = new Map<string, string>();
  try {
    const mounts: string[] = [
      '-v',
      `${dirs.results}:/tekton/results`,
      '-v',
      `${dirs.home}:/tekton/home`,
      '-v',
      `${dirs.scripts}:/tekton/scripts:ro`,
    ];
    for (const w of taskSpec.workspaces ?? []) {
      const binding = tr.spec.workspaces?.find((b) => b.name === w.name);
      if (!binding) {
        if (w.optional) continue;
        await finish({
          kind: 'failed',
          reason: 'TaskRunValidationFailed',
          message: `bind workspace "${w.name}": workspace binding missing`,
        });
        return;
      }
      if (
        !('emptyDir' in binding) &&
        !('secret' in binding) &&
        !('configMap' in binding) &&
        !('projected' in binding)
      ) {
        await finish({
          kind: 'failed',
          reason: 'TaskRunValidationFailed',
          message: `tekton stand-in: workspace "${w.name}": only emptyDir, secret, configMap and projected bindings are supported`,
        });
        return;
      }
      const dir = path.join(work, `ws-${w.name}`);
      await materialize(rest, ns, binding, dir);
      const src = binding.subPath ? path.join(dir, binding.subPath) : dir;
      fs.mkdirSync(src, { recursive: true, mode: 0o777 });
      const ro = w.readOnly || 'secret' in binding || 'configMap' in binding || 'projected' in binding;
      mounts.push('-v', `${src}:${ctx.workspacePaths.get(w.name)}${ro ? ':ro' : ''}`);
    }
    const volumeDirs = new Map<string, string>();
    for (const v of taskSpec.volumes ?? []) {
      const dir = path.join(work, `vol-${v.name}`);
      await materialize(rest, ns, v, dir);
      volumeDirs.set(v.name, dir);
    }

    const resultNames = ctx.resultNames;
    const all = resolved.steps ?? [];
    let outcome: Outcome = { kind: 'succeeded' };
    for (let i = 0; i < all.length; i++) {
      const step = applyStepTemplate(all[i] ?? {}, resolved.stepTemplate);
      const container = stepContainerName(step, i);
      const stepName = step.name ?? `unnamed-${i}`;
      if (outcome.kind !== 'succeeded') {
        // Tekton's entrypoint skips the steps after a failure; they exit 1 without running.
        steps.push({
          name: stepName,
          container,
          imageID: step.image ?? '',
          terminationReason: 'Skipped',
          terminated: { exitCode: 1, reason: 'Error', startedAt: now(), finishedAt: now(), containerID: '' },
        });
        continue;
      }
      const stop = killed(run);
      if (stop) {
        outcome =
          stop === 'TaskRunCancelled'
            ? { kind: 'cancelled', statusMessage: run.statusMessage ?? '' }
            : { kind: 'timeout', timeoutMs };
        continue;
      }
      const args = [
        'create',
        '--network',
        'host',
        '--name',
        `tekton-standin-${uid.slice(0, 8)}-${container}-${randomBytes(3).toString('hex')}`,
      ];
      args.push(...mounts);
      for (const m of step.volumeMounts ?? []) {
        const dir = volumeDirs.get(m.name);
        if (!dir) throw new Error(`step ${stepName}: volumeMount "${m.name}" names no volume`);
        args.push(
          '-v',
          `${m.subPath ? path.join(dir, m.subPath) : dir}:${m.mountPath}${m.readOnly ? ':ro' : ''}`,
        );
      }
      let env: Array<[string, string]>;
      try {
        env = [
          ...(await resolveEnv(rest, ns, step.env)),
          ...(await resolveEnv(rest, ns, tr.spec.podTemplate?.env)),
        ];
        for (const ef of step.envFrom ?? []) {
          const kind = ef.secretRef ? 'secrets' : 'configmaps';
          const ref = ef.secretRef?.name ?? ef.configMapRef?.name ?? '';
          const obj = await rest.get<{ data?: Record<string, string> }>(
            resourcePath('', 'v1', ns, kind, ref),
          );
          if (!obj) throw new Error(`${kind === 'secrets' ? 'secret' : 'configmap'} "${ref}" not found`);
          for (const [k, v] of Object.entries(obj.data ?? {})) {
            env.push([
              `${ef.prefix ?? ''}${k}`,
              kind === 'secrets' ? Buffer.from(v, 'base64').toString('utf8') : v,
            ]);
          }
        }
      } catch (err) {
        outcome = {
          kind: 'failed',
          reason: 'CreateContainerConfigError',
          message: `failed to create task run pod "${name}": ${err instanceof Error ? err.message : String(err)}`,
        };
        continue;
      }
      for (const [k, v] of env) args.push('-e', `${k}=${v}`);
      if (step.workingDir) args.push('-w', step.workingDir);
      const user = step.securityContext?.runAsUser ?? tr.spec.podTemplate?.securityContext?.runAsUser;
      if (user !== undefined) args.push('--user', String(user));
      let cmd: string[];
      if (step.script) {
        const file = `script-${i}-${randomBytes(3).toString('hex')}`;
        fs.writeFileSync(path.join(dirs.scripts, file), scriptFile(step.script), { mode: 0o755 });
        args.push('--entrypoint', `/tekton/scripts/${file}`);
        cmd = step.args ?? [];
      } else if (step.command && step.command.length > 0) {
        args.push('--entrypoint', step.command[0] ?? '');
        cmd = [...step.command.slice(1), ...(step.args ?? [])];
      } else cmd = step.args ?? [];
      args.push(step.image ?? '', ...cmd);

      const created = await docker(args, engine.env);
      if (created.code !== 0) {
        outcome = {
          kind: 'failed',
          reason: 'TaskRunImagePullFailed',
          message: `the step "${stepName}" in TaskRun "${name}" failed to pull the image "${step.image}". The pod errored with the message: "${created.stderr.trim()}."`,
        };
        continue;
      }
      const id = created.stdout.trim();
      run.containerId = id;
      const startedAt = now();
      steps.push({ name: stepName, container, imageID: '', running: { startedAt } });
      await writeStatus(rest, ns, name, uid, runningStatus(name, startTime, resolved, steps, now()));

      const logFile = path.join(logDir, `${container}.log`);
      const out = fs.createWriteStream(logFile);
      let text = '';
      await new Promise<void>((resolve) => {
        const child = spawn('docker', ['start', '--attach', id], {
          env: engine.env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const onData = (c: Buffer): void => {
          out.write(c);
          text += c.toString('utf8');
          if (text.length > 4 * LOG_TAIL_BYTES) text = text.slice(-LOG_TAIL_BYTES);
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        // A cancel or timeout can land between `docker create` and the container's start, when
        // `docker kill` has nothing to kill yet: keep killing while the step runs and the flag is set.
        const killer = setInterval(() => {
          if (killed(run)) void docker(['kill', id], engine.env);
        }, 250);
        child.on('close', () => {
          clearInterval(killer);
          resolve();
        });
        child.on('error', (err) => {
          clearInterval(killer);
          onData(Buffer.from(`tekton stand-in: docker start: ${err.message}\n`));
          resolve();
        });
      });
      await new Promise<void>((r) =>
        out.end(() => {
          r();
        }),
      );
      logs.set(container, text);
      run.containerId = undefined;

      const inspected = await docker(['inspect', '--format', '{{json .State}}|{{.Image}}', id], engine.env);
      const [stateJson, imageId] = inspected.stdout.trim().split('|');
      const state = JSON.parse(stateJson || '{}') as {
        ExitCode?: number;
        StartedAt?: string;
        FinishedAt?: string;
        OOMKilled?: boolean;
      };
      const repoDigests = await docker(
        ['image', 'inspect', '--format', '{{json .RepoDigests}}', step.image ?? ''],
        engine.env,
      );
      let imageID = imageId ?? '';
      try {
        const list = JSON.parse(repoDigests.stdout.trim() || '[]') as string[];
        if (list[0]) imageID = list[0];
      } catch {
        // keep the local image id
      }
      await docker(['rm', '-f', id], engine.env);
      const exitCode = state.ExitCode ?? 1;
      const stepResults = readResults(dirs.results, resultNames).filter(
        (r) => !steps.some((s) => s.terminated?.message?.includes(JSON.stringify(r.name))),
      );
      const iso = (t: string | undefined): string =>
        t && !t.startsWith('0001') ? t.replace(/\.\d+Z$/, 'Z') : now();
      const killedReason = killed(run);
      const reason = killedReason ?? terminatedReason(exitCode, state.OOMKilled === true);
      const message = exitCode === 0 ? terminationMessage(stepResults) : undefined;
      const terminated = {
        exitCode,
        reason,
        startedAt: iso(state.StartedAt),
        finishedAt: iso(state.FinishedAt),
        containerID: `docker://${id}`,
      };
      steps[steps.length - 1] = {
        name: stepName,
        container,
        imageID,
        terminationReason: reason,
        terminated: message ? { ...terminated, message } : terminated,
      };
      await saveLogs(rest, tr, logs);
      if (killedReason) {
        outcome =
          killedReason === 'TaskRunCancelled'
            ? { kind: 'cancelled', statusMessage: run.statusMessage ?? '' }
            : { kind: 'timeout', timeoutMs };
      } else if (exitCode !== 0) {
        const last = steps[steps.length - 1];
        if (step.onError === 'continue' && last) {
          steps[steps.length - 1] = { ...last, terminationReason: 'Continued' };
        } else outcome = { kind: 'stepFailed', container, exitCode, reason };
      }
      if (outcome.kind === 'succeeded') {
        await writeStatus(rest, ns, name, uid, runningStatus(name, startTime, resolved, steps, now()));
      }
    }
    await finish(outcome, readResults(dirs.results, resultNames));
  } finally {
    clearTimeout(timer);
    if (process.env['FAAS_STANDIN_KEEP_WORK'] !== '1') fs.rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--kubeconfig');
  const kubeconfig = i > 0 ? process.argv[i + 1] : process.env['KUBECONFIG'];
  if (!kubeconfig) throw new Error('usage: tekton-standin.ts --kubeconfig <admin kubeconfig>');
  const rest = KubeRest.fromFile(kubeconfig);
  const abort = new AbortController();
  const stop = (sig: string): void => {
    log(`${sig}: stopping; killing running step containers`);
    abort.abort();
    const kills = [...running.values()]
      .filter((r) => r.containerId && r.env)
      .map((r) => docker(['rm', '-f', r.containerId ?? ''], r.env ?? process.env));
    void Promise.allSettled(kills).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => {
    stop('SIGTERM');
  });
  process.on('SIGINT', () => {
    stop('SIGINT');
  });

  const queue = new KeyedQueue<TaskRun>((_key, tr) => {
    const uid = tr.metadata.uid ?? '';
    if (running.has(uid) || isFinal(tr.status)) return Promise.resolve();
    const run: Run = { cancelled: false, timedOut: false };
    running.set(uid, run);
    log(`${tr.metadata.namespace}/${tr.metadata.name}: starting`);
    void execute(rest, tr, run)
      .catch(async (err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        log(
          `${tr.metadata.namespace}/${tr.metadata.name}: ${err instanceof Error ? (err.stack ?? msg) : msg}`,
        );
        const ns = tr.metadata.namespace ?? 'default';
        await writeStatus(
          rest,
          ns,
          tr.metadata.name,
          uid,
          finalStatus(
            tr.metadata.name,
            tr.status?.startTime ?? now(),
            undefined,
            [],
            [],
            {
              kind: 'failed',
              reason: 'Failed',
              message: `tekton stand-in: ${msg}`,
            },
            now(),
          ),
        ).catch(() => undefined);
      })
      .finally(() => running.delete(uid));
    return Promise.resolve();
  }, log);

  log(`watching ${rest.server} for ${GROUP} taskruns`);
  await listAndWatch<TaskRun>(
    rest,
    `/apis/${GROUP}/${VERSION}/taskruns`,
    (ev) => {
      const tr = ev.object;
      const uid = tr.metadata.uid ?? '';
      const run = running.get(uid);
      if (ev.type === 'DELETED') {
        if (run) {
          run.cancelled = true;
          if (run.containerId && run.env) void docker(['rm', '-f', run.containerId], run.env);
        }
        const ns = tr.metadata.namespace ?? 'default';
        void rest
          .delete(resourcePath('', 'v1', ns, 'configmaps', `${tr.metadata.name}-standin-logs`))
          .catch(() => undefined);
        return;
      }
      if (run) {
        if (tr.spec.status === 'TaskRunCancelled' && !run.cancelled) {
          log(`${tr.metadata.namespace}/${tr.metadata.name}: cancelled`);
          run.cancelled = true;
          run.statusMessage = tr.spec.statusMessage ?? '';
          if (run.containerId && run.env) void docker(['kill', run.containerId], run.env);
        }
        return;
      }
      if (!isFinal(tr.status)) queue.push(uid, tr);
    },
    abort.signal,
    log,
    () => {
      log('synced: initial list done');
    },
  );
}

main().catch((err: unknown) => {
  log(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
