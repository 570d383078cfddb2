// Start-up time of the bundles: process start to first output, and to exit, side by side with a
// bundled hello-world action that imports only @actions/core (the baseline).
// Runs each variant many times, interleaved, and reports medians. Usage: node bench/startup.mjs [runs]
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(root, 'bench', 'out');

/** The baseline: an action bundled the same way that only imports @actions/core and prints. */
async function buildBaseline() {
  mkdirSync(out, { recursive: true });
  const entry = path.join(out, 'hello-action.mjs');
  writeFileSync(entry, "import * as core from '@actions/core';\ncore.info('hello');\n");
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: path.join(out, 'hello-action.js'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    minify: true,
    logLevel: 'warning',
    banner: {
      js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);",
    },
  });
  return path.join(out, 'hello-action.js');
}

/** A repository with the example function and a push event, as a runner would give the action. */
function makeWorkspace() {
  const dir = mkdtempSync(path.join(tmpdir(), 'faas-bench-'));
  const git = (...args) =>
    execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'b',
        GIT_AUTHOR_EMAIL: 'b@b',
        GIT_COMMITTER_NAME: 'b',
        GIT_COMMITTER_EMAIL: 'b@b',
      },
    }).trim();
  git('init', '-q', '--initial-branch=main');
  execFileSync('cp', ['-r', path.join(root, 'examples', 'functions'), path.join(dir, 'functions')]);
  git('add', '-A');
  git('commit', '-qm', 'one');
  const before = git('rev-parse', 'HEAD');
  writeFileSync(path.join(dir, 'functions', 'echo', 'extra.go'), 'package main\n');
  git('add', '-A');
  git('commit', '-qm', 'two');
  const after = git('rev-parse', 'HEAD');
  const event = path.join(dir, '.event.json');
  writeFileSync(
    event,
    JSON.stringify({
      ref: 'refs/heads/main',
      before,
      after,
      repository: { name: 'r', owner: { login: 'o' }, default_branch: 'main' },
    }),
  );
  return { dir, event };
}

/** Milliseconds from spawn to the first byte on stdout, and to exit. */
function timeOnce(args, env, cwd) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let first;
    const child = spawn(process.execPath, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.once('data', () => (first = process.hrtime.bigint()));
    child.on('error', reject);
    child.on('close', (code) => {
      const end = process.hrtime.bigint();
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited ${code}`));
      resolve({ first: Number((first ?? end) - start) / 1e6, exit: Number(end - start) / 1e6 });
    });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

export async function startupBenchmark(runs = 30) {
  const baseline = await buildBaseline();
  const { dir, event } = makeWorkspace();
  const outputFile = path.join(dir, '.output');
  const summaryFile = path.join(dir, '.summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const runnerEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_EVENT_NAME: 'push',
    GITHUB_EVENT_PATH: event,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_WORKSPACE: dir,
    INPUT_MODE: 'plan',
    INPUT_REGISTRY: 'ghcr.io/o',
  };
  const variants = [
    { name: 'hello-world action (@actions/core only)', args: [baseline], env: runnerEnv },
    {
      name: 'dist/index.js, mode plan, with github-token',
      args: [path.join(root, 'dist/index.js')],
      env: { ...runnerEnv, 'INPUT_GITHUB-TOKEN': 'ghs_bench' },
    },
    {
      name: 'dist/index.js, mode plan, no secret inputs',
      args: [path.join(root, 'dist/index.js')],
      env: runnerEnv,
    },
    {
      name: 'dist/cli.js plan --json',
      args: [path.join(root, 'dist/cli.js'), 'plan', '--repo', dir, '--json'],
      env: { PATH: process.env.PATH },
    },
  ];
  const samples = variants.map(() => ({ first: [], exit: [] }));
  for (let i = 0; i < 3; i++) for (const v of variants) await timeOnce(v.args, v.env, dir); // warm the page cache
  for (let i = 0; i < runs; i++) {
    for (const [index, v] of variants.entries()) {
      const t = await timeOnce(v.args, v.env, dir);
      samples[index].first.push(t.first);
      samples[index].exit.push(t.exit);
    }
  }
  const rows = variants.map((v, index) => ({
    name: v.name,
    first: median(samples[index].first),
    exit: median(samples[index].exit),
  }));
  const files = [
    ...readdirSync(path.join(root, 'dist')).map((f) => `dist/${f}`),
    ...readdirSync(path.join(root, 'dist/chunks')).map((f) => `dist/chunks/${f}`),
  ]
    .filter((file) => file.endsWith('.js'))
    .sort();
  const sizes = files.map((file) => ({ file, kib: statSync(path.join(root, file)).size / 1024 }));
  return { runs, rows, sizes, baselineSize: statSync(baseline).size / 1024 };
}

export function startupMarkdown(result) {
  const base = result.rows[0];
  const lines = [
    '## Bundle sizes and start-up time',
    '',
    `Command: \`node bench/startup.mjs\` (part of \`npm run bench\`). Each variant ran ${result.runs} times, interleaved, after 3 warm-up runs; medians. "First output" is the time from spawning \`node\` to the first byte on stdout; "exit" to the end of the process. The action runs in a git repository with the echo example and a real push event (one commit changing the function), as a runner gives it.`,
    '',
    '| bundle | size |',
    '| --- | --- |',
    ...result.sizes.map((s) => `| \`${s.file}\` | ${s.kib.toFixed(1)} KiB |`),
    `| baseline hello-world action | ${result.baselineSize.toFixed(1)} KiB |`,
    '',
    '| variant | first output (ms) | × baseline | exit (ms) | × baseline |',
    '| --- | --- | --- | --- | --- |',
    ...result.rows.map(
      (r) =>
        `| ${r.name} | ${r.first.toFixed(1)} | ${(r.first / base.first).toFixed(2)} | ${r.exit.toFixed(1)} | ${(r.exit / base.exit).toFixed(2)} |`,
    ),
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await startupBenchmark(Number(process.argv[2] ?? 30));
  console.log(startupMarkdown(result));
}
