// The part of the CLI that reads and writes YAML (dist/cli-yaml.cjs): function.yaml parsing and
// validation, js-yaml's load for old manifests and dump for --out. Most plans need none of it
// (a repository without function.yaml files), so it is a bundle of its own, loaded on first use:
// the CLI bundle without it starts ~2.5 ms sooner (issue #4; scripts/build.mjs).
export { parseManifest } from './plan/manifest.js';
export { dump, load } from 'js-yaml';
