// The table, curl examples and failure details shared by the PR comment and the job summary.
import type { FunctionAction } from '../plan/types.js';
import {
  codeBlock,
  codeSpan,
  escapeMarkdown,
  formatDuration,
  formatUtc,
  isPlainUrl,
  markdownTable,
  shortDigest,
  truncate,
  urlLink,
} from './markdown.js';
import type { FunctionStatus } from './outputs.js';

/** One function as the report shows it: this run's outcome, or a row kept from the previous comment. */
export interface ReportRow {
  name: string;
  service: string;
  action?: FunctionAction;
  status: FunctionStatus;
  /** Kept from the previous comment: this run did not touch the function. */
  unchanged?: boolean;
  url?: string;
  image?: string;
  digest?: string;
  buildSeconds?: number;
  buildSkipped?: boolean;
  updatedAt?: string;
  commit?: string;
  reason?: string;
  logTail?: string;
}

export const STATUS_LABEL: Record<FunctionStatus, string> = {
  ready: '✅ ready',
  failed: '❌ failed',
  deleted: '🗑️ deleted',
  skipped: '⏭️ skipped',
  planned: '📝 planned',
};

const NONE = '—';
const REASON_IN_TABLE = 120;
const REASON_IN_DETAILS = 1000;
const LOG_LINES = 25;
const LOG_LINE_WIDTH = 240;
const EXAMPLE_PAYLOAD = 'hello';

function statusCell(row: ReportRow, withReason: boolean): string {
  const label = STATUS_LABEL[row.status];
  const unchanged = row.unchanged
    ? ` (unchanged${row.commit ? ` since ${codeSpan(row.commit.slice(0, 7))}` : ''})`
    : '';
  // The comment says why for every function this run touched: deployed, skipped, deleted, failed.
  const reason =
    withReason && !row.unchanged && row.reason
      ? `: ${escapeMarkdown(truncate(row.reason, REASON_IN_TABLE))}`
      : '';
  return `${label}${unchanged}${reason}`;
}

function buildCell(row: ReportRow): string {
  if (row.buildSkipped) return 'cached';
  return row.buildSeconds !== undefined ? formatDuration(row.buildSeconds) : NONE;
}

function updatedCell(row: ReportRow, now: Date): string {
  return formatUtc(row.updatedAt ?? now.toISOString()) || NONE;
}

/** The PR comment's table: function, status, URL, short digest, build time, updated time (UTC). */
export function commentTable(rows: readonly ReportRow[], now: Date): string {
  return markdownTable(
    ['Function', 'Status', 'URL', 'Digest', 'Build', 'Updated (UTC)'],
    rows.map((row) => [
      escapeMarkdown(row.name),
      statusCell(row, true),
      row.url ? urlLink(row.url) : NONE,
      row.digest ? shortDigest(row.digest) : NONE,
      buildCell(row),
      updatedCell(row, now),
    ]),
  );
}

/** The summary's table: the comment's columns plus the Service, the action and a note. */
export function summaryTable(rows: readonly ReportRow[], now: Date): string {
  return markdownTable(
    ['Function', 'Service', 'Action', 'Status', 'URL / image', 'Digest', 'Build', 'Updated (UTC)', 'Note'],
    rows.map((row) => [
      escapeMarkdown(row.name),
      escapeMarkdown(row.service),
      row.action ?? NONE,
      statusCell(row, false),
      row.url ? urlLink(row.url) : row.image ? codeSpan(row.image) : NONE,
      row.digest ? shortDigest(row.digest) : NONE,
      buildCell(row),
      row.status === 'planned' || row.status === 'skipped' ? NONE : updatedCell(row, now),
      row.reason ? escapeMarkdown(truncate(row.reason, REASON_IN_TABLE)) : '',
    ]),
  );
}

/** The ingress address as `scheme://host[:port]`, or undefined when it is empty or not a plain host. */
export function ingressBase(address: string): string | undefined {
  const trimmed = address.trim().replace(/\/+$/, '');
  if (trimmed === '') return undefined;
  const match = /^(https?:\/\/)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/.exec(trimmed);
  if (!match) return undefined;
  return `${match[1] ?? 'http://'}${match[2] ?? ''}${match[3] ?? ''}`;
}

const FIND_INGRESS =
  "kubectl --namespace kourier-system get service kourier -o jsonpath='{.status.loadBalancer.ingress[0].ip}'";

/**
 * A curl example per Ready function with a plain URL, in both forms: the URL itself, and the
 * ingress address with a Host header for clusters without DNS for their domain.
 */
export function curlExamples(rows: readonly ReportRow[], ingressAddress: string, limit = Infinity): string {
  const ready = rows.filter((row) => row.status === 'ready' && row.url && isPlainUrl(row.url));
  if (ready.length === 0) return '';
  const ingress = ingressBase(ingressAddress);
  const blocks = ready.slice(0, limit).map((row) => {
    const url = row.url ?? '';
    const host = new URL(url).host;
    const lines = [`curl -d '${EXAMPLE_PAYLOAD}' ${url}`];
    if (/\.svc(\.cluster\.local)?$/.test(new URL(url).hostname)) {
      lines.unshift('# cluster-local: reachable from inside the cluster only');
    } else {
      lines.push(`curl -H "Host: ${host}" ${ingress ?? 'http://<ingress-address>'} -d '${EXAMPLE_PAYLOAD}'`);
    }
    return `**${escapeMarkdown(row.name)}**\n\n${codeBlock(lines.join('\n'), 'sh')}`;
  });
  if (ready.length > limit) blocks.push(`_…and ${ready.length - limit} more._`);
  const parts = [...blocks];
  if (!ingress) {
    parts.push(
      ingressAddress.trim() === ''
        ? `Without DNS for the cluster's domain, call the ingress with a Host header: set the input ${codeSpan('ingress-address')} to fill in ${codeSpan('<ingress-address>')}. To find it (Kourier): ${codeSpan(FIND_INGRESS)}; for Istio look at the service ${codeSpan('istio-ingressgateway')} in ${codeSpan('istio-system')}.`
        : `The input ${codeSpan('ingress-address')} is not a host, IP or host:port, so it is left out of the examples.`,
    );
  }
  return parts.join('\n\n');
}

/** Keeps the last lines of a build log, each line cut to a readable width. */
export function logTail(log: string, lines = LOG_LINES): string {
  return log
    .replace(/\r\n?/g, '\n')
    .replace(/\n+$/, '')
    .split('\n')
    .slice(-lines)
    .map((line) => (line.length > LOG_LINE_WIDTH ? `${line.slice(0, LOG_LINE_WIDTH - 1)}…` : line))
    .join('\n');
}

/** The reason of every failed row, with the tail of its build log when there is one. */
export function failureDetails(rows: readonly ReportRow[], withLogs: boolean): string {
  const failed = rows.filter((row) => row.status === 'failed' && !row.unchanged);
  return failed
    .map((row) => {
      const reason = row.reason
        ? escapeMarkdown(truncate(row.reason, REASON_IN_DETAILS))
        : 'no reason reported';
      const head = `**${escapeMarkdown(row.name)}**: ${reason}`;
      if (!withLogs || !row.logTail?.trim()) return head;
      const tail = logTail(row.logTail);
      const lines = tail.split('\n').length;
      return `${head}\n\n<details><summary>Build log (last ${lines === 1 ? 'line' : `${lines} lines`})</summary>\n\n${codeBlock(tail)}\n\n</details>`;
    })
    .join('\n\n');
}
