// A run cancelled in the middle of a Tekton build, and the post step after it, through the bundles a
// runner runs (dist/index.js, then dist/post.js) and the runner's file protocol: INPUT_* variables,
// GITHUB_STATE written by the main step and handed to the post step as STATE_* variables, RUNNER_TEMP.
// The runner cancels a job with a signal and kills what is still running a moment later; a real
// Tekton pod takes longer than that moment to stop, so here the main step is killed as soon as it has
// begun cancelling its TaskRun. Afterwards nothing with the run's label is left on the API server (read
// as admin), no step container on the Docker engine, nothing in RUNNER_TEMP, and no secret in the state.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pushEvent } from '../../test/github/events.ts';
import { KubeRest, resourcePath, sleep, type KubeObject } from '../../test/standins/kube-client.ts';
import { makeRepo, type TestRepo } from '../../test/support/git-repo.ts';
import { parseOutputFile } from '../../test/support/runner-files.ts';
import { run as runCommand } from './build-support.js';
import { need as needFrom } from './deploy-helpers.js';

const env = inject('testEnv');
const need = (key: string): string => needFrom(env, key);
const ns = need('KUBE_NAMESPACE');
const admin = KubeRest.fromFile(need('KUBECONFIG_ADMIN'));
const dist = path.resolve(process.env['FAAS_ACTION_DIST'] ?? 'dist');
const suffix = randomBytes(3).toString('hex');
const fn = `slow-${suffix}`;
const RUN_LABEL = 'faas-deploy.dev/run';

type Labelled = KubeObject & {
  spec?: { status?: string };
  status?: { steps?: Array<{ running?: unknown }> };
};

const kinds = [
  ['TaskRun', resourcePath('tekton.dev', 'v1', ns, 'taskruns')],
  ['ConfigMap', resourcePath('', 'v1', ns, 'configmaps')],
  ['Secret', resourcePath('', 'v1', ns, 'secrets')],
] as const;

/** Everything in the namespace with the run's label, as `<Kind>/<name>`. */
async function labelled(runId: string): Promise<{ names: string[]; taskRuns: Labelled[] }> {
  const names: string[] = [];
  let taskRuns: Labelled[] = [];
  for (const [kind, collection] of kinds) {
    const list = await admin.call<{ items: Labelled[] }>(
      'GET',
      `${collection}?labelSelector=${encodeURIComponent(`${RUN_LABEL}=${runId}`)}`,
    );
    if (kind === 'TaskRun') taskRuns = list.items;
    names.push(...list.items.map((item) => `${kind}/${item.metadata.name}`));
  }
  return { names, taskRuns };
}

async function until<T>(what: string, limitMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(
  script: string,
  cwd: string,
  childEnv: NodeJS.ProcessEnv,
): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(process.execPath, [path.join(dist, script)], { cwd, env: childEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, exit };
}

let repo: TestRepo;
let work = '';

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'faas-post-itest-'));
  repo = makeRepo('faas-post-repo-');
});

afterAll(async () => {
  repo.remove();
  await rm(work, { recursive: true, force: true });
});

