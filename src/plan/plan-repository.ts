import type { CommandRunner } from '../util/exec.js';
import type { EventInfo } from './event.js';
import { detectChanges } from './changes.js';
import type { CompareClient } from './compare.js';
import { buildFunctionSpecs, MANIFEST_FILE, manifestParserFor, scanFunctionsDir } from './discover.js';
import { Git } from './git.js';
import { makePlan, touchedDirectories, type PlanSettings } from './plan.js';
import type { ChangedFile } from './git.js';
import type { FunctionSpec, ManifestProblem, Plan, Watchdog } from './types.js';
import { NO_TIMER, type PhaseTimer } from '../util/phase-timer.js';

export interface PlanRequest {
  repoRoot: string;
  settings: PlanSettings;
  defaultWatchdog: Watchdog;
  event: EventInfo;
  runner: CommandRunner;
  /** CLI --base/--head: compare exactly these revisions. */
  revisions?: { base: string; head: string };
  /** No event and no revisions: every function is planned as changed. */
  planAll?: boolean;
  /** GitHub's compare API, for when the history cannot be fetched. */
  compare?: CompareClient;
  /** Marks the phases discovery, manifests, git and plan. */
  timer?: PhaseTimer;
}

/**
 * Names of functions whose directories the change removed, from their function.yaml at the base
 * (the Service to delete is named after the function, which need not be the directory name).
 */
async function previousNames(git: Git, base: string | undefined, directories: readonly string[]) {
  const names = new Map<string, string>();
  if (!base) return names;
  for (const directory of directories) {
    const text = await git.show(base, `${directory}/${MANIFEST_FILE}`);
    if (text === undefined) continue;
    const { load } = await import('js-yaml');
    try {
      const manifest = load(text) as { name?: unknown } | null;
      if (typeof manifest?.name === 'string') names.set(directory, manifest.name);
    } catch {
      // An unreadable old manifest: fall back to the directory name.
    }
  }
  return names;
}

function removedDirectories(
  files: readonly ChangedFile[],
  functions: readonly FunctionSpec[],
  functionsDir: string,
): string[] {
  const present = new Set(functions.map((fn) => fn.directory));
  return [...touchedDirectories(files, functionsDir, []).directories].filter((dir) => !present.has(dir));
}

/** A full object id: the form the action's events give and a script is likely to pass. */
const FULL_OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * The files that differ between two revisions given on the command line, and the commits they
 * name. Full commit ids need no resolving, so the diff is the only git process (a plan costs little
 * more than `git diff`: docs/benchmarks.md); anything else, and any failure, is resolved first,
 * which also says which revision is not a commit. (The full id of an annotated tag is reported as given, not
 * as the id of its commit; the diff is the same.)
 */
async function diffRevisions(
  git: Git,
  revisions: { base: string; head: string },
  repoRoot: string,
): Promise<{ base: string; head: string; files: ChangedFile[] }> {
  if (FULL_OBJECT_ID.test(revisions.base) && FULL_OBJECT_ID.test(revisions.head)) {
    const files = await git.diffCommits(revisions.base, revisions.head);
    if (files) return { ...revisions, files };
  }
  const resolved = await git.resolveAll([revisions.base, revisions.head]);
  if (!resolved) {
    const missing = (await git.resolve(revisions.base)) ? revisions.head : revisions.base;
    throw new Error(`Revision "${missing}" is not a commit in ${repoRoot}.`);
  }
  const [base = '', head = ''] = resolved;
  return { base, head, files: await git.diff(base, head) };
}

export type PlanResult = { ok: true; plan: Plan } | { ok: false; problems: ManifestProblem[] };

/** Discovers the functions, detects what changed and decides what to do with each. */
export async function planRepository(request: PlanRequest): Promise<PlanResult> {
  const timer = request.timer ?? NO_TIMER;
  const git = new Git(request.runner, request.repoRoot);
  // The diff of two given revisions needs nothing from discovery, so it starts first: git runs
  // while the directories are listed (a runner starts the program before it returns).
  // Marked handled here, so an early return below leaves no unhandled rejection behind.
  const diffing =
    request.revisions && !request.planAll
      ? diffRevisions(git, request.revisions, request.repoRoot)
      : undefined;
  diffing?.catch(() => undefined);
  const directories = scanFunctionsDir(request.repoRoot, request.settings.functionsDir);
  timer.mark('discovery');
  const discovered = buildFunctionSpecs(
    directories,
    { watchdog: request.defaultWatchdog },
    await manifestParserFor(directories),
  );
  timer.mark('manifests');
  if (discovered.problems.length > 0) return { ok: false, problems: discovered.problems };

  const planned = (plan: Plan): PlanResult => {
    timer.mark('plan');
    return { ok: true, plan };
  };
  if (request.planAll) {
    return planned(makePlan(request.settings, request.event, discovered.functions, 'all'));
  }
  if (diffing) {
    const { base, head, files } = await diffing;
    const names = await previousNames(
      git,
      base,
      removedDirectories(files, discovered.functions, request.settings.functionsDir),
    );
    timer.mark('git');
    return planned(
      makePlan(
        request.settings,
        request.event,
        discovered.functions,
        { files },
        { base, head, previousNames: names },
      ),
    );
  }
  const remote = (await git.hasRemote('origin')) ? 'origin' : undefined;
  const detected = await detectChanges(
    { git, ...(remote ? { remote } : {}), ...(request.compare ? { compare: request.compare } : {}) },
    request.event,
  );
  const names =
    detected.changes === 'all'
      ? new Map<string, string>()
      : await previousNames(
          git,
          detected.base,
          removedDirectories(detected.changes.files, discovered.functions, request.settings.functionsDir),
        );
  timer.mark('git');
  return planned(
    makePlan(request.settings, request.event, discovered.functions, detected.changes, {
      ...(detected.base ? { base: detected.base } : {}),
      ...(detected.head ? { head: detected.head } : {}),
      notes: detected.notes,
      previousNames: names,
    }),
  );
}
