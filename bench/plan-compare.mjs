// Records what a build of the CLI prints and writes for the repositories of bench/plan.mjs and for
// examples/, so that two builds can be compared byte for byte (a refactoring must not change a
// plan). The repositories are made with fixed commit dates, so their commit ids are the same on
// every run.
// Usage: node bench/plan-compare.mjs record DIR [CLI]   (CLI defaults to dist/cli.js)
//        node bench/plan-compare.mjs compare DIR [CLI]  (exit 1 on any difference)
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeMonorepo, PLAN_CASES } from './plan.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** The examples in a repository of two commits (the second changes echo), and a push event. */
function examplesRepo() {
  const dir = mkdtempSync(path.join(tmpdir(), 'faas-compare-examples-'));
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'b',
    GIT_AUTHOR_EMAIL: 'b@b',
    GIT_AUTHOR_DATE: '2000-01-01T00:00:00Z',
    GIT_COMMITTER_NAME: 'b',
    GIT_COMMITTER_EMAIL: 'b@b',
    GIT_COMMITTER_DATE: '2000-01-01T00:00:00Z',
  };
  const git = (...args) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' }).trim();
  git('init', '-q', '--initial-branch=main');
  cpSync(path.join(root, 'examples', 'functions'), path.join(dir, 'functions'), { recursive: true });
  git('add', '-A');
  git('commit', '-qm', 'one');
  const base = git('rev-parse', 'HEAD');
  writeFileSync(path.join(dir, 'functions', 'echo', 'extra.go'), 'package main\n');
  git('add', '-A');
  git('commit', '-qm', 'two');
  const head = git('rev-parse', 'HEAD');
  const event = path.join(dir, '.git', 'event.json');
  writeFileSync(
    event,
    JSON.stringify({
      ref: 'refs/heads/main',
      before: base,
      after: head,
      repository: { name: 'r', owner: { login: 'o' }, default_branch: 'main' },
    }),
  );
  return { dir, base, head, event };
}

/** The command lines run on each repository: name → arguments after the CLI's path. */
function commandsFor(repo) {
  const range = ['--base', repo.base, '--head', repo.head];
  const commands = {
    'plan-range.json': ['plan', '--repo', repo.dir, ...range, '--json'],
    'plan-range-by-name.json': ['plan', '--repo', repo.dir, '--base', 'HEAD~1', '--head', 'main', '--json'],
    'plan-all.json': ['plan', '--repo', repo.dir, '--json'],
    'plan-range.txt': ['plan', '--repo', repo.dir, ...range],
    // --out is relative to the working directory, so the text names the same directory every time.
    'plan-range-out.txt': ['plan', '--repo', repo.dir, ...range, '--out', 'out', '--registry', 'ghcr.io/o'],
  };
  if (repo.event) {
    commands['plan-push.json'] = [
      'plan',
      '--repo',
      repo.dir,
      '--event-name',
      'push',
      '--event-path',
      repo.event,
      '--json',
    ];
  }
  return commands;
}

/** Every file under dir, relative path → bytes. */
function tree(dir, prefix = '') {
  const files = {};
  for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.posix.join(prefix, entry.name);
    if (entry.isDirectory()) Object.assign(files, tree(dir, rel));
    else files[rel] = readFileSync(path.join(dir, rel));
  }
  return files;
}

/** What the CLI printed (stdout, stderr, exit status) and wrote under --out, as files. */
function outputsOf(cli, repo) {
  const outputs = {};
  for (const [name, args] of Object.entries(commandsFor(repo))) {
    const cwd = mkdtempSync(path.join(tmpdir(), 'faas-compare-cwd-'));
    try {
      const result = spawnSync(process.execPath, [cli, ...args], { cwd, maxBuffer: 1 << 28 });
      if (result.error) throw result.error;
      outputs[`${name}/stdout`] = result.stdout;
      outputs[`${name}/stderr`] = result.stderr;
      outputs[`${name}/status`] = Buffer.from(`${result.status}\n`);
      const out = path.join(cwd, 'out');
      if (args.includes('--out') && existsSync(out)) {
        for (const [file, bytes] of Object.entries(tree(out))) outputs[`${name}/out/${file}`] = bytes;
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }
  return outputs;
}

function* repositories() {
  for (const [index, c] of PLAN_CASES.entries()) {
    const repo = makeMonorepo(...c.args);
    try {
      yield { name: `monorepo-${index + 1}`, label: c.label, repo };
    } finally {
      rmSync(repo.dir, { recursive: true, force: true });
    }
  }
  const repo = examplesRepo();
  try {
    yield { name: 'examples', label: 'examples/functions, echo changed', repo };
  } finally {
    rmSync(repo.dir, { recursive: true, force: true });
  }
}

const [mode, dir, cliArg] = process.argv.slice(2);
if ((mode !== 'record' && mode !== 'compare') || !dir) {
  console.error('Usage: node bench/plan-compare.mjs record|compare DIR [CLI]');
  process.exit(2);
}
const cli = path.resolve(cliArg ?? path.join(root, 'dist', 'cli.js'));
let differences = 0;
let compared = 0;
for (const { name, label, repo } of repositories()) {
  // The repository's path is in the text of a failure; it differs between runs.
  const outputs = Object.fromEntries(
    Object.entries(outputsOf(cli, repo)).map(([file, bytes]) => [
      file,
      Buffer.from(bytes.toString('latin1').replaceAll(repo.dir, '<repo>'), 'latin1'),
    ]),
  );
  const recorded = path.join(dir, name);
  if (mode === 'record') {
    for (const [file, bytes] of Object.entries(outputs)) {
      mkdirSync(path.dirname(path.join(recorded, file)), { recursive: true });
      writeFileSync(path.join(recorded, file), bytes);
    }
    console.log(`${name} (${label}): ${Object.keys(outputs).length} files recorded`);
    continue;
  }
  const before = tree(recorded);
  const names = new Set([...Object.keys(before), ...Object.keys(outputs)]);
  let different = 0;
  for (const file of [...names].sort()) {
    compared++;
    if (!before[file] || !outputs[file] || !before[file].equals(outputs[file])) {
      different++;
      if (different <= 10) console.log(`  differs: ${name}/${file}`);
    }
  }
  differences += different;
  console.log(`${name} (${label}): ${names.size} files, ${different} differ`);
}
if (mode === 'compare') {
  console.log(`${compared} files compared, ${differences} differ`);
  process.exitCode = differences === 0 ? 0 : 1;
}
