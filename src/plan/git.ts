import { CommandError, type CommandRunner } from '../util/exec.js';

export type ChangeStatus = 'A' | 'M' | 'D' | 'R' | 'C' | 'T';

export interface ChangedFile {
  status: ChangeStatus;
  path: string;
  /** For renames and copies: the path before. */
  oldPath?: string;
}

/** The git commands the plan stage needs; revisions and paths are always separate arguments. */
export class Git {
  private readonly runner: CommandRunner;
  readonly cwd: string;

  constructor(runner: CommandRunner, cwd: string) {
    this.runner = runner;
    this.cwd = cwd;
  }

  private async git(args: readonly string[], allowFailure = false): Promise<string | undefined> {
    const result = await this.runner.run('git', ['-c', 'core.quotepath=off', ...args], { cwd: this.cwd });
    if (result.exitCode !== 0) {
      if (allowFailure) return undefined;
      throw new CommandError('git', args, result);
    }
    return result.stdout;
  }

  /** True when the object exists locally and is a commit. */
  async hasCommit(rev: string): Promise<boolean> {
    const out = await this.git(['cat-file', '-t', '--end-of-options', rev], true);
    return out?.trim() === 'commit';
  }

  async resolve(rev: string): Promise<string | undefined> {
    const out = await this.git(
      ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`],
      true,
    );
    return out?.trim() || undefined;
  }

  /**
   * Resolves several revisions to commits in one call; undefined when any of them is not a commit.
   * The revisions go in on standard input, so none can be taken for an option.
   */
  async resolveAll(revs: readonly string[]): Promise<string[] | undefined> {
    const result = await this.runner.run('git', ['cat-file', '--batch-check=%(objectname) %(objecttype)'], {
      cwd: this.cwd,
      input: revs.map((rev) => `${rev.replace(/[\r\n]/g, '')}^{commit}\n`).join(''),
    });
    if (result.exitCode !== 0) return undefined;
    const lines = result.stdout.trim().split('\n');
    if (lines.length !== revs.length || !lines.every((line) => line.endsWith(' commit'))) return undefined;
    return lines.map((line) => line.slice(0, line.indexOf(' ')));
  }

  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const out = await this.git(['merge-base', '--end-of-options', a, b], true);
    return out?.trim() || undefined;
  }

  async isShallow(): Promise<boolean> {
    return (await this.git(['rev-parse', '--is-shallow-repository'], true))?.trim() === 'true';
  }

  /** True when the remote exists in this checkout. */
  async hasRemote(remote: string): Promise<boolean> {
    return (await this.git(['remote', 'get-url', '--', remote], true)) !== undefined;
  }

  /**
   * Fetches commits by sha or ref (GitHub serves any reachable sha) without tags, optionally
   * limited to a depth; true when git succeeded. Never prompts for credentials.
   */
  async fetch(remote: string, revs: readonly string[], depth?: number): Promise<boolean> {
    const args = ['fetch', '--quiet', '--no-tags', '--no-recurse-submodules'];
    if (depth !== undefined) args.push(`--depth=${depth}`);
    const result = await this.runner.run(
      'git',
      ['-c', 'core.quotepath=off', ...args, '--', remote, ...revs],
      { cwd: this.cwd, env: noPrompt() },
    );
    return result.exitCode === 0;
  }

  async unshallow(remote: string): Promise<boolean> {
    const result = await this.runner.run(
      'git',
      ['fetch', '--quiet', '--no-tags', '--no-recurse-submodules', '--unshallow', '--', remote],
      { cwd: this.cwd, env: noPrompt() },
    );
    return result.exitCode === 0;
  }

  /** The text of a file at a revision, or undefined when it does not exist there. */
  async show(rev: string, file: string): Promise<string | undefined> {
    return this.git(['show', '--end-of-options', `${rev}:${file}`], true);
  }

  /**
   * Files that differ between two revisions, renames detected, NUL-separated so any file name is
   * safe. The revisions may be names as a user typed them: none can be taken for an option.
   */
  async diff(base: string, head: string): Promise<ChangedFile[]> {
    return parseNameStatus((await this.git(diffArgs(base, head))) ?? '');
  }

  /**
   * As diff, for two revisions that must both be commits; undefined when either is not one (or git
   * fails otherwise), so a caller can find out which with resolve.
   */
  async diffCommits(base: string, head: string): Promise<ChangedFile[] | undefined> {
    const out = await this.git(diffArgs(`${base}^{commit}`, `${head}^{commit}`), true);
    return out === undefined ? undefined : parseNameStatus(out);
  }
}

/** The environment of a fetch: it fails rather than asks for credentials. */
function noPrompt(): NodeJS.ProcessEnv {
  return { ...process.env, GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never' };
}

function diffArgs(base: string, head: string): string[] {
  return [
    'diff',
    '--name-status',
    '-z',
    '--find-renames',
    '--no-ext-diff',
    '--end-of-options',
    base,
    head,
    '--',
  ];
}

/** `git diff --name-status -z` output as changed files. */
function parseNameStatus(out: string): ChangedFile[] {
  const fields = out.split('\0');
  const files: ChangedFile[] = [];
  for (let i = 0; i < fields.length - 1;) {
    const code = fields[i++] ?? '';
    const status = code.charAt(0) as ChangeStatus;
    if (status === 'R' || status === 'C') {
      const oldPath = fields[i++] ?? '';
      files.push({ status, oldPath, path: fields[i++] ?? '' });
    } else {
      files.push({ status, path: fields[i++] ?? '' });
    }
  }
  return files;
}
