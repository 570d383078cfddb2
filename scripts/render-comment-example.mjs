// Writes docs/pr-comment-example.md (the PR comment for three functions: one Ready, one failed, one
// unchanged, exactly as the report stage renders it) and docs/pr-comment-example.png (that Markdown
// rendered to HTML by cmark-gfm, GitHub's renderer, and photographed by headless Chromium).
// Needs the Debian packages cmark-gfm and chromium (plus fonts-noto-color-emoji for the symbols).
//   node scripts/render-comment-example.mjs [--markdown-only]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = mkdtempSync(path.join(tmpdir(), 'faas-comment-example-'));
const entry = path.join(work, 'render.mjs');
await build({
  stdin: {
    contents: [
      "import { exampleDocument } from './test/support/report-example.ts';",
      'process.stdout.write(exampleDocument());',
    ].join('\n'),
    resolveDir: root,
    loader: 'ts',
  },
  outfile: entry,
  bundle: true,
  format: 'esm',
  platform: 'node',
  logLevel: 'warning',
});
const markdown = execFileSync(process.execPath, [entry], { encoding: 'utf8' });
const mdFile = path.join(root, 'docs', 'pr-comment-example.md');
writeFileSync(mdFile, markdown);
console.log(`wrote ${path.relative(root, mdFile)}`);
if (process.argv.includes('--markdown-only')) process.exit(0);

// Only the comment itself goes into the picture.
const comment = markdown.slice(
  markdown.indexOf('<!-- faas-deploy:pr-comment -->'),
  markdown.indexOf('<!-- prettier-ignore-end -->'),
);
const body = execFileSync(
  'cmark-gfm',
  ['-e', 'table', '-e', 'autolink', '-e', 'strikethrough', '-e', 'tagfilter', '--unsafe'],
  {
    input: comment,
    encoding: 'utf8',
  },
);
const css = `
  body { margin: 0; background: #f6f8fa; font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif, "Noto Color Emoji"; color: #1f2328; }
  .comment { margin: 16px; border: 1px solid #d1d9e0; border-radius: 6px; background: #fff; }
  .header { padding: 8px 16px; background: #f6f8fa; border-bottom: 1px solid #d1d9e0; border-radius: 6px 6px 0 0; color: #59636e; }
  .header b { color: #1f2328; }
  .body { padding: 4px 16px 12px; }
  h3 { font-size: 1.25em; margin: 16px 0 8px; } h4 { font-size: 1em; margin: 16px 0 8px; }
  table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
  tr:nth-child(2n) td { background: #f6f8fa; } th { font-weight: 600; }
  code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 85%; }
  code { background: rgba(129,139,152,.12); padding: .2em .4em; border-radius: 6px; }
  pre { background: #f6f8fa; padding: 12px 16px; border-radius: 6px; overflow: auto; } pre code { background: none; padding: 0; font-size: 100%; }
  a { color: #0969da; text-decoration: none; } details { margin: 8px 0; } summary { cursor: pointer; }
  sub { color: #59636e; }
`;
const html = `<!doctype html><html><head><meta charset="utf-8"><style>${css}</style></head><body>
<div class="comment"><div class="header"><b>github-actions</b> <span>bot</span> commented</div>
<div class="body">${body.replace('<details>', '<details open>')}</div></div></body></html>`;
const htmlFile = path.join(work, 'comment.html');
writeFileSync(htmlFile, html);
const png = path.join(root, 'docs', 'pr-comment-example.png');
execFileSync(
  'chromium',
  [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--hide-scrollbars',
    `--screenshot=${png}`,
    '--window-size=1000,940',
    `file://${htmlFile}`,
  ],
  { stdio: 'ignore' },
);
console.log(`wrote ${path.relative(root, png)} (${readFileSync(png).length} bytes)`);
