// The `faas-deploy` command (dist/cli.js): `plan` discovers the functions of a repository, finds
// what changed and prints what the action would build and deploy, without a cluster or a
// registry (README, "The CLI").
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { normaliseRegistry } from './inputs.js';
import { readEventInfo, type EventInfo } from './plan/event.js';
import { planRepository } from './plan/index.js';
import { formatProblem } from './plan/problems.js';
import { packagePlan } from './package/index.js';
import { resolveBaseImages } from './package/base-images.js';
import { renderService } from './deploy/render-service.js';
import { describeError } from './util/errors.js';
import { processRunner } from './util/exec.js';
import { NO_TIMER, RecordingPhaseTimer } from './util/phase-timer.js';
import type { Plan, PlannedFunction } from './plan/types.js';

const USAGE = `Usage: faas-deploy plan [options]

Plans what faas-deploy would build and deploy, without a cluster or a registry.

Options:
  --repo DIR             repository root (default: .)
  --functions-dir DIR    functions directory inside the repository (default: functions)
  --base REV --head REV  compare these revisions to find changed functions
  --event-name NAME      a GitHub event name (push, pull_request, workflow_dispatch) ...
  --event-path FILE      ... and its payload, to plan exactly as the action would
  --registry REGISTRY    registry prefix for image names (default: localhost:5000)
  --namespace NS         namespace for the rendered Services (default: default)
  --json                 print the plan as JSON on stdout, and nothing else
  --out DIR              write DIR/<fn>/Dockerfile and DIR/<fn>/service.yaml
  -h, --help             show this help

Environment:
  FAAS_DEPLOY_TIMINGS=1  print on standard error how long each phase took

Exit status: 0 success, 1 invalid repository or manifest, 2 wrong usage.`;

class UsageError extends Error {}

// A reader that stops early (`faas-deploy plan --json | head`) closes the pipe: stop quietly, as
// Unix tools do, instead of an unhandled EPIPE with a stack trace.
function quietOnEpipe(stream: NodeJS.WriteStream): (text: string) => void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
  return function write(text) {
    stream.write(text);
  };
}
const stdout = quietOnEpipe(process.stdout);
const stderr = quietOnEpipe(process.stderr);

function parseCommandLine(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        repo: { type: 'string', default: '.' },
        'functions-dir': { type: 'string', default: 'functions' },
        base: { type: 'string' },
        head: { type: 'string' },
        'event-name': { type: 'string' },
        'event-path': { type: 'string' },
        registry: { type: 'string', default: 'localhost:5000' },
        namespace: { type: 'string', default: 'default' },
        json: { type: 'boolean', default: false },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    // parseArgs's errors for a command-line mistake (ERR_PARSE_ARGS_UNKNOWN_OPTION, …).
    const code = (error as NodeJS.ErrnoException).code;
    if (code?.startsWith('ERR_PARSE_ARGS_')) throw new UsageError((error as Error).message);
    throw error;
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true as const };
  if (positionals[0] !== 'plan' || positionals.length > 1) {
    throw new UsageError(
      positionals.length === 0 ? 'Missing command "plan".' : `Unknown command "${positionals.join(' ')}".`,
    );
  }
  if ((values.base === undefined) !== (values.head === undefined)) {
    throw new UsageError('--base and --head go together.');
  }
  if ((values['event-name'] === undefined) !== (values['event-path'] === undefined)) {
    throw new UsageError('--event-name and --event-path go together.');
  }
  return { help: false as const, values };
}

/** The plan as --json prints it (README, "The CLI"). */
function planJson(plan: Plan, images: ReadonlyMap<string, string>): unknown {
  return {
    mode: plan.mode,
    base: plan.base ?? null,
    head: plan.head ?? null,
    functions: plan.functions.map((fn) => ({
      name: fn.name,
      directory: fn.directory,
      runtime: fn.spec?.runtime ?? null,
      watchdog: fn.spec?.watchdog ?? null,
      changed: fn.changed,
      action: fn.action,
      service: fn.service,
      image: images.get(fn.name) ?? null,
    })),
  };
}

