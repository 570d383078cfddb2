// Tekton Pipelines controller STAND-IN — the pure part: variable substitution in an embedded task and
// the TaskRun statuses tektoncd/pipeline v1.15 writes (fixtures tekton-status/taskrun-*.yaml,
// NOTES.md §2). No I/O here; tekton-standin.ts runs the steps with the Docker engine and writes.

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

export interface Step {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  script?: string;
  env?: EnvVar[];
  envFrom?: Array<{ secretRef?: { name: string }; configMapRef?: { name: string }; prefix?: string }>;
  workingDir?: string;
  volumeMounts?: VolumeMount[];
  securityContext?: { runAsUser?: number; runAsGroup?: number };
  onError?: 'continue' | 'stopAndFail';
  timeout?: string;
  [k: string]: unknown;
}

export interface TaskSpec {
  params?: Array<{ name: string; type?: string; default?: ParamValue }>;
  workspaces?: Array<{ name: string; mountPath?: string; readOnly?: boolean; optional?: boolean }>;
  results?: Array<{ name: string; type?: string; description?: string }>;
  steps?: Step[];
  stepTemplate?: Partial<Step>;
  volumes?: Array<Record<string, unknown> & { name: string }>;
  [k: string]: unknown;
}

export type ParamValue = string | string[] | Record<string, string>;

