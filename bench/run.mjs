// `npm run bench`: brings the test environment up (idempotent), runs every benchmark and writes
// docs/benchmarks.md with the figures, the machine and the date. Each benchmark module exports a
// function that measures and one that renders Markdown. BENCH_ONLY=startup,plan runs a subset
// (sections: startup, plan, templates, build, deploy, lifecycle).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildBenchmark, buildMarkdown } from './build.mjs';
import { deployBenchmark, deployMarkdown } from './deploy.mjs';
import { lifecycleBenchmark, lifecycleMarkdown } from './lifecycle.mjs';
import { planBenchmark, planMarkdown } from './plan.mjs';
import { startupBenchmark, startupMarkdown } from './startup.mjs';
import { templatesBenchmark, templatesMarkdown } from './templates.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const only = process.env.BENCH_ONLY?.split(',');
const wanted = (name) => !only || only.includes(name);
const sections = [];

if (wanted('startup')) {
  sections.push(startupMarkdown(await startupBenchmark(Number(process.env.BENCH_RUNS ?? 30))));
}
if (wanted('plan'))
  sections.push(planMarkdown(await planBenchmark(Number(process.env.BENCH_PLAN_RUNS ?? 9))));
if (['templates', 'build', 'deploy', 'lifecycle'].some(wanted)) {
  execFileSync(path.join(root, 'scripts', 'test-env', 'test-env'), ['up'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}
if (wanted('templates')) {
  sections.push(templatesMarkdown(await templatesBenchmark(Number(process.env.BENCH_TEMPLATE_RUNS ?? 3))));
}
if (wanted('build')) sections.push(buildMarkdown(await buildBenchmark()));
if (wanted('deploy')) sections.push(deployMarkdown(await deployBenchmark([1, 10, 50], 3)));
if (wanted('lifecycle')) sections.push(lifecycleMarkdown(await lifecycleBenchmark(3)));

/** `## Heading` → its section, so a partial run (BENCH_ONLY) keeps the figures of the others. */
function sectionsOf(markdown) {
  const map = new Map();
  for (const part of markdown.split(/\n(?=## )/)) {
    const heading = /^## (.+)$/m.exec(part);
    if (part.startsWith('## ') && heading)
      map.set(heading[1], part.replace(/<!-- [a-z-]+:(begin|end) -->\n?/g, '').trim());
  }
  return map;
}

const file = path.join(root, 'docs', 'benchmarks.md');
const merged = sectionsOf(existsSync(file) ? readFileSync(file, 'utf8') : '');
for (const [heading, text] of sectionsOf(sections.join('\n\n'))) merged.set(heading, text);

const cpus = os.cpus();
const header = [
  '# Benchmarks',
  '',
  `Last written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} (${only ? `sections: ${only.join(', ')}` : 'every section'}): ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}, load average ${os.loadavg()[0].toFixed(1)} at the end. Figures are medians of repeated runs on a machine that may be shared; compare rows of one table, not across runs.`,
];
writeFileSync(file, `${[header.join('\n'), ...merged.values()].join('\n\n')}\n`);
console.log('wrote docs/benchmarks.md');
