// Runs the committed action bundle (dist/index.js) exactly as a GitHub runner does: INPUT_*
// variables, an event payload at GITHUB_EVENT_PATH, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files that
// are read back afterwards.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseOutputFile } from './runner-files.ts';

export interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

export async function runAction(opts: {
  workspace: string;
  eventName: string;
  payload: unknown;
  inputs: Record<string, string>;
  env?: Record<string, string>;
}): Promise<ActionRun> {
  const work = mkdtempSync(path.join(tmpdir(), 'faas-runner-'));
  const files = {
    event: path.join(work, 'event.json'),
    output: path.join(work, 'output'),
    summary: path.join(work, 'summary.md'),
  };
  writeFileSync(files.event, JSON.stringify(opts.payload));
  writeFileSync(files.output, '');
  writeFileSync(files.summary, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: opts.eventName,
    GITHUB_EVENT_PATH: files.event,
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_WORKSPACE: opts.workspace,
    RUNNER_TEMP: work,
    ...opts.env,
  };
  for (const [name, value] of Object.entries(opts.inputs)) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, [path.resolve('dist/index.js')], { cwd: opts.workspace, env });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.on('error', reject);
      child.on('close', (exit) => {
        resolve({ code: exit ?? 1, stdout: out, stderr: err });
      });
    },
  );
  return {
    code,
    stdout,
    stderr,
    outputs: parseOutputFile(files.output),
    summary: readFileSync(files.summary, 'utf8'),
  };
}

/**
 * The variables GitHub sets for one workflow run of octo-org/functions (the repository the local
 * GitHub server serves): its API at `apiUrl`, run `runId` (later runs have larger ids), the event's
 * commit and ref.
 */
export function workflowRunEnv(o: {
  apiUrl: string;
  runId: number;
  sha: string;
  ref: string;
  dockerHost: string;
}): Record<string, string> {
  return {
    DOCKER_HOST: o.dockerHost,
    GITHUB_API_URL: o.apiUrl,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'octo-org/functions',
    GITHUB_RUN_ID: String(o.runId),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SHA: o.sha,
    GITHUB_REF: o.ref,
  };
}
