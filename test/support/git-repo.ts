// Real git repositories in temporary directories for tests.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

export interface TestRepo {
  dir: string;
  git(...args: string[]): string;
  write(files: Record<string, string>): void;
  /** Writes the files, stages everything and commits; returns the new commit's sha. */
  commit(message: string, files?: Record<string, string>): string;
  remove(): void;
}

export function makeRepo(prefix = 'faas-repo-'): TestRepo {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const git = (...args: string[]): string =>
    execFileSync('git', args, { cwd: dir, env: GIT_ENV, encoding: 'utf8' }).trim();
  git('init', '--quiet', '--initial-branch=main');
  const repo: TestRepo = {
    dir,
    git,
    write(files) {
      for (const [name, content] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        writeFileSync(path.join(dir, name), content);
      }
    },
    commit(message, files = {}) {
      repo.write(files);
      git('add', '--all');
      git('commit', '--quiet', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return repo;
}

export const ECHO_MAIN_GO = `package main

import (
\t"fmt"
\t"io"
\t"os"
)

func main() {
\tinput, _ := io.ReadAll(os.Stdin)
\tfmt.Print(string(input))
}
`;

/** A Go function directory's files under functions/<name>/. */
export function goFunction(name: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [`functions/${name}/main.go`]: ECHO_MAIN_GO,
    [`functions/${name}/go.mod`]: `module example.com/${name}\n\ngo 1.22\n`,
    ...Object.fromEntries(Object.entries(extra).map(([file, text]) => [`functions/${name}/${file}`, text])),
  };
}
