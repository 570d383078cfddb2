// A runner for test/support/report-step.ts: a bundle of the report stage started as a separate
// process with a runner's environment.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { Plan } from '../../src/plan/types.ts';
import type { FunctionOutcome } from '../../src/report/outputs.ts';
import { parseOutputFile } from './runner-files.ts';

/** Bundles test/support/report-step.ts into a temporary directory; returns the entry file. */
export async function bundleReportStep(): Promise<string> {
  const outdir = mkdtempSync(path.join(tmpdir(), 'faas-report-step-'));
  await build({
    entryPoints: [path.resolve('test/support/report-step.ts')],
    outfile: path.join(outdir, 'report-step.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    logLevel: 'warning',
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  return path.join(outdir, 'report-step.mjs');
}

export interface StepRun {
  code: number;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
}

/** Runs the bundled report step like a runner: INPUT_* and GITHUB_* variables, output files read back. */
export async function runReportStep(opts: {
  bundle: string;
  apiUrl: string;
  eventName: string;
  payload: unknown;
  plan: Plan;
  outcomes: FunctionOutcome[];
  inputs: Record<string, string>;
  env?: Record<string, string>;
  settleMs?: number;
}): Promise<StepRun> {
  const work = mkdtempSync(path.join(tmpdir(), 'faas-report-run-'));
  const files = {
    event: path.join(work, 'event.json'),
    input: path.join(work, 'report-input.json'),
    output: path.join(work, 'output'),
    summary: path.join(work, 'summary.md'),
  };
  writeFileSync(files.event, JSON.stringify(opts.payload));
  writeFileSync(
    files.input,
    JSON.stringify({ plan: opts.plan, outcomes: opts.outcomes, settleMs: opts.settleMs ?? 50 }),
  );
  writeFileSync(files.output, '');
  writeFileSync(files.summary, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    GITHUB_ACTIONS: 'true',
    GITHUB_API_URL: opts.apiUrl,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_EVENT_NAME: opts.eventName,
    GITHUB_EVENT_PATH: files.event,
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    RUNNER_TEMP: work,
    REPORT_INPUT: files.input,
    INPUT_COMMENT: 'true',
    ...opts.env,
  };
  for (const [name, value] of Object.entries(opts.inputs))
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, [opts.bundle], { env }, (error, out) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: out });
    });
  });
  return {
    code,
    stdout,
    outputs: parseOutputFile(files.output),
    summary: readFileSync(files.summary, 'utf8'),
  };
}
