import { describeError } from '../util/errors.js';
import type { ChangedFile, ChangeStatus } from './git.js';

/**
 * GitHub's compare API, for when the checkout's history cannot be had (a shallow clone without
 * credentials to deepen it). `base...head` compares head with the merge base, as a pull request does.
 */
export interface CompareClient {
  compare(base: string, head: string): Promise<CompareResult>;
  /**
   * How `head` relates to `base` (GitHub's `status`: ahead, behind, identical, diverged), or
   * undefined when the API cannot say. `ahead` means head descends from base.
   */
  relation(base: string, head: string): Promise<string | undefined>;
}

export type CompareResult =
  { ok: true; files: ChangedFile[]; complete: boolean; why?: string } | { ok: false; why: string };

/** GitHub lists at most this many files for a whole comparison, on the first page only. */
export const COMPARE_FILE_LIMIT = 300;

const STATUS: Record<string, ChangeStatus> = {
  added: 'A',
  removed: 'D',
  modified: 'M',
  renamed: 'R',
  copied: 'C',
  changed: 'T',
};

interface CompareFile {
  filename: string;
  status: string;
  previous_filename?: string;
}

/** Maps the compare API's `files` to the changed files git would report. */
export function filesFromCompare(files: readonly CompareFile[]): ChangedFile[] {
  return files
    .filter((file) => file.status !== 'unchanged')
    .map((file) => ({
      status: STATUS[file.status] ?? 'M',
      path: file.filename,
      ...(file.previous_filename ? { oldPath: file.previous_filename } : {}),
    }));
}

export type CompareRequest = {
  owner: string;
  repo: string;
  basehead: string;
  per_page: number;
  page: number;
};

/** The one call this needs, so a test can hand a real client pointed at a local server. */
export type CompareCall = (
  request: CompareRequest,
) => Promise<{ data: { files?: CompareFile[]; status?: string } }>;

export function compareClient(owner: string, repo: string, call: CompareCall): CompareClient {
  return {
    async compare(base, head) {
      try {
        // Files come only with the first page; one commit per page keeps the answer small.
        const { data } = await call({ owner, repo, basehead: `${base}...${head}`, per_page: 1, page: 1 });
        const files = filesFromCompare(data.files ?? []);
        const complete = (data.files?.length ?? 0) < COMPARE_FILE_LIMIT;
        return complete
          ? { ok: true, files, complete }
          : {
              ok: true,
              files,
              complete,
              why: `GitHub's compare API lists at most ${COMPARE_FILE_LIMIT} files and this change has at least that many`,
            };
      } catch (error) {
        const status = (error as { status?: number }).status;
        const message = describeError(error);
        return { ok: false, why: `GitHub's compare API answered ${status ?? 'with an error'}: ${message}` };
      }
    },
    async relation(base, head) {
      try {
        const { data } = await call({ owner, repo, basehead: `${base}...${head}`, per_page: 1, page: 1 });
        return data.status;
      } catch {
        return undefined;
      }
    },
  };
}