export interface TaskRunSpec {
  params?: Array<{ name: string; value: ParamValue }>;
  taskSpec?: TaskSpec;
  taskRef?: { name?: string; kind?: string };
  workspaces?: Array<Record<string, unknown> & { name: string; subPath?: string }>;
  timeout?: string;
  status?: string;
  statusMessage?: string;
  serviceAccountName?: string;
  podTemplate?: { env?: EnvVar[]; securityContext?: { runAsUser?: number; runAsGroup?: number } };
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface StepState {
  name: string;
  container: string;
  imageID: string;
  terminationReason?: string;
  running?: { startedAt: string };
  terminated?: {
    exitCode: number;
    reason: string;
    startedAt: string;
    finishedAt: string;
    containerID: string;
    message?: string;
  };
}

export interface TaskRunStatus {
  podName: string;
  startTime?: string;
  completionTime?: string;
  conditions?: Condition[];
  steps?: StepState[];
  results?: Array<{ name: string; type: string; value: string }>;
  taskSpec?: TaskSpec;
  artifacts?: Record<string, unknown>;
}

export const RESULTS_DIR = '/tekton/results';

export interface SubstitutionContext {
  params: Map<string, ParamValue>;
  workspacePaths: Map<string, string>;
  resultNames: string[];
  taskRunName: string;
  taskRunNamespace: string;
  taskRunUid: string;
  taskName: string;
}

/** Declared defaults overridden by the TaskRun's params (params propagate into an embedded taskSpec). */
export function paramValues(taskSpec: TaskSpec, runParams: TaskRunSpec['params']): Map<string, ParamValue> {
  const out = new Map<string, ParamValue>();
  for (const p of taskSpec.params ?? []) if (p.default !== undefined) out.set(p.name, p.default);
  for (const p of runParams ?? []) out.set(p.name, p.value);
  return out;
}

/** `$(workspaces.<n>.path)` → the declared mountPath, else /workspace/<n>. */
export function workspacePaths(taskSpec: TaskSpec): Map<string, string> {
  return new Map((taskSpec.workspaces ?? []).map((w) => [w.name, w.mountPath ?? `/workspace/${w.name}`]));
}

/** Problems the Tekton webhook/reconciler would report before running anything. */
export function validateRun(taskSpec: TaskSpec, ctx: SubstitutionContext): string | undefined {
  for (const p of taskSpec.params ?? []) {
    if (!ctx.params.has(p.name)) return `missing parameters: [${p.name}]`;
  }
  if (!taskSpec.steps || taskSpec.steps.length === 0) return 'expected at least one step';
  for (const s of taskSpec.steps) {
    if (s.script && s.command) return `step "${s.name ?? ''}": script cannot be used with command`;
    if (!s.image) return `step "${s.name ?? ''}": missing field(s): image`;
  }
  return undefined;
}

const VAR = /\$\(([^()]+)\)/g;

function lookup(expr: string, ctx: SubstitutionContext): ParamValue | undefined {
  let m = /^params(?:\.([A-Za-z0-9_-]+)|\[['"]([^'"]+)['"]\])(\[\*\])?$/.exec(expr);
  if (m) return ctx.params.get(m[1] ?? m[2] ?? '');
  m = /^params\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(expr);
  if (m) {
    const v = ctx.params.get(m[1] ?? '');
    if (v && typeof v === 'object' && !Array.isArray(v)) return v[m[2] ?? ''];
    return undefined;
  }
  m = /^params\.([A-Za-z0-9_-]+)\[(\d+)\]$/.exec(expr);
  if (m) {
    const v = ctx.params.get(m[1] ?? '');
    return Array.isArray(v) ? v[Number(m[2])] : undefined;
  }
  m = /^results\.([A-Za-z0-9_-]+)\.path$/.exec(expr) ?? /^results\[['"]([^'"]+)['"]\]\.path$/.exec(expr);
  if (m) return `${RESULTS_DIR}/${m[1]}`;
  m = /^workspaces\.([A-Za-z0-9_-]+)\.path$/.exec(expr);
  if (m) return ctx.workspacePaths.get(m[1] ?? '');
  m = /^workspaces\.([A-Za-z0-9_-]+)\.bound$/.exec(expr);
  if (m) return ctx.workspacePaths.has(m[1] ?? '') ? 'true' : 'false';
  switch (expr) {
    case 'context.taskRun.name':
      return ctx.taskRunName;
    case 'context.taskRun.namespace':
      return ctx.taskRunNamespace;
    case 'context.taskRun.uid':
      return ctx.taskRunUid;
    case 'context.task.name':
      return ctx.taskName;
    case 'context.task.retry-count':
      return '0';
  }
  return undefined;
}

/** Replaces every known $(…) in a string; unknown variables are left as they are (Tekton does too). */
export function substitute(s: string, ctx: SubstitutionContext): string {
  return s.replace(VAR, (whole, expr: string) => {
    const v = lookup(expr.trim(), ctx);
    if (v === undefined) return whole;
    if (typeof v === 'string') return v;
    return Array.isArray(v) ? v.join(' ') : JSON.stringify(v);
  });
}

/** command/args: an element that is exactly `$(params.x[*])` (or `$(params.x)` of an array) expands in place. */
export function substituteList(list: string[] | undefined, ctx: SubstitutionContext): string[] | undefined {
  if (!list) return undefined;
  const out: string[] = [];
  for (const item of list) {
    const m = /^\$\(([^()]+)\)$/.exec(item);
    const v = m ? lookup((m[1] ?? '').trim(), ctx) : undefined;
    if (Array.isArray(v)) out.push(...v);
    else out.push(substitute(item, ctx));
  }
  return out;
}

/** Applies stepTemplate defaults to a step (env merged by name, step wins). */
export function applyStepTemplate(step: Step, template: Partial<Step> | undefined): Step {
  if (!template) return step;
  const merged: Step = { ...template, ...step };
  if (template.env || step.env) {
    const env = new Map<string, EnvVar>();
    for (const e of template.env ?? []) env.set(e.name, e);
    for (const e of step.env ?? []) env.set(e.name, e);
    merged.env = [...env.values()];
  }
  return merged;
}

/** The task spec after substitution, as the controller stores it in status.taskSpec. */
export function resolveTaskSpec(taskSpec: TaskSpec, ctx: SubstitutionContext): TaskSpec {
  const steps = (taskSpec.steps ?? []).map((raw) => {
    const s: Step = { ...raw };
    if (s.image) s.image = substitute(s.image, ctx);
    if (s.script) s.script = substitute(s.script, ctx);
    const command = substituteList(s.command, ctx);
    if (command) s.command = command;
    const args = substituteList(s.args, ctx);
    if (args) s.args = args;
    if (s.workingDir) s.workingDir = substitute(s.workingDir, ctx);
    if (s.env)
      s.env = s.env.map((e) => (e.value !== undefined ? { ...e, value: substitute(e.value, ctx) } : e));
    if (s.volumeMounts)
      s.volumeMounts = s.volumeMounts.map((v) => ({ ...v, mountPath: substitute(v.mountPath, ctx) }));
    return s;
  });
  return { ...taskSpec, steps };
}

/** Container name of a step (pkg/pod/entrypoint.go StepName). */
export function stepContainerName(step: Step, index: number): string {
  return step.name ? `step-${step.name}` : `step-unnamed-${index}`;
}

/** The script file content: a script without a shebang runs under /bin/sh with `set -e` (docs/tasks.md). */
export function scriptFile(script: string): string {
  return script.startsWith('#!') ? script : `#!/bin/sh\nset -e\n${script}`;
}

// ---- durations (Go's time.ParseDuration / Duration.String for the values Tekton meets) -------------

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration string ("1h30m", "10m", "20m0s", "90s", "0"); undefined when invalid. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    if (m.index !== consumed) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
    consumed += m[0].length;
  }
  return consumed === s.length && consumed > 0 ? total : undefined;
}

