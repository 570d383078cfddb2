/**
 * Where the build stage writes. Builds run concurrently, so a function's build log is collected and
 * written as one collapsible group when its build ends (interleaved groups would be unreadable);
 * progress lines go out as they happen. Production writes through @actions/core; tests record.
 */
import * as core from '@actions/core';

export interface BuildLog {
  info(line: string): void;
  warning(line: string): void;
  /** One collapsible group: a title and its lines, written at once. */
  group(title: string, lines: readonly string[]): void;
  /** Masks a secret or a value derived from one in everything written afterwards. */
  secret(value: string): void;
}

export const actionsLog: BuildLog = {
  info: (line) => {
    core.info(line);
  },
  warning: (line) => {
    core.warning(line);
  },
  group: (title, lines) => {
    core.startGroup(title);
    for (const line of lines) core.info(line);
    core.endGroup();
  },
  secret: (value) => {
    core.setSecret(value);
  },
};

/** How many lines of a failed build's log the report shows. */
export const LOG_TAIL_LINES = 30;

/**
 * Collects a build's output as lines (carriage-return progress bars reduced to their last state),
 * keeping the first and the last part when it grows past `maxLines`.
 */
export class LogLines {
  private readonly head: string[] = [];
  private readonly tail: string[] = [];
  private dropped = 0;
  private partial = '';
  private readonly maxLines: number;

  constructor(maxLines = 5000) {
    this.maxLines = maxLines;
  }

  write(chunk: string): void {
    const text = this.partial + chunk;
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const part of parts) this.push(part);
  }

  private push(raw: string): void {
    const line = raw.includes('\r')
      ? (raw
          .split('\r')
          .filter((p) => p !== '')
          .pop() ?? '')
      : raw;
    if (this.head.length < this.maxLines / 2) {
      this.head.push(line);
      return;
    }
    this.tail.push(line);
    if (this.tail.length > this.maxLines / 2) {
      this.tail.shift();
      this.dropped++;
    }
  }

  /** Every kept line (a marker where lines were dropped). */
  lines(): string[] {
    if (this.partial !== '') {
      this.push(this.partial);
      this.partial = '';
    }
    return this.dropped > 0
      ? [...this.head, `… ${this.dropped} lines left out …`, ...this.tail]
      : [...this.head, ...this.tail];
  }

  /** The last `count` non-empty lines, joined. */
  lastLines(count = LOG_TAIL_LINES): string {
    return tailOf(this.lines(), count);
  }
}

export function tailOf(lines: readonly string[], count = LOG_TAIL_LINES): string {
  const kept = [...lines];
  while (kept.length > 0 && (kept[kept.length - 1] ?? '').trim() === '') kept.pop();
  return kept.slice(-count).join('\n');
}

/**
 * The line of a kaniko log that says why it failed: its last `error …` line (kaniko's fatal
 * message, e.g. `error building image: error building stage: failed to execute command: …`).
 */
export function kanikoErrorLine(lines: readonly string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] ?? '').trim();
    if (/^(error|Error)\b/.test(line) || /level=(fatal|error)/.test(line)) {
      return line.replace(/^.*?level=(?:fatal|error)\s+msg="?/, '').replace(/"$/, '');
    }
  }
  return undefined;
}
