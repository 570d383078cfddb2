// The hidden part of the PR comment: a marker to find it again, and the rows it shows as base64 JSON
// in an HTML comment, so the next run can keep the rows of functions it does not touch and can tell
// whether the comment already reports a newer run. It holds only what the comment shows anyway
// (names, URLs, digests, times, reasons): never a secret. Anyone with write access could edit it, so
// reading it back is strict and everything in it is escaped again when rendered.
import type { FunctionStatus } from './outputs.js';

/** First line of every comment we write: how we find it among the pull request's comments. */
export const COMMENT_MARKER = '<!-- faas-deploy:pr-comment -->';
const STATE_PREFIX = '<!-- faas-deploy:state ';
const STATE_PATTERN = /<!-- faas-deploy:state ([A-Za-z0-9+/=]+) -->/;

/**
 * Which run wrote a comment: GITHUB_RUN_ID, then GITHUB_RUN_ATTEMPT. Run ids grow with the time the
 * triggering event was received, so a larger id is a newer push; a re-run keeps its id and raises
 * the attempt.
 */
export interface RunKey {
  id: number;
  attempt: number;
}

export interface StateRow {
  name: string;
  service: string;
  status: FunctionStatus;
  url?: string;
  digest?: string;
  buildSeconds?: number;
  buildSkipped?: boolean;
  updatedAt?: string;
  /** The commit this row was deployed from. */
  commit?: string;
  reason?: string;
}

export interface CommentState {
  v: 1;
  pr: number;
  run: RunKey;
  commit?: string;
  /** The pull request was closed and its previews removed. */
  closed?: boolean;
  rows: StateRow[];
}

/** Negative when `a` is older than `b`, 0 for the same run attempt, positive when newer. */
export function compareRuns(a: RunKey, b: RunKey): number {
  return a.id !== b.id ? a.id - b.id : a.attempt - b.attempt;
}

export function encodeState(state: CommentState): string {
  return `${STATE_PREFIX}${Buffer.from(JSON.stringify(state), 'utf8').toString('base64')} -->`;
}

const STATUSES: readonly string[] = ['ready', 'failed', 'deleted', 'skipped', 'planned'];
const MAX_ROWS = 2000;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const shortString = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length <= max;
const count = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function readRow(value: unknown): StateRow | undefined {
  if (!isObject(value)) return undefined;
  const { name, service, status } = value;
  if (!shortString(name, 253) || !shortString(service, 253) || typeof status !== 'string') return undefined;
  if (!STATUSES.includes(status)) return undefined;
  const row: StateRow = { name, service, status: status as FunctionStatus };
  if (shortString(value['url'], 2048)) row.url = value['url'];
  if (shortString(value['digest'], 100)) row.digest = value['digest'];
  if (typeof value['buildSeconds'] === 'number' && Number.isFinite(value['buildSeconds']))
    row.buildSeconds = value['buildSeconds'];
  if (value['buildSkipped'] === true) row.buildSkipped = true;
  if (shortString(value['updatedAt'], 40)) row.updatedAt = value['updatedAt'];
  if (typeof value['commit'] === 'string' && /^[0-9a-f]{7,64}$/.test(value['commit']))
    row.commit = value['commit'];
  if (shortString(value['reason'], 2000)) row.reason = value['reason'];
  return row;
}

/** The state in a comment body; undefined when there is none or it does not have our shape. */
export function decodeState(body: string): CommentState | undefined {
  const match = STATE_PATTERN.exec(body);
  if (!match) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(match[1] ?? '', 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(value) || value['v'] !== 1 || !count(value['pr'])) return undefined;
  const run = value['run'];
  if (!isObject(run) || !count(run['id']) || !count(run['attempt'])) return undefined;
  if (!Array.isArray(value['rows']) || value['rows'].length > MAX_ROWS) return undefined;
  const rows: StateRow[] = [];
  for (const item of value['rows']) {
    const row = readRow(item);
    if (row) rows.push(row);
  }
  return {
    v: 1,
    pr: value['pr'],
    run: { id: run['id'], attempt: run['attempt'] },
    ...(typeof value['commit'] === 'string' && /^[0-9a-f]{7,64}$/.test(value['commit'])
      ? { commit: value['commit'] }
      : {}),
    ...(value['closed'] === true ? { closed: true } : {}),
    rows,
  };
}