export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const sec = `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

export const DEFAULT_TIMEOUT_MS = 3_600_000; // config-defaults default-timeout-minutes: 60

// ---- statuses -----------------------------------------------------------------------------------

export function podName(taskRunName: string): string {
  return `${taskRunName}-pod`;
}

function succeeded(status: Condition['status'], reason: string, message: string, now: string): Condition {
  return { type: 'Succeeded', status, reason, message, lastTransitionTime: now };
}

/** Succeeded Unknown/Running with podName and startTime, while steps run. */
export function runningStatus(
  taskRunName: string,
  startTime: string,
  taskSpec: TaskSpec | undefined,
  steps: StepState[],
  now: string,
): TaskRunStatus {
  const st: TaskRunStatus = {
    podName: podName(taskRunName),
    startTime,
    conditions: [succeeded('Unknown', 'Running', 'Not all Steps in the Task have finished executing', now)],
    steps,
  };
  if (taskSpec) st.taskSpec = taskSpec;
  return st;
}

export type Outcome =
  | { kind: 'succeeded' }
  | { kind: 'stepFailed'; container: string; exitCode: number; reason: string }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'cancelled'; statusMessage?: string }
  | { kind: 'failed'; reason: string; message: string };

/** The final condition (pkg/pod/status.go, pkg/reconciler/taskrun/taskrun.go message formats). */
export function finalCondition(taskRunName: string, outcome: Outcome, now: string): Condition {
  switch (outcome.kind) {
    case 'succeeded':
      return succeeded('True', 'Succeeded', 'All Steps have completed executing', now);
    case 'stepFailed':
      return succeeded(
        'False',
        'StepFailed',
        `"${outcome.container}" exited with code ${outcome.exitCode}: ${outcome.reason}`,
        now,
      );
    case 'timeout':
      return succeeded(
        'False',
        'TaskRunTimeout',
        `TaskRun "${taskRunName}" failed to finish within "${formatGoDuration(outcome.timeoutMs)}"`,
        now,
      );
    case 'cancelled':
      return succeeded(
        'False',
        'TaskRunCancelled',
        `TaskRun "${taskRunName}" was cancelled. ${outcome.statusMessage ?? ''}`,
        now,
      );
    case 'failed':
      return succeeded('False', outcome.reason, outcome.message, now);
  }
}

export function finalStatus(
  taskRunName: string,
  startTime: string,
  taskSpec: TaskSpec | undefined,
  steps: StepState[],
  results: Array<{ name: string; value: string }>,
  outcome: Outcome,
  now: string,
): TaskRunStatus {
  const st: TaskRunStatus = {
    artifacts: {},
    completionTime: now,
    conditions: [finalCondition(taskRunName, outcome, now)],
    podName: podName(taskRunName),
    startTime,
    steps,
  };
  if (results.length > 0) st.results = results.map((r) => ({ name: r.name, type: 'string', value: r.value }));
  if (taskSpec) st.taskSpec = taskSpec;
  return st;
}

/** A step's terminated.message: the results it wrote, as JSON (type 1 = TaskRunResultType). */
export function terminationMessage(results: Array<{ name: string; value: string }>): string | undefined {
  if (results.length === 0) return undefined;
  return JSON.stringify(results.map((r) => ({ key: r.name, value: r.value, type: 1 })));
}

/** Reason a terminated container shows (kubelet): Completed for 0, Error otherwise, OOMKilled. */
export function terminatedReason(exitCode: number, oomKilled: boolean): string {
  if (oomKilled) return 'OOMKilled';
  return exitCode === 0 ? 'Completed' : 'Error';
}

export function isFinal(status: TaskRunStatus | undefined): boolean {
  const c = status?.conditions?.find((x) => x.type === 'Succeeded');
  return c !== undefined && c.status !== 'Unknown';
}
