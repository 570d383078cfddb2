import path from 'node:path';
import { UserError } from '../util/errors.js';
import { byCodeUnits } from '../util/sort.js';
import type { EventInfo } from './event.js';
import type { ChangedFile } from './git.js';
import type { FunctionAction, FunctionSpec, Plan, PlanMode, PlannedFunction } from './types.js';
import type { Mode } from '../inputs.js';

export interface PlanSettings {
  mode: Mode;
  functionsDir: string;
  deployAllOn: readonly string[];
  deployBranches: readonly string[];
  /** Input `functions`: the workflow_dispatch selection. */
  functions: 'all' | readonly string[] | undefined;
}

/** Which files changed between base and head, or 'all' when every function must be taken as changed. */
export type ChangeSet = { files: readonly ChangedFile[] } | 'all';

export function previewServiceName(name: string, pr: number): string {
  return `${name}-pr-${pr}`;
}

/** The mode an event resolves to under input `mode` (README, "Inputs"). */
export function resolveMode(
  settings: Pick<PlanSettings, 'mode' | 'deployBranches'>,
  event: EventInfo,
): {
  mode: PlanMode;
  dryRun: boolean;
  why?: string;
} {
  const fromEvent = ((): { mode: PlanMode; why?: string } => {
    switch (event.name) {
      case 'push': {
        const branches = [event.defaultBranch, ...settings.deployBranches].filter(Boolean) as string[];
        if (event.branch && branches.some((pattern) => path.posix.matchesGlob(event.branch ?? '', pattern))) {
          return { mode: 'deploy' };
        }
        return {
          mode: 'plan',
          why: 'a push to a branch that is neither the default branch nor in deploy-branches',
        };
      }
      case 'pull_request':
      case 'pull_request_target':
        if (event.action === 'closed') return { mode: 'cleanup' };
        if (['opened', 'synchronize', 'reopened'].includes(event.action ?? '')) return { mode: 'preview' };
        return { mode: 'plan', why: `pull_request action "${event.action ?? ''}" deploys nothing` };
      case 'workflow_dispatch':
        return { mode: 'deploy' };
      case '':
        return { mode: 'deploy' };
      default:
        return { mode: 'plan', why: `the ${event.name} event deploys nothing` };
    }
  })();
  if (settings.mode === 'plan') return { mode: fromEvent.mode, dryRun: true, why: 'input mode is plan' };
  if (settings.mode !== 'auto') return { mode: settings.mode, dryRun: false };
  return fromEvent.mode === 'plan'
    ? { mode: 'plan', dryRun: true, ...(fromEvent.why ? { why: fromEvent.why } : {}) }
    : { mode: fromEvent.mode, dryRun: false };
}

function topDirectory(functionsDir: string, file: string): string | undefined {
  const prefix = `${functionsDir}/`;
  if (!file.startsWith(prefix)) return undefined;
  const rest = file.slice(prefix.length);
  const slash = rest.indexOf('/');
  return slash > 0 ? `${prefix}${rest.slice(0, slash)}` : undefined;
}

/** Function directories touched by the change, and whether a deploy-all-on glob matched. */
export function touchedDirectories(
  files: readonly ChangedFile[],
  functionsDir: string,
  deployAllOn: readonly string[],
): { directories: Set<string>; deployAll?: string } {
  const directories = new Set<string>();
  let deployAll: string | undefined;
  for (const file of files) {
    for (const name of [file.path, file.oldPath]) {
      if (name === undefined) continue;
      const directory = topDirectory(functionsDir, name);
      if (directory) directories.add(directory);
      if (!deployAll && deployAllOn.some((glob) => path.posix.matchesGlob(name, glob))) deployAll = name;
    }
  }
  return { directories, ...(deployAll ? { deployAll } : {}) };
}

/**
 * Decides, for every function, what this event does with it. Pure: the functions at head, the
 * changed files and the event in; the plan out.
 */
