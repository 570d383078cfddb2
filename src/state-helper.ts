/**
 * What main hands the post step, through the runner's state (core.saveState → STATE_* variables of
 * the post step). Names and paths only, never a secret: the post step reads its credentials from the
 * inputs again.
 */
import * as core from '@actions/core';
import type { RunState } from './post/cleanup.js';

export type { RunState } from './post/cleanup.js';

const KEYS = { namespace: 'namespace', runId: 'run-id', tempDir: 'temp-dir' } as const;

export function saveRunState(state: RunState): void {
  core.saveState(KEYS.namespace, state.namespace);
  core.saveState(KEYS.runId, state.runId);
  core.saveState(KEYS.tempDir, state.tempDir);
}

/** The state main saved, or undefined when main never got as far as creating anything. */
export function readRunState(): RunState | undefined {
  const state = {
    namespace: core.getState(KEYS.namespace),
    runId: core.getState(KEYS.runId),
    tempDir: core.getState(KEYS.tempDir),
  };
  return state.namespace && state.runId && state.tempDir ? state : undefined;
}
