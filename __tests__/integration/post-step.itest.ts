// The action's post step after a cancelled run, as a runner runs both: dist/index.js with builder
// tekton is stopped in the middle of a build, then dist/post.js runs with the state the main step
// saved (GITHUB_STATE, handed over as STATE_* variables) and the same inputs. Afterwards nothing of
// the run is left on the API server (TaskRuns, ConfigMaps, Secrets labelled with the run) or in
// RUNNER_TEMP. SIGTERM is the runner's cancel, which the main step answers itself; SIGKILL is a main
// step that got no chance to, which only the post step can clean up after.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_LABEL } from '../../src/build/types.js';
import { eventEnv, pushEvent } from '../../test/github/events.ts';
import { makeRepo, type TestRepo } from '../../test/support/git-repo.ts';
import { parseOutputFile } from '../../test/support/runner-files.ts';
import { repoRoot, testEnv } from './build-support.js';

const need = testEnv();
const namespace = need('KUBE_NAMESPACE');
const admin = new KubeConfig();
admin.loadFromFile(need('KUBECONFIG_ADMIN'));
const custom = admin.makeApiClient(CustomObjectsApi);
const core = admin.makeApiClient(CoreV1Api);
const suffix = randomBytes(3).toString('hex');

interface Leftovers {
  taskRuns: string[];
  configMaps: string[];
  secrets: string[];
}

/** Everything on the API server labelled with the run, read as admin. */
async function leftovers(runId: string): Promise<Leftovers> {
  const labelSelector = `${RUN_LABEL}=${runId}`;
  const taskRuns = (await custom.listNamespacedCustomObject({
    group: 'tekton.dev',
    version: 'v1',
    namespace,
    plural: 'taskruns',
    labelSelector,
  })) as { items: { metadata: { name: string } }[] };
  const configMaps = await core.listNamespacedConfigMap({ namespace, labelSelector });
  const secrets = await core.listNamespacedSecret({ namespace, labelSelector });
  return {
    taskRuns: taskRuns.items.map((item) => item.metadata.name),
    configMaps: configMaps.items.map((item) => item.metadata?.name ?? ''),
    secrets: secrets.items.map((item) => item.metadata?.name ?? ''),
  };
}

let repo: TestRepo;
let work: string;

beforeAll(() => {
  repo = makeRepo('faas-post-');
});
afterAll(() => {
  repo.remove();
});

interface Step {
  env: NodeJS.ProcessEnv;
  runnerTemp: string;
  stateFile: string;
}

/** A runner's environment for one job: its files outside RUNNER_TEMP, so RUNNER_TEMP starts empty. */
function job(name: string, inputs: Record<string, string>): Step {
  work = mkdtempSync(path.join(tmpdir(), `faas-post-${name}-`));
  const runnerTemp = mkdtempSync(path.join(work, 'runner-temp-'));
  const files = {
    event: path.join(work, 'event.json'),
    output: path.join(work, 'output'),
    summary: path.join(work, 'summary.md'),
    state: path.join(work, 'state'),
  };
  const sha = repo.git('rev-parse', 'HEAD');
  const before = repo.git('rev-parse', 'HEAD~1');
  const payload = pushEvent({ before, after: sha });
  writeFileSync(files.event, JSON.stringify(payload));
  for (const file of [files.output, files.summary, files.state]) writeFileSync(file, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    ...eventEnv('push', payload, files.event),
    GITHUB_RUN_ID: '777',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_STATE: files.state,
    GITHUB_WORKSPACE: repo.dir,
    RUNNER_TEMP: runnerTemp,
  };
  for (const [input, value] of Object.entries(inputs)) env[`INPUT_${input.toUpperCase()}`] = value;
  return { env, runnerTemp, stateFile: files.state };
}

/** Runs a bundle; `stop` may signal it while it runs. */
function start(bundle: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', bundle)], { cwd: repo.dir, env });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>(
    (resolve) => {
      child.on('close', (code, signal) => {
        resolve({ code, signal, stdout });
      });
    },
  );
  return { child, done, log: () => stdout };
}

/** Waits until the main step has saved its state and a TaskRun of the run exists; returns the run id. */
async function buildRunning(step: Step, log: () => string): Promise<string> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const runId = parseOutputFile(step.stateFile)['run-id'];
    if (runId && (await leftovers(runId)).taskRuns.length > 0) {
      // Give the stand-in time to start the kaniko step.
      await sleep(3000);
      return runId;
    }
    if (Date.now() > deadline) throw new Error(`no TaskRun of the run appeared:\n${log().slice(-4000)}`);
    await sleep(250);
  }
}

function inputs(): Record<string, string> {
  return {
    mode: 'deploy',
    builder: 'tekton',
    registry: `${need('REGISTRY_AUTH')}/post-${suffix}`,
    'registry-username': need('REGISTRY_AUTH_USER'),
    'registry-password': need('REGISTRY_AUTH_PASSWORD'),
    'kaniko-image': need('IMAGE_KANIKO'),
    kubeconfig: readFileSync(need('KUBECONFIG_DEPLOYER'), 'utf8'),
    namespace,
    'github-token': '',
  };
}

/** The post step with the main step's state, as the runner hands it over. */
async function runPostStep(step: Step): Promise<{ code: number | null; stdout: string }> {
  const state = parseOutputFile(step.stateFile);
  const env: NodeJS.ProcessEnv = { ...step.env };
  for (const [name, value] of Object.entries(state)) env[`STATE_${name}`] = value;
  return start('post.js', env).done;
}

describe('the post step after a cancelled Tekton build', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'main stopped by %s mid-build: after the post step nothing of the run is left',
    async (signal) => {
      const fn = `slow-${signal.toLowerCase()}-${suffix}`;
      repo.commit('base', { 'README.md': `# ${fn}\n` });
      repo.commit(`add ${fn}`, {
        [`functions/${fn}/function.yaml`]: 'runtime: dockerfile\n',
        [`functions/${fn}/Dockerfile`]: `FROM ${need('IMAGE_RUNTIME')}\nRUN sleep 300\n`,
      });
      const step = job(signal, inputs());
      try {
        const main = start('index.js', step.env);
        const runId = await buildRunning(step, main.log);
        main.child.kill(signal);
        const ended = await main.done;
        expect(ended.code === 0, ended.stdout.slice(-2000)).toBe(false);

        const state = parseOutputFile(step.stateFile);
        expect(state['namespace']).toBe(namespace);
        expect(path.dirname(state['temp-dir'] ?? '')).toBe(step.runnerTemp);
        expect(readFileSync(step.stateFile, 'utf8')).not.toContain(need('REGISTRY_AUTH_PASSWORD'));
        if (signal === 'SIGKILL') {
          // Killed outright: the TaskRun, its context and credentials, and the temp dir (kubeconfig,
          // docker config) are still there, for the post step to find.
          const left = await leftovers(runId);
          expect(left.taskRuns).toHaveLength(1);
          expect(left.configMaps.length).toBeGreaterThan(0);
          expect(left.secrets).toHaveLength(1);
          expect(readdirSync(step.runnerTemp)).toEqual([path.basename(state['temp-dir'] ?? '')]);
        } else {
          expect(ended.stdout).toContain('::warning::Cancelled: stopping builds and waits.');
        }

        const post = await runPostStep(step);
        expect(post.code, post.stdout).toBe(0);
        expect(post.stdout).not.toContain('::warning::');
        expect(await leftovers(runId)).toEqual({ taskRuns: [], configMaps: [], secrets: [] });
        expect(readdirSync(step.runnerTemp)).toEqual([]);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
    300_000,
  );
});
