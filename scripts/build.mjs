// Bundles the entries below with esbuild into dist/, reproducibly: the same sources and lockfile
// give the same bytes. Each bundle has a linked source map (dist/<name>.js.map, positions only), so that a stack
// trace under `node --enable-source-maps` names the source file and function. Also writes
// dist/licenses.txt for every bundled package. FAAS_BUILD_OUT=DIR writes the bundles elsewhere.
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { build } from 'esbuild';
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = path.resolve(root, process.env.FAAS_BUILD_OUT ?? 'dist');
await rm(dist, { recursive: true, force: true });

const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));

// function.schema.json compiled once, here, with the options src/plan/schema-validator.ts uses at
// run time in the tests; the bundles get this code in place of that module (and no Ajv).
const schema = JSON.parse(await readFile(path.join(root, 'schemas', 'function.schema.json'), 'utf8'));
const SCHEMA_OPTIONS = JSON.parse(
  await readFile(path.join(root, 'src', 'plan', 'schema-options.json'), 'utf8'),
);
const ajv = new Ajv({ ...SCHEMA_OPTIONS, code: { source: true, esm: true } });
const validatorSource = `${standaloneCode.default(ajv, ajv.compile(schema))}
export function validateManifestSchema(data) { return validate(data) ? [] : [...(validate.errors ?? [])]; }
`;
const precompiledSchema = {
  name: 'precompiled-function-schema',
  setup(plugin) {
    plugin.onLoad({ filter: /[\\/]src[\\/]plan[\\/]schema-validator\.ts$/ }, () => ({
      contents: validatorSource,
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/**
 * One esbuild call per entry: dist/<name>.js from its source. `splitting` puts what the entry
 * imports dynamically into dist/chunks/, loaded when a run needs it; `executable` makes the file a
 * program (a #! line, mode 0755).
 */
const ENTRIES = [
  { name: 'index', source: 'src/index.ts', splitting: true }, // the action (action.yml runs.main)
  { name: 'post', source: 'src/post.ts' }, // the action's post step (action.yml runs.post)
  { name: 'cli', source: 'src/cli.ts', executable: true }, // the faas-deploy CLI (package.json bin)
];

const results = [];
for (const entry of ENTRIES) {
  results.push(
    await build({
      entryPoints: { [entry.name]: entry.source },
      define: { __FAAS_DEPLOY_VERSION__: JSON.stringify(pkg.version) },
      absWorkingDir: root,
      outdir: dist,
      bundle: true,
      splitting: entry.splitting === true,
      chunkNames: 'chunks/[name]-[hash]',
      format: 'esm',
      platform: 'node',
      target: 'node24',
      minify: true,
      keepNames: true,
      legalComments: 'none',
      sourcemap: true,
      sourcesContent: false,
      metafile: true,
      logLevel: 'warning',
      plugins: [precompiledSchema],
      banner: {
        // Bundled CommonJS packages call require(); an ES module has none of its own.
        js: `${entry.executable ? '#!/usr/bin/env node\n' : ''}import { createRequire as __faasCreateRequire } from 'node:module'; const require = __faasCreateRequire(import.meta.url);`,
      },
    }),
  );
  if (entry.executable) await chmod(path.join(dist, `${entry.name}.js`), 0o755);
}

// Licences of every bundled package.
const packages = new Set();
for (const input of results.flatMap((result) => Object.keys(result.metafile.inputs))) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (match) packages.add(input.slice(0, input.indexOf(match[1]) + match[1].length));
}
const sections = [];
for (const dir of [...packages].sort()) {
  const pkg = JSON.parse(await readFile(path.join(root, dir, 'package.json'), 'utf8'));
  const files = (await readdir(path.join(root, dir))).filter((f) => /^(licen[cs]e|copying)/i.test(f)).sort();
  const text =
    files.length > 0 ? await readFile(path.join(root, dir, files[0]), 'utf8') : '(no licence file shipped)';
  sections.push(
    `${pkg.name}@${pkg.version}\n${typeof pkg.license === 'string' ? pkg.license : JSON.stringify(pkg.license)}\n${text.trim()}\n`,
  );
}
await writeFile(path.join(dist, 'licenses.txt'), `${sections.join('\n---\n\n')}`);

const sizes = results
  .flatMap((result) => Object.entries(result.metafile.outputs))
  .map(([file, info]) => `${file} ${(info.bytes / 1024).toFixed(1)} KiB`)
  .join('\n');
console.log(sizes);
