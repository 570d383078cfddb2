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

  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const out = await this.git(['merge-base', '--end-of-options', a, b], true);
    return out?.trim() || undefined;
  }

  /** Files that differ between two commits, renames detected, NUL-separated so any file name is safe. */
  async diff(base: string, head: string): Promise<ChangedFile[]> {
    const out =
      (await this.git([
        'diff',
        '--name-status',
        '-z',
        '--find-renames',
        '--no-ext-diff',
        base,
        head,
        '--',
      ])) ?? '';
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
}