export function makePlan(
  settings: PlanSettings,
  event: EventInfo,
  functions: readonly FunctionSpec[],
  changes: ChangeSet,
  context: {
    base?: string;
    head?: string;
    notes?: string[];
    previousNames?: ReadonlyMap<string, string>;
  } = {},
): Plan {
  const { mode, dryRun, why } = resolveMode(settings, event);
  const notes = [...(context.notes ?? [])];
  if (why) notes.push(`Plan only: ${why}.`);
  const pr = event.pullRequest?.number;
  if ((mode === 'preview' || mode === 'cleanup') && pr === undefined) {
    throw new UserError(
      `Mode "${mode}" needs a pull request number, but the ${event.name || 'given'} event has none.`,
    );
  }
  const serviceFor = (name: string): string =>
    (mode === 'preview' || mode === 'cleanup') && pr !== undefined ? previewServiceName(name, pr) : name;

  let changed: (spec: FunctionSpec) => boolean;
  /** Directories the change touched: those no function is in now were removed by it. */
  let touchedSet: ReadonlySet<string> | undefined;
  const selection =
    event.name === 'workflow_dispatch' ? (settings.functions ?? event.dispatchFunctions ?? 'all') : undefined;
  if (selection !== undefined) {
    const names =
      selection === 'all' || selection === ''
        ? undefined
        : typeof selection === 'string'
          ? selection
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : selection;
    if (names) {
      const unknown = names.filter((name) => !functions.some((fn) => fn.name === name));
      if (unknown.length > 0) {
        throw new UserError(
          `Input "functions" names ${unknown.map((n) => `"${n}"`).join(', ')}, which ${unknown.length === 1 ? 'is' : 'are'} not a function under ${settings.functionsDir}/ (known: ${functions.map((fn) => fn.name).join(', ') || 'none'}).`,
        );
      }
      changed = (spec) => names.includes(spec.name);
    } else {
      changed = () => true;
    }
  } else if (changes === 'all') {
    changed = () => true;
  } else {
    const touched = touchedDirectories(changes.files, settings.functionsDir, settings.deployAllOn);
    if (touched.deployAll) {
      notes.push(`Every function counts as changed: ${touched.deployAll} matches deploy-all-on.`);
      changed = () => true;
    } else {
      changed = (spec) => touched.directories.has(spec.directory);
    }
    touchedSet = touched.directories;
  }

  // An indexed loop and one object literal per function, no spreads, closures or iterator objects:
  // this runs once per function of the repository.
  const planned: PlannedFunction[] = [];
  const present = new Set<string>();
  for (let i = 0; i < functions.length; i++) {
    const spec = functions[i];
    if (!spec) continue;
    if (touchedSet?.has(spec.directory)) present.add(spec.directory);
    const isChanged = changed(spec);
    const service = serviceFor(spec.name);
    planned.push(
      mode === 'cleanup'
        ? plannedFunction(spec, isChanged, service, 'delete', 'the pull request was closed')
        : mode === 'plan'
          ? plannedFunction(spec, isChanged, service, 'skip', why ?? 'plan only')
          : !isChanged
            ? plannedFunction(spec, isChanged, service, 'skip', 'unchanged')
            : plannedFunction(spec, isChanged, service, mode === 'preview' ? 'preview' : 'deploy'),
    );
  }
  const deletedDirectories =
    changes === 'all' || !touchedSet
      ? []
      : [...touchedSet].filter(
          (directory) =>
            !present.has(directory) &&
            changes.files.some(
              (file) =>
                (file.status === 'D' && file.path.startsWith(`${directory}/`)) ||
                (file.status === 'R' && file.oldPath?.startsWith(`${directory}/`)),
            ),
        );
  for (const directory of deletedDirectories.sort()) {
    const name = context.previousNames?.get(directory) ?? path.posix.basename(directory);
    if (planned.some((fn) => fn.name === name)) continue;
    planned.push({
      name,
      directory,
      changed: true,
      action: mode === 'plan' ? 'skip' : 'delete',
      service: serviceFor(name),
      reason: 'the function directory was removed',
    });
  }

  return {
    mode,
    dryRun,
    eventName: event.name,
    ...(context.base ? { base: context.base } : {}),
    ...(context.head ? { head: context.head } : {}),
    ...(pr !== undefined ? { pullRequest: pr } : {}),
    functions: sortedByName(planned),
    notes,
  };
}

function plannedFunction(
  spec: FunctionSpec,
  changed: boolean,
  service: string,
  action: FunctionAction,
  reason?: string,
): PlannedFunction {
  const entry: PlannedFunction = {
    name: spec.name,
    directory: spec.directory,
    spec,
    changed,
    service,
    action,
  };
  if (reason !== undefined) entry.reason = reason;
  return entry;
}

/** Sorted by name; functions usually come sorted already (by directory), and checking is cheaper. */
function sortedByName(functions: PlannedFunction[]): PlannedFunction[] {
  let previous: string | undefined;
  for (const { name } of functions) {
    if (previous !== undefined && previous > name)
      return functions.sort((a, b) => byCodeUnits(a.name, b.name));
    previous = name;
  }
  return functions;
}
