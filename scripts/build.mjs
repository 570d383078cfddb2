// Bundles the action (dist/index.js) and the CLI with esbuild, reproducibly: the same sources and
// lockfile give the same bytes. The action's heavy stages are split into lazily loaded chunks
// (dist/chunks/) so that start-up only pays for what a run uses. The CLI is one CommonJS bundle
// with no chunks (dist/cli-main.cjs): resolving, reading and linking a module costs more than
// compiling the few kilobytes it shares with the action, and `plan` must start about as fast as
// node itself (issue #4). dist/cli.js, the executable, runs it with V8's code cache of the previous
// run (src/util/code-cache.ts). Also writes dist/licenses.txt for every bundled package. For
// profiling: FAAS_BUILD_OUT=DIR writes the bundles elsewhere, FAAS_BUILD_NO_MINIFY=1 keeps the names.
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { isBuiltin } from 'node:module';
import { chmod, readFile, rm, writeFile, readdir } from 'node:fs/promises';
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

const common = {
  define: { __FAAS_DEPLOY_VERSION__: JSON.stringify(pkg.version) },
  absWorkingDir: root,
  outdir: dist,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: process.env.FAAS_BUILD_NO_MINIFY !== '1',
  keepNames: false,
  legalComments: 'none',
  sourcemap: false,
  metafile: true,
  logLevel: 'warning',
  plugins: [precompiledSchema],
  banner: {
    js: "import { createRequire as __faasCreateRequire } from 'node:module'; const require = __faasCreateRequire(import.meta.url);",
  },
};
const cliCommon = {
  ...common,
  splitting: false,
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  // import() becomes require(), which the CLI's loader serves (vm.Script has no module loader).
  supported: { 'dynamic-import': false },
  define: { ...common.define, 'import.meta.url': '__faasModuleUrl' },
  banner: { js: 'const __faasModuleUrl=require("node:url").pathToFileURL(__filename).href;' },
};
const YAML_BUNDLE = './cli-yaml.cjs';
const yamlApart = {
  name: 'yaml-apart',
  setup(plugin) {
    plugin.onResolve({ filter: /^js-yaml$|[\\/]manifest\.js$/ }, (args) => {
      if (args.kind === 'dynamic-import') return { path: YAML_BUNDLE, external: true };
      if (
        args.kind === 'import-statement' &&
        args.path === 'js-yaml' &&
        !/[\\/]src[\\/]plan[\\/](manifest|yaml-positions)\.ts$/.test(args.importer)
      )
        throw new Error(`build: ${args.importer} imports js-yaml statically: the CLI loads it on first use`);
      return undefined;
    });
  },
};
const results = [
  await build({
    ...common,
    entryPoints: { index: 'src/index.ts' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  }),
  // CommonJS, so that dist/cli.js can compile it with vm.Script and V8's code cache. Its one use
  // of import.meta.url (src/package/template.ts, to find templates/) gets the bundle's own URL.
  // What the CLI imports dynamically for YAML (js-yaml, the function.yaml parser) is the second
  // bundle, dist/cli-yaml.cjs, which the first requires on first use (src/util/code-cache.ts).
  await build({
    ...cliCommon,
    entryPoints: { 'cli-main': 'src/cli-entry.ts' },
    plugins: [...common.plugins, yamlApart],
  }),
  await build({ ...cliCommon, entryPoints: { 'cli-yaml': 'src/cli-yaml.ts' } }),
];

/**
 * For each builtin an ES module imports, Node builds a namespace of every export, reading them all:
 * lazy ones too (fs.ReadStream loads the streams, util's lazy properties load worker_threads, …),
 * some 20 ms before the first line of ours runs. So the CLI takes its builtins from
 * process.getBuiltinModule(), which hands back the module object as it is, and destructures only
 * the names it uses. The statements go to the top of the file, where import statements are
 * evaluated. Anything not understood fails the build.
 */
function builtinsWithoutNamespaces(code) {
  const statements = [];
  const rewritten = code.replace(
    /(?<=^|[;\n}])import\s*([\w$]+)?\s*,?\s*(?:\{([^}]*)\}|\*\s*as\s+([\w$]+))?\s*from\s*(["'])([^"']+)\4;?/g,
    (whole, defaultName, named, namespace, _quote, specifier) => {
      if (!isBuiltin(specifier)) return whole;
      const module = `process.getBuiltinModule(${JSON.stringify(specifier)})`;
      if (defaultName) statements.push(`const ${defaultName}=${module};`);
      if (namespace) statements.push(`const ${namespace}=${module};`);
      if (named !== undefined) {
        const bindings = named
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean)
          .map((part) => {
            const match = /^([\w$]+)(?:\s+as\s+([\w$]+))?$/.exec(part);
            if (!match) throw new Error(`build: cannot rewrite the import of "${part}" from ${specifier}`);
            return match[2] ? `${match[1]}:${match[2]}` : match[1];
          });
        statements.push(`const{${bindings.join(',')}}=${module};`);
      }
      return '';
    },
  );
  const left = /(?<=^|[;\n}])import\s*[^;"']*from\s*["']([^"']+)["']/g;
  for (const match of rewritten.matchAll(left)) {
    if (isBuiltin(match[1])) throw new Error(`build: an import of ${match[1]} was left in the CLI bundle`);
  }
  return `${statements.join('\n')}\n${rewritten}`;
}

// vm.Script runs the CLI bundles without a module loader: an import() left in them could not load.
const cliMainPath = path.join(dist, 'cli-main.cjs');
const cliMain = await readFile(cliMainPath);
for (const bundle of ['cli-main.cjs', 'cli-yaml.cjs']) {
  if (/\bimport\s*\(/.test(await readFile(path.join(dist, bundle), 'utf8'))) {
    throw new Error(`build: dist/${bundle} must not contain import(): bundle what it imports`);
  }
}
if (!cliMain.toString('utf8').includes(`require("${YAML_BUNDLE}")`)) {
  throw new Error(`build: dist/cli-main.cjs does not load ${YAML_BUNDLE}`);
}

// The CLI executable, which knows the bundles' content by the first 16 hex digits of their SHA-256
// (the key of their code cache).
const launcher = await build({
  ...common,
  entryPoints: { cli: 'src/cli-launcher.ts' },
  splitting: false,
  define: {
    ...common.define,
    __FAAS_CLI_MAIN_KEY__: JSON.stringify(
      createHash('sha256')
        .update(cliMain)
        .update(await readFile(path.join(dist, 'cli-yaml.cjs')))
        .digest('hex')
        .slice(0, 16),
    ),
  },
  banner: { js: '#!/usr/bin/env node' },
});
results.push(launcher);
const cliPath = path.join(dist, 'cli.js');
const cliSource = await readFile(cliPath, 'utf8');
const shebang = '#!/usr/bin/env node\n';
if (!cliSource.startsWith(shebang)) throw new Error('build: dist/cli.js lost its #! line');
await writeFile(cliPath, `${shebang}${builtinsWithoutNamespaces(cliSource.slice(shebang.length))}`);
await chmod(cliPath, 0o755);

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