describe('the post step after a run cancelled mid-build', () => {
  it('SIGTERM while the TaskRun runs, killed while it cancels; the post step leaves nothing on the API server or in RUNNER_TEMP', async () => {
    expect(existsSync(path.join(dist, 'index.js')) && existsSync(path.join(dist, 'post.js'))).toBe(true);
    const before = repo.commit('readme', { 'README.md': '# functions\n' });
    // A build that runs for minutes: its kaniko step is running when the job is cancelled.
    const after = repo.commit('a slow function', {
      [`functions/${fn}/Dockerfile`]: `FROM ${need('IMAGE_RUNTIME')}\nRUN sleep 300\n`,
      [`functions/${fn}/run.txt`]: suffix,
    });
    const runnerTemp = path.join(work, 'runner-temp');
    const files = {
      event: path.join(work, 'event.json'),
      state: path.join(work, 'state'),
      output: path.join(work, 'output'),
      summary: path.join(work, 'summary.md'),
    };
    mkdirSync(runnerTemp);
    writeFileSync(files.event, JSON.stringify(pushEvent({ before, after })));
    for (const f of [files.state, files.output, files.summary]) writeFileSync(f, '');
    const kubeconfig = readFileSync(need('KUBECONFIG_DEPLOYER'), 'utf8');
    const password = need('REGISTRY_AUTH_PASSWORD');
    const inputs: Record<string, string> = {
      builder: 'tekton',
      registry: `${need('REGISTRY_AUTH')}/post-${suffix}`,
      'registry-username': need('REGISTRY_AUTH_USER'),
      'registry-password': password,
      'kaniko-image': need('IMAGE_KANIKO'),
      kubeconfig,
      namespace: ns,
      comment: 'false',
    };
    const runnerEnv: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      DOCKER_HOST: need('DOCKER_HOST'),
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_EVENT_PATH: files.event,
      GITHUB_OUTPUT: files.output,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_WORKSPACE: repo.dir,
      GITHUB_REPOSITORY: 'octo-org/functions',
      GITHUB_SHA: after,
      GITHUB_REF: 'refs/heads/main',
      RUNNER_TEMP: runnerTemp,
    };
    for (const [name, value] of Object.entries(inputs)) runnerEnv[`INPUT_${name.toUpperCase()}`] = value;

    // The main step, until its TaskRun's kaniko step runs.
    const main = start('index.js', repo.dir, { ...runnerEnv, GITHUB_STATE: files.state });
    let exited: Exit | undefined;
    void main.exit.then((e) => (exited = e));
    const runId = await until('the run id in GITHUB_STATE', 60_000, () => {
      if (exited) throw new Error(`main step exited early:\n${exited.stdout}\n${exited.stderr}`);
      return Promise.resolve(parseOutputFile(files.state)['run-id'] || undefined);
    });
    const running = await until('the TaskRun’s step to run', 300_000, async () => {
      if (exited) throw new Error(`main step exited early:\n${exited.stdout}\n${exited.stderr}`);
      const now = await labelled(runId);
      return now.taskRuns.some((tr) => tr.status?.steps?.some((s) => s.running !== undefined))
        ? now
        : undefined;
    });
    // The context ConfigMap, the registry Secret and the TaskRun, all with the run's label.
    expect(running.names.map((n) => n.split('/')[0]).sort()).toEqual(['ConfigMap', 'Secret', 'TaskRun']);
    const taskRun = running.taskRuns[0]?.metadata.name ?? '';

    // Cancelled: SIGTERM; killed once it has begun cancelling the TaskRun (or after the runner's 2.5 s).
    main.child.kill('SIGTERM');
    const sentAt = Date.now();
    await until('the TaskRun cancelled, or the main step gone', 30_000, async () => {
      if (exited) return true;
      const now = await labelled(runId);
      const cancelled = now.taskRuns.some((tr) => tr.spec?.status === 'TaskRunCancelled');
      return cancelled || Date.now() - sentAt > 2500 ? true : undefined;
    });
    if (!exited) main.child.kill('SIGKILL');
    const mainExit = await main.exit;
    const left = await labelled(runId);
    const runDirs = readdirSync(runnerTemp);
    console.log(
      `main step: ${mainExit.signal ?? `exit ${mainExit.code}`}; left for the post step: ${[...left.names, ...runDirs.map((d) => `RUNNER_TEMP/${d}`)].join(', ') || 'nothing'}`,
    );
    // Killed mid-cancel, the main step could not remove its own temp dir (kubeconfig, docker config).
    expect(runDirs.length).toBeGreaterThan(0);

    // The state names the run; never a credential.
    const stateText = readFileSync(files.state, 'utf8');
    const state = parseOutputFile(files.state);
    expect(state).toMatchObject({ namespace: ns, 'run-id': runId });
    expect(state['temp-dir']?.startsWith(runnerTemp)).toBe(true);
    const token = /token: (\S+)/.exec(kubeconfig)?.[1] ?? '';
    expect(token.length).toBeGreaterThan(20);
    for (const secret of [token, password, kubeconfig]) expect(stateText).not.toContain(secret);

    // The post step, as the runner starts it: the same inputs, the state as STATE_* variables.
    const stateEnv = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]));
    const postStatePath = path.join(work, 'post-state');
    writeFileSync(postStatePath, '');
    const post = await start('post.js', repo.dir, { ...runnerEnv, ...stateEnv, GITHUB_STATE: postStatePath })
      .exit;
    expect(post.code, `${post.stdout}\n${post.stderr}`).toBe(0);
    expect(post.stdout).not.toMatch(/^::warning::/m);
    // It says what it removed: each leftover, and the run's temp dir.
    const removed: Record<string, string> = {
      TaskRun: 'TaskRun',
      ConfigMap: 'configmaps',
      Secret: 'secrets',
    };
    for (const item of left.names) {
      const [kind = '', name = ''] = item.split('/');
      expect(post.stdout).toContain(`Cleanup: deleted ${removed[kind] ?? kind} ${ns}/${name}`);
    }
    expect(post.stdout).toContain(`Cleanup: removed ${state['temp-dir'] ?? ''}`);
    expect(taskRun).not.toBe('');

    // Nothing left: on the API server, in RUNNER_TEMP, on the Docker engine (the step's container).
    await until('the run’s objects to be gone', 30_000, async () =>
      (await labelled(runId)).names.length === 0 ? true : undefined,
    );
    expect(readdirSync(runnerTemp)).toEqual([]);
    const uid = running.taskRuns[0]?.metadata.uid ?? '';
    await until('the step container to be gone', 30_000, async () => {
      const ps = await runCommand(
        'docker',
        ['ps', '-aq', '--filter', `name=tekton-standin-${uid.slice(0, 8)}`],
        {
          ...process.env,
          DOCKER_HOST: need('DOCKER_HOST'),
        },
      );
      return ps.code === 0 && ps.stdout.trim() === '' ? true : undefined;
    });
  }, 600_000);
});