async function main(argv: string[]): Promise<number> {
  let command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      stderr(`faas-deploy: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  if (command.help) {
    stdout(`${USAGE}\n`);
    return 0;
  }
  const options = command.values;
  // FAAS_DEPLOY_TIMINGS=1: where the time went, on standard error (bench/plan.mjs reads it).
  const recorder = process.env.FAAS_DEPLOY_TIMINGS === '1' ? new RecordingPhaseTimer() : undefined;
  const timer = recorder ?? NO_TIMER;
  try {
    const repoRoot = path.resolve(options.repo);
    const functionsDir = options['functions-dir'].replace(/\/+$/, '');
    let event: EventInfo = { name: '' };
    if (options['event-name'] && options['event-path']) {
      const payload = JSON.parse(readFileSync(options['event-path'], 'utf8')) as unknown;
      event = readEventInfo(options['event-name'], payload);
    }
    const revisions = options.base && options.head ? { base: options.base, head: options.head } : undefined;
    const result = await planRepository({
      repoRoot,
      settings: { mode: 'auto', functionsDir, deployAllOn: [], deployBranches: [], functions: undefined },
      defaultWatchdog: 'classic',
      event,
      runner: processRunner,
      ...(revisions ? { revisions } : {}),
      planAll: !revisions && event.name === '',
      timer,
    });
    if (!result.ok) {
      for (const problem of result.problems) stderr(`faas-deploy: ${formatProblem(problem)}\n`);
      return 1;
    }
    const plan = { ...result.plan, dryRun: true };
    const registry = normaliseRegistry(options.registry);
    // Only what is built is packaged (reading its files for the content tag); --out renders every function.
    const builds = (fn: PlannedFunction): boolean => fn.action === 'deploy' || fn.action === 'preview';
    const packaged = await packagePlan(repoRoot, plan, resolveBaseImages({}), registry, (fn) =>
      options.out ? fn.spec !== undefined : builds(fn),
    );
    timer.mark('packaging');
    const images = new Map(
      plan.functions.filter(builds).flatMap((fn) => {
        const image = packaged.get(fn.name)?.image;
        return image ? [[fn.name, image] as const] : [];
      }),
    );

    if (options.out) {
      const { dump } = await import('js-yaml');
      for (const fn of plan.functions) {
        const entry = packaged.get(fn.name);
        if (!fn.spec || !entry) continue;
        const dir = path.join(options.out, fn.name);
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, 'Dockerfile'), entry.dockerfile);
        const service = renderService(fn.spec, {
          service: fn.service,
          namespace: options.namespace,
          image: entry.image,
          ...(plan.pullRequest !== undefined ? { pullRequest: plan.pullRequest } : {}),
          ...(plan.head ? { commit: plan.head } : {}),
        });
        writeFileSync(path.join(dir, 'service.yaml'), dump(service, { lineWidth: -1 }));
      }
    }

    if (options.json) {
      stdout(`${JSON.stringify(planJson(plan, images), null, 2)}\n`);
    } else {
      stdout(
        `faas-deploy plan: mode ${plan.mode}${plan.base ? `, ${plan.base.slice(0, 12)}..${plan.head?.slice(0, 12) ?? ''}` : ''}\n`,
      );
      for (const fn of plan.functions) {
        stdout(
          `  ${fn.name.padEnd(24)} ${fn.action.padEnd(8)} ${fn.service.padEnd(28)} ${images.get(fn.name) ?? fn.reason ?? ''}\n`,
        );
      }
      for (const note of plan.notes) stdout(`  note: ${note}\n`);
      if (options.out) stdout(`Wrote Dockerfile and service.yaml per function to ${options.out}\n`);
    }
    timer.mark('output');
    if (recorder) stderr(`faas-deploy timings: ${recorder.format()}\n`);
    return 0;
  } catch (error) {
    stderr(`faas-deploy: ${describeError(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
