// `npm run bench`: runs every benchmark and writes docs/benchmarks.md with the figures, the machine
// and the date. Each benchmark module exports a function that measures and one that renders Markdown.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startupBenchmark, startupMarkdown } from './startup.mjs';
import { templatesBenchmark, templatesMarkdown } from './templates.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const sections = [];

sections.push(startupMarkdown(await startupBenchmark(Number(process.env.BENCH_RUNS ?? 30))));
sections.push(templatesMarkdown(await templatesBenchmark(Number(process.env.BENCH_TEMPLATE_RUNS ?? 3))));

const cpus = os.cpus();
const header = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}. Figures are medians of repeated runs on a machine that may be shared; compare rows of one table, not across runs.`,
];
writeFileSync(path.join(root, 'docs', 'benchmarks.md'), `${[header.join('\n'), ...sections].join('\n\n')}\n`);
console.log(`wrote docs/benchmarks.md`);
