/**
 * The post step (action.yml `post:`, which runs however the main step ended): removes what a
 * cancelled or failed run left behind — its Tekton TaskRuns, ConfigMaps and Secrets, kaniko
 * containers, the run's temp dir — from the state main saved. No state: main created nothing.
 */
import * as core from '@actions/core';
import { createRunTempDir, kubeOptions, removeRunTempDir, runnerInputs } from './context.js';
import { readInputs } from './inputs.js';
import { connectKube, type KubeConnection } from './kube/index.js';
import { cleanupRun } from './post/cleanup.js';
import { readRunState } from './state-helper.js';
import { describeError } from './util/errors.js';
import { processRunner } from './util/exec.js';

export interface PostDeps {
  /** The cleanup itself (default: src/post/cleanup.ts). */
  cleanup?: typeof cleanupRun;
}

/** Never fails the job: a leftover is a warning, and the job's outcome is the main step's. */
export async function runPost(deps: PostDeps = {}): Promise<void> {
  const state = readRunState();
  if (!state) {
    core.debug('faas-deploy post: the main step saved no state, so there is nothing to clean up.');
    return;
  }
  const cleanup = deps.cleanup ?? cleanupRun;
  let kubeDir: string | undefined;
  let kube: KubeConnection | undefined;
  try {
    const inputs = readInputs(runnerInputs);
    if (inputs.builder === 'tekton') {
      // Its own directory for the kubeconfig file: the run's may be gone already, and is removed below.
      kubeDir = await createRunTempDir(process.env);
      try {
        kube = await connectKube(kubeOptions(inputs, kubeDir));
      } catch (error) {
        core.warning(
          `Cleanup: cannot connect to the cluster to remove the run's TaskRuns: ${describeError(error)}`,
        );
      }
    }
    await cleanup(state, {
      ...(kube ? { kube } : {}),
      runner: processRunner,
      log: (message) => {
        core.info(message);
      },
      warn: (message) => {
        core.warning(message);
      },
    });
  } catch (error) {
    core.warning(`Cleanup failed: ${describeError(error)}`);
  } finally {
    await kube?.close();
    if (kubeDir) await removeRunTempDir(kubeDir);
  }
}
