const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Parses a Go-style duration ("90s", "5m", "1m30s", "1.5h", "14d") or a bare number of seconds into seconds.
 * Returns undefined when the text is not a duration.
 */
export function parseDurationSeconds(text: string): number | undefined {
  const value = text.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(value); match; match = part.exec(value)) {
    total += Number(match[1]) * (UNITS[match[2] ?? ''] ?? Number.NaN);
    consumed = part.lastIndex;
  }
  if (consumed === 0 || consumed !== value.length || !Number.isFinite(total)) return undefined;
  return total;
}
