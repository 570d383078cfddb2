import type { ContextEntry } from '../package/build-context.js';
import type { BuildLog } from './log.js';

/**
 * The label on everything one run of the action makes — kaniko containers on the Docker engine, the
 * Tekton builder's ConfigMaps, Secrets and TaskRuns — so that the post step can find and remove what
 * a cancelled run left (src/post/cleanup.ts).
 */
export const RUN_LABEL = 'faas-deploy.dev/run';

/** One function to build: what the package stage made of it (PackagedPlanEntry carries all of it). */
export interface BuildRequest {
  /** Function name: log groups, labels, TaskRun names. */
  name: string;
  /** `<registry>/<fn>:<content-tag>`. */
  image: string;
  /** The content tag (`ctx-<hex>`). */
  tag: string;
  /** The build context, as the package stage listed it. */
  entries: ContextEntry[];
  /** The Dockerfile text, written at dockerfilePath inside the context. */
  dockerfile: string;
  dockerfilePath: string;
}

export type BuildResult =
  | {
      status: 'built' | 'skipped';
      /** `<registry>/<fn>@sha256:…`: what the Service references. */
      image: string;
      digest: string;
      seconds: number;
      logTail?: string;
    }
  | {
      status: 'failed';
      reason: string;
      /** The last lines of the build log (may be empty when the build never started). */
      logTail: string;
      seconds: number;
    };

/** What one build call gets besides its request: cancellation and where to log. */
export interface BuildControls {
  signal: AbortSignal;
  log: BuildLog;
}

/** Builds and pushes one image; answers failures as results, throws only for bugs. */
export interface Builder {
  readonly kind: 'kaniko' | 'tekton';
  build(request: BuildRequest, context: BuildControls): Promise<BuildResult>;
  /** Releases what the builder holds (temp files, clients). */
  close(): Promise<void>;
}
