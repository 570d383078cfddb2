export type Runtime = 'go' | 'node' | 'python' | 'dockerfile';
export type Watchdog = 'classic' | 'of-watchdog';
export type Visibility = 'public' | 'cluster-local';

/** A function as discovered on disk, with its manifest applied and defaults filled in. */
export interface FunctionSpec {
  name: string;
  /** Path of the function directory relative to the repository root, with forward slashes. */
  directory: string;
  runtime: Runtime;
  watchdog: Watchdog;
  /** Path of function.yaml relative to the repository root, when there is one. */
  manifestPath?: string;
  env: Record<string, string>;
  secrets: string[];
  scale: { min?: number; max?: number; target?: number };
  concurrency?: number;
  timeoutSeconds: number;
  resources: { cpu?: string; memory?: string };
  visibility: Visibility;
}

/** What the event asks of a function. */
export type FunctionAction = 'deploy' | 'preview' | 'delete' | 'skip';

/** The mode an event resolves to: what the run would do. */
export type PlanMode = 'deploy' | 'preview' | 'cleanup' | 'plan';

export interface PlannedFunction {
  name: string;
  /** Directory relative to the repository root (for a deleted function: where it was). */
  directory: string;
  /** Absent for a function whose directory the change removed. */
  spec?: FunctionSpec;
  changed: boolean;
  action: FunctionAction;
  /** Knative Service name: <fn> or <fn>-pr-<N>. */
  service: string;
  /** Why the function is deployed, skipped or deleted, for the report. */
  reason?: string;
  /** The run refuses the function (a Service of that name belongs to someone else): it fails unbuilt. */
  refused?: boolean;
}

export interface Plan {
  mode: PlanMode;
  /** True when nothing may be built or applied (input mode: plan, the CLI, or an event we only plan for). */
  dryRun: boolean;
  eventName: string;
  base?: string;
  head?: string;
  pullRequest?: number;
  functions: PlannedFunction[];
  /** Things the user should know about how the plan was made (fallbacks taken, limits hit). */
  notes: string[];
}

/** A problem in the repository, located in a file. */
export interface ManifestProblem {
  file: string;
  line?: number;
  column?: number;
  field?: string;
  message: string;
}
