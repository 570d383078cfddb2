/**
 * Escapes untrusted text (function names, branch names, error messages) for a Markdown table
 * cell: no HTML, no table breaks, no @-mentions, no links or images sneaking in.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\r?\n/g, ' ')
    .replace(/[\\`*_{}[\]()#+!|<>~]/g, (char) => `&#${char.charCodeAt(0)};`)
    .replace(/@/g, '@\u200b')
    .replace(/:\/\//g, ':&#47;&#47;');
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Inline code for values we composed ourselves (image references, digests): backticks and newlines removed. */
export function codeSpan(text: string): string {
  return `\`${text.replace(/[`\r\n]/g, '')}\``;
}

/** A clickable URL when it is a plain http(s) URL, escaped text otherwise. */
export function urlLink(url: string): string {
  return /^https?:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~/%-]*)?$/.test(url)
    ? `<${url}>`
    : escapeMarkdown(url);
}
