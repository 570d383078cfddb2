// The post step's cleanup: what a run of the action made and a cancelled run may have left behind,
// found by the run label (RUN_LABEL) — Tekton TaskRuns (cancelled first, so their pods stop), their
// ConfigMaps and Secrets, kaniko containers on the Docker engine — and the run's temp directory
// (kubeconfig and docker config files). A leftover it cannot remove is a warning, never a failure: the
// job's outcome is decided by the main step.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { isFinished, TASK_RUNS, type TaskRunStatusView } from '../build/tekton-task.js';
import { RUN_LABEL } from '../build/types.js';
import type { KubeConnection } from '../kube/connection.js';
import { CONFIG_MAPS, KubeResources, SECRETS } from '../kube/resources.js';
import { describeError } from '../util/errors.js';
import type { CommandRunner } from '../util/exec.js';

export interface RunState {
  namespace: string;
  runId: string;
  /** The run's private temp directory (never RUNNER_TEMP itself). */
  tempDir: string;
}

export interface CleanupDeps {
  /** Absent when the run never connected to a cluster (or the post step cannot). */
  kube?: KubeConnection;
  runner: CommandRunner;
  log(message: string): void;
  /** What could not be removed (default: log). */
  warn?(message: string): void;
}

interface TaskRun {
  metadata: { name: string; uid?: string };
  spec?: { status?: string };
  status?: TaskRunStatusView;
}

export async function cleanupRun(state: RunState, deps: CleanupDeps): Promise<void> {
  const warn = (message: string): void => {
    if (deps.warn) deps.warn(message);
    else deps.log(message);
  };
  if (!/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(state.runId) || state.runId.length > 63) {
    // An empty or malformed id would select every object (or none): touch nothing on the cluster.
    warn(`Cleanup skipped: the saved run id "${state.runId}" is not a label value.`);
  } else {
    const selector = `${RUN_LABEL}=${state.runId}`;
    if (deps.kube)
      await cleanupCluster(new KubeResources(deps.kube.http, state.namespace), selector, deps, warn);
    await removeContainers(selector, deps, warn);
  }
  await removeTempDir(state.tempDir, deps, warn);
}

async function cleanupCluster(
  resources: KubeResources,
  selector: string,
  deps: CleanupDeps,
  warn: (message: string) => void,
): Promise<void> {
  const ns = resources.namespace;
  // TaskRuns first, each cancelled before it is deleted, so that Tekton stops the build's pod.
  let taskRuns: TaskRun[] = [];
  try {
    taskRuns = await resources.list<TaskRun>(TASK_RUNS, { labelSelector: selector });
  } catch (error) {
    warn(
      `Cleanup: cannot list the TaskRuns labelled ${selector} in namespace "${ns}": ${describeError(error)}`,
    );
  }
  for (const { metadata, spec, status } of taskRuns) {
    const where = `TaskRun ${ns}/${metadata.name}`;
    try {
      if (!isFinished(status) && spec?.status !== 'TaskRunCancelled') {
        await resources.mergePatch(TASK_RUNS, metadata.name, {
          spec: { status: 'TaskRunCancelled', statusMessage: 'The faas-deploy run was cancelled.' },
        });
        deps.log(`Cleanup: cancelled ${where}`);
      }
      const outcome = await resources.delete(
        TASK_RUNS,
        metadata.name,
        metadata.uid ? { uid: metadata.uid } : {},
      );
      deps.log(`Cleanup: ${outcome === 'deleted' ? 'deleted' : 'already gone:'} ${where}`);
    } catch (error) {
      warn(`Cleanup: could not remove ${where}: ${describeError(error)}`);
    }
  }
  // The build contexts and registry credentials: by label, one request each, without `list`.
  for (const type of [CONFIG_MAPS, SECRETS]) {
    try {
      const names = await resources.deleteCollection(type, { labelSelector: selector });
      for (const name of names) deps.log(`Cleanup: deleted ${type.plural} ${ns}/${name}`);
    } catch (error) {
      warn(
        `Cleanup: could not delete the ${type.plural} labelled ${selector} in namespace "${ns}": ${describeError(error)}`,
      );
    }
  }
}

/** kaniko executor containers of the run, by label (`docker rm -f`). */
async function removeContainers(
  selector: string,
  deps: CleanupDeps,
  warn: (message: string) => void,
): Promise<void> {
  let ids: string[];
  try {
    const ps = await deps.runner.run('docker', ['ps', '-aq', '--filter', `label=${selector}`]);
    if (ps.exitCode !== 0) {
      // No engine reachable (a Tekton-only runner): then there is nothing of ours on it either.
      deps.log(`Cleanup: no Docker engine to look for kaniko containers on (${ps.stderr.trim()})`);
      return;
    }
    ids = ps.stdout.split('\n').filter((id) => id.trim() !== '');
  } catch (error) {
    deps.log(`Cleanup: no docker CLI to look for kaniko containers with (${describeError(error)})`);
    return;
  }
  if (ids.length === 0) return;
  const rm = await deps.runner.run('docker', ['rm', '-f', ...ids]).catch((error: unknown) => ({
    exitCode: 1,
    stdout: '',
    stderr: describeError(error),
  }));
  if (rm.exitCode === 0) deps.log(`Cleanup: removed ${ids.length} kaniko container(s) labelled ${selector}`);
  else warn(`Cleanup: could not remove kaniko containers ${ids.join(', ')}: ${rm.stderr.trim()}`);
}

async function removeTempDir(dir: string, deps: CleanupDeps, warn: (message: string) => void): Promise<void> {
  if (dir === '' || path.resolve(dir) === path.parse(path.resolve(dir)).root) {
    warn(`Cleanup: not removing the temp directory "${dir}".`);
    return;
  }
  try {
    await rm(dir, { recursive: true, force: true });
    deps.log(`Cleanup: removed ${dir}`);
  } catch (error) {
    warn(`Cleanup: could not remove ${dir}: ${describeError(error)}`);
  }
}
