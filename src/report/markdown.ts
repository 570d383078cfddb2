// Markdown for text we do not control. GitHub renders a comment in two passes: CommonMark + GFM turn
// the source into HTML, then filters walk the HTML text nodes and link @mentions, #references and
// bare URLs. Untrusted text must survive both: no table breaks, no HTML, no Markdown syntax, and
// nothing that the second pass would turn into a mention or a link, even after entities are decoded.

const ZWSP = '\u200b';

/* eslint-disable no-control-regex -- matching control characters is the point */
/** Control characters (except tab), bidi overrides and line separators: dropped. */
const CONTROL =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g;
/* eslint-enable no-control-regex */

/**
 * Escapes untrusted text (function names, branch names, error messages) for a Markdown table cell or
 * a line of prose: one line, every Markdown and HTML character as a numeric entity, `@` and `#`
 * followed by a zero-width space so no mention or issue link forms, and no autolinks (`://`, `www.`).
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(ANSI, '')
    .replace(/\r\n?|[\n\u2028\u2029\t]/g, ' ')
    .replace(CONTROL, '')
    .replace(/[&\\`*_{}[\]()#+!|<>~$]/g, (char) => `&#${char.charCodeAt(0)};${char === '#' ? ZWSP : ''}`)
    .replace(/@/g, `@${ZWSP}`)
    .replace(/:\/\//g, `:${ZWSP}//`)
    .replace(/\b(w)(ww\.)/gi, `$1${ZWSP}$2`);
}

/** Shortens untrusted text to `max` characters (on one line), marking the cut. */
export function truncate(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Inline code for values we composed ourselves (image references, digests): backticks, pipes and newlines removed. */
export function codeSpan(text: string): string {
  return `\`${text.replace(/[`|\r\n]/g, '')}\``;
}

const PLAIN_URL = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~/%-]*)?$/;

/** True for a plain http(s) URL: host, optional port and a path of unreserved characters, nothing else. */
export function isPlainUrl(url: string): boolean {
  return PLAIN_URL.test(url) && url.length <= 2048;
}

/** A clickable URL when it is a plain http(s) URL, escaped text otherwise. */
export function urlLink(url: string): string {
  return isPlainUrl(url) ? `<${url}>` : escapeMarkdown(url);
}

/**
 * A fenced code block for untrusted multi-line text (a build log): inside a fence GitHub renders no
 * HTML, Markdown, mentions or links. The fence is longer than any backtick run in the text, so the
 * text cannot close it.
 */
export function codeBlock(text: string, language = 'text'): string {
  const clean = text.replace(ANSI, '').replace(/\r\n?/g, '\n').replace(CONTROL, '');
  const longest = Math.max(0, ...[...clean.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${clean.replace(/\n+$/, '')}\n${fence}`;
}

/** `sha256:` and the first 12 hex digits, as a code span; other values escaped and shortened. */
export function shortDigest(digest: string): string {
  const match = /^(sha256):([0-9a-f]{64})$/.exec(digest);
  return match
    ? codeSpan(`${match[1]}:${(match[2] ?? '').slice(0, 12)}`)
    : escapeMarkdown(truncate(digest, 24));
}

/** 42s, 3m 05s, 1h 02m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** 2025-06-01 14:03 (UTC), from an ISO time; '' when it does not parse. */
export function formatUtc(iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return '';
  return new Date(time).toISOString().slice(0, 16).replace('T', ' ');
}

/** Replaces every occurrence of each secret (and never a short, ambiguous one) with ***. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('***');
  return out;
}
