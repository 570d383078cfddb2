// Plan on a synthetic monorepo: N functions of F files each, some of them changed between two
// commits. Compares `faas-deploy plan --base --head --json` with a bare `git diff --name-only` over
// the same range plus node's own start-up (the bound, README "The CLI": a plan of 1,000 functions
// with one changed takes less than 3 × that sum), and shows how the time grows with the number of
// functions and with the number of changed functions. BENCH_PLAN_BEFORE=path/to/cli.js also times
// another build of the CLI, taking turns with this one.
// Usage: node bench/plan.mjs [runs]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const cli = path.join(root, 'dist', 'cli.js');
// Fixed names and dates: the same arguments give the same commits, so bench/plan-compare.mjs can
// compare the plans of two builds made at different times.
const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'b',
  GIT_AUTHOR_EMAIL: 'b@b',
  GIT_AUTHOR_DATE: '2000-01-01T00:00:00Z',
  GIT_COMMITTER_NAME: 'b',
  GIT_COMMITTER_EMAIL: 'b@b',
  GIT_COMMITTER_DATE: '2000-01-01T00:00:00Z',
};

/** A git repository of `functions` Go functions, and a second commit changing some of them. */
export function makeMonorepo(
  functions,
  filesPerFunction,
  changedFunctions,
  changedFilesPerFunction,
  manifests = false,
) {
  const dir = mkdtempSync(path.join(tmpdir(), 'faas-bench-mono-'));
  const git = (...args) =>
    execFileSync('git', args, { cwd: dir, env: gitEnv, encoding: 'utf8', maxBuffer: 1 << 26 }).trim();
  git('init', '-q', '--initial-branch=main');
  for (let f = 0; f < functions; f++) {
    const fn = path.join(dir, 'functions', `fn-${String(f).padStart(4, '0')}`);
    mkdirSync(path.join(fn, 'lib'), { recursive: true });
    writeFileSync(path.join(fn, 'go.mod'), `module example.com/fn${f}\n\ngo 1.22\n`);
    writeFileSync(path.join(fn, 'main.go'), `package main\n\nfunc main() { println(${f}) }\n`);
    const own = manifests ? 3 : 2;
    if (manifests) {
      writeFileSync(
        path.join(fn, 'function.yaml'),
        `name: fn-${f}\nruntime: go\nenv: { GREETING: hi }\nscale: { min: 0, max: 5 }\ntimeout: 30s\n`,
      );
    }
    for (let i = own; i < filesPerFunction; i++)
      writeFileSync(path.join(fn, 'lib', `file-${i}.go`), `package lib // ${f}/${i}\n`);
  }
  git('add', '-A');
  git('commit', '-qm', 'base');
  const base = git('rev-parse', 'HEAD');
  for (let f = 0; f < changedFunctions; f++) {
    const fn = path.join(dir, 'functions', `fn-${String(f * 7).padStart(4, '0')}`);
    for (let i = 0; i < changedFilesPerFunction; i++)
      writeFileSync(path.join(fn, 'lib', `changed-${i}.go`), 'package lib\n');
  }
  git('add', '-A');
  git('commit', '-qm', 'change');
  return { dir, base, head: git('rev-parse', 'HEAD') };
}

function time(command, args, cwd, env = process.env) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return { ms, stdout: result.stdout, stderr: result.stderr };
}

/** The phases the CLI reports with FAAS_DEPLOY_TIMINGS=1, in order. */
const PHASES = ['startup', 'discovery', 'manifests', 'git', 'plan', 'packaging', 'output', 'total'];

