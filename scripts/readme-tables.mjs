// Regenerates the inputs and outputs tables of README.md from action.yml (between the
// <!-- inputs --> / <!-- outputs --> markers). `--check` exits 1 when README.md is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { format, resolveConfig } from 'prettier';

const action = load(readFileSync('action.yml', 'utf8'));
const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ').trim();

export function inputsTable(inputs) {
  const rows = Object.entries(inputs).map(
    ([name, input]) =>
      `| \`${name}\` | ${input.default === '' || input.default === undefined ? '' : `\`${cell(input.default)}\``} | ${cell(input.description)} |`,
  );
  return ['| input | default | description |', '| --- | --- | --- |', ...rows].join('\n');
}

export function outputsTable(outputs) {
  const rows = Object.entries(outputs).map(
    ([name, output]) => `| \`${name}\` | ${cell(output.description)} |`,
  );
  return ['| output | description |', '| --- | --- |', ...rows].join('\n');
}

const readme = readFileSync('README.md', 'utf8');
const replace = (text, marker, table) => {
  const pattern = new RegExp(`(<!-- ${marker} -->\\n)[\\s\\S]*?(<!-- /${marker} -->)`);
  if (!pattern.test(text))
    throw new Error(`README.md lacks the <!-- ${marker} --> … <!-- /${marker} --> markers`);
  return text.replace(pattern, `$1${table}\n$2`);
};
// Formatted as Prettier formats Markdown, so `prettier --check` and this script agree.
const updated = await format(
  replace(replace(readme, 'inputs', inputsTable(action.inputs)), 'outputs', outputsTable(action.outputs)),
  { ...(await resolveConfig('README.md')), parser: 'markdown' },
);
if (process.argv.includes('--check')) {
  if (updated !== readme) {
    console.error('README.md tables differ from action.yml; run: node scripts/readme-tables.mjs');
    process.exit(1);
  }
} else {
  writeFileSync('README.md', updated);
}