/** `faas-deploy timings: startup 48.2 ms, discovery 14.9 ms, …, total 112.3 ms` → { phase: ms } */
function phasesOf(stderr) {
  const line = /^faas-deploy timings: (.*)$/m.exec(stderr);
  if (!line) throw new Error(`no timings on standard error: ${stderr}`);
  return Object.fromEntries(
    line[1].split(', ').map((part) => {
      const [, phase, ms] = /^(\S+) ([\d.]+) ms$/.exec(part) ?? [];
      return [phase, Number(ms)];
    }),
  );
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** The bound on the first row: plan ÷ (git diff + node start-up). */
export const PLAN_BOUND = 3;

const before = process.env.BENCH_PLAN_BEFORE ? path.resolve(process.env.BENCH_PLAN_BEFORE) : undefined;

function measure(repo, runs) {
  const samples = { diff: [], node: [], plan: [], before: [], phases: [] };
  const planArgs = (program) => [
    program,
    'plan',
    '--repo',
    repo.dir,
    '--base',
    repo.base,
    '--head',
    repo.head,
    '--json',
  ];
  // A further run per round reports its phases (FAAS_DEPLOY_TIMINGS=1), kept apart from the timed
  // ones: writing to standard error costs a little itself.
  const timingsEnv = { ...process.env, FAAS_DEPLOY_TIMINGS: '1' };
  const load = loadavg()[0];
  let planned;
  for (let i = 0; i < runs + 2; i++) {
    const diff = time('git', ['diff', '--name-only', repo.base, repo.head], repo.dir);
    const node = time(process.execPath, ['-e', '0'], repo.dir);
    const plan = time(process.execPath, planArgs(cli), repo.dir);
    const other = before ? time(process.execPath, planArgs(before), repo.dir) : undefined;
    planned = JSON.parse(plan.stdout);
    if (other && other.stdout !== plan.stdout) throw new Error(`${before} printed another plan`);
    const phases = phasesOf(time(process.execPath, planArgs(cli), repo.dir, timingsEnv).stderr);
    if (i < 2) continue; // warm-up
    samples.diff.push(diff.ms);
    samples.node.push(node.ms);
    samples.plan.push(plan.ms);
    if (other) samples.before.push(other.ms);
    samples.phases.push(phases);
  }
  return {
    diff: median(samples.diff),
    node: median(samples.node),
    plan: median(samples.plan),
    ...(before ? { before: median(samples.before) } : {}),
    phases: Object.fromEntries(
      PHASES.map((phase) => [phase, median(samples.phases.map((sample) => sample[phase] ?? 0))]),
    ),
    functions: planned.functions.length,
    changed: planned.functions.filter((fn) => fn.changed).length,
    load: Math.max(load, loadavg()[0]),
  };
}

/** The repositories the benchmark plans: makeMonorepo's arguments. */
export const PLAN_CASES = [
  { label: '1,000 functions × 20 files, 1 function changed (1 file)', args: [1000, 20, 1, 1] },
  { label: '100 functions × 20 files, 1 function changed (1 file)', args: [100, 20, 1, 1] },
  { label: '1,000 functions × 20 files, 10 functions changed (10 files)', args: [1000, 20, 10, 1] },
  { label: '1,000 functions × 20 files, 100 functions changed (1,000 files)', args: [1000, 20, 100, 10] },
  {
    label: '1,000 functions × 20 files with function.yaml, 1 function changed (1 file)',
    args: [1000, 20, 1, 1, true],
  },
];

export async function planBenchmark(runs = 9) {
  const rows = [];
  for (const c of PLAN_CASES) {
    const repo = makeMonorepo(...c.args);
    try {
      rows.push({ label: c.label, ...measure(repo, runs) });
    } finally {
      rmSync(repo.dir, { recursive: true, force: true });
    }
  }
  return { runs, rows };
}

export function planMarkdown(result) {
  const withBefore = result.rows.some((r) => r.before !== undefined);
  const first = result.rows[0];
  const ratio = first ? first.plan / (first.diff + first.node) : NaN;
  return [
    '## Plan on a large monorepo',
    '',
    `Command: \`node bench/plan.mjs\` (part of \`npm run bench\`${withBefore ? '; here with `BENCH_PLAN_BEFORE` naming the build before the change' : ''}). A synthetic repository of N functions (go.mod, main.go and 18 files in lib/ each; in the last row a function.yaml instead of one of them), one commit changing some of them; \`node dist/cli.js plan --base B --head H --json\` against \`git diff --name-only B H\` plus \`node -e 0\`. The bound: the first row's plan takes less than ${PLAN_BOUND} × that sum (here ${ratio.toFixed(2)} ×: ${ratio < PLAN_BOUND ? 'met' : 'NOT met'}). Medians of ${result.runs} runs after 2 warm-ups, the commands (and a further run that reports its phases, below) taking turns; load is the 1-minute load average around the row.`,
    '',
    `| repository | functions planned | changed | git diff (ms) | node start (ms) | plan (ms) | plan ÷ (diff + node) | load |${withBefore ? ' plan, build before (ms) |' : ''}`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |${withBefore ? ' --- |' : ''}`,
    ...result.rows.map(
      (r) =>
        `| ${r.label} | ${r.functions} | ${r.changed} | ${r.diff.toFixed(1)} | ${r.node.toFixed(1)} | ${r.plan.toFixed(1)} | ${(r.plan / (r.diff + r.node)).toFixed(2)} | ${r.load.toFixed(2)} |${withBefore ? ` ${r.before?.toFixed(1) ?? ''} |` : ''}`,
    ),
    '',
    "Where the time of a plan goes, from the CLI itself (`FAAS_DEPLOY_TIMINGS=1`, a separate run in each round, medians, ms): *startup* is from the process's start until the CLI starts working (node itself, its built-in modules, the bundle, the command line), *discovery* lists the function directories and probes their runtime files, *manifests* parses and validates function.yaml files and builds the specs, *git* is what is left to wait for of the `git diff` process, which starts before discovery (starting it is counted in *discovery*), *plan* decides each function's action, *packaging* renders and hashes the changed functions, *output* writes the JSON; node's own exit comes after *total*.",
    '',
    `| repository | ${PHASES.join(' | ')} |`,
    `| --- | ${PHASES.map(() => '---').join(' | ')} |`,
    ...result.rows.map(
      (r) => `| ${r.label} | ${PHASES.map((phase) => r.phases[phase].toFixed(1)).join(' | ')} |`,
    ),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(planMarkdown(await planBenchmark(Number(process.argv[2] ?? 9))));
}
