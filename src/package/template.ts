import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Runtime, Watchdog } from '../plan/types.js';
import { byCodeUnits } from '../util/sort.js';

/**
 * Bumped when the templates change in a way their text alone does not show (it is part of the
 * content tag, so every image is rebuilt once after a bump).
 */
export const TEMPLATE_VERSION = 'v2';

/** A file a template ships beside its Dockerfile (a server scaffold), copied into the build context. */
export interface TemplateFile {
  /** Relative to the template directory, forward slashes. */
  path: string;
  executable: boolean;
  data: Buffer;
}

export interface Template {
  /** `<runtime>/<watchdog>`, e.g. `go/classic`. */
  name: string;
  /** The Dockerfile template text. */
  text: string;
  /** Every other file of the template directory, sorted by path. */
  files: TemplateFile[];
}

/**
 * templates/ ships at the root of the action's repository, beside dist/. The code runs from
 * dist/, dist/chunks/ or (tests) src/package/, so look upwards for it.
 */
let foundRoot: string | undefined;

export function templatesRoot(): string {
  if (foundRoot !== undefined) return foundRoot;
  foundRoot = findTemplatesRoot();
  return foundRoot;
}

function findTemplatesRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth++) {
    const candidate = path.join(dir, 'templates');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`The templates/ directory was not found above ${fileURLToPath(import.meta.url)}.`);
}

export function templateName(runtime: Exclude<Runtime, 'dockerfile'>, watchdog: Watchdog): string {
  return `${runtime}/${watchdog === 'classic' ? 'classic' : 'of-watchdog'}`;
}

/** Kept for callers that want the Dockerfile's path inside templates/. */
export function templatePath(runtime: Exclude<Runtime, 'dockerfile'>, watchdog: Watchdog): string {
  return path.join(templateName(runtime, watchdog), 'Dockerfile');
}

/**
 * The files beside a template's Dockerfile, sorted by path. Synchronous: a template is a handful of
 * small files read once per process.
 */
function readTemplateFiles(directory: string): TemplateFile[] {
  const files: TemplateFile[] = [];
  const walk = (relative: string): void => {
    for (const child of readdirSync(path.join(directory, relative), { withFileTypes: true })) {
      const rel = relative === '' ? child.name : `${relative}/${child.name}`;
      if (child.isDirectory()) {
        walk(rel);
      } else if (child.isFile() && rel !== 'Dockerfile') {
        const full = path.join(directory, rel);
        files.push({ path: rel, executable: (lstatSync(full).mode & 0o111) !== 0, data: readFileSync(full) });
      }
    }
  };
  walk('');
  return files.sort((a, b) => byCodeUnits(a.path, b.path));
}

function readTemplate(
  runtime: Exclude<Runtime, 'dockerfile'>,
  watchdog: Watchdog,
  name: string,
  directory: string,
): Template {
  let text: string;
  try {
    text = readFileSync(path.join(directory, 'Dockerfile'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        `There is no template for runtime "${runtime}" with watchdog "${watchdog}" (templates/${name}/Dockerfile).`,
        { cause: error },
      );
    }
    throw error;
  }
  return { name, text, files: readTemplateFiles(directory) };
}

/**
 * Templates loaded in this process, by template directory (which names the runtime and watchdog):
 * templates/ ships with the action and does not change while it runs, so packaging a hundred
 * functions reads each template once. A failed load is not kept, so it is retried.
 */
const loaded = new Map<string, Template>();

/**
 * The template of a runtime and watchdog, read once per process. Callers share the returned object
 * (and its files' buffers) and must not modify it.
 */
export function loadTemplate(
  runtime: Exclude<Runtime, 'dockerfile'>,
  watchdog: Watchdog,
  root = templatesRoot(),
): Promise<Template> {
  const name = templateName(runtime, watchdog);
  const directory = path.resolve(root, name);
  let template = loaded.get(directory);
  if (template === undefined) {
    try {
      template = readTemplate(runtime, watchdog, name, directory);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    loaded.set(directory, template);
  }
  return Promise.resolve(template);
}

export type TemplateValues = Readonly<Record<string, string | boolean>>;

function truthy(value: string | boolean | undefined): boolean {
  return value === true || (typeof value === 'string' && value !== '');
}

/**
 * Fills a template: `{{#if key}}…{{/if}}` keeps its text only when the value is true or a non-empty
 * string (blocks do not nest; when `{{#if}}` and `{{/if}}` stand on lines of their own, those two
 * lines go too), then every `{{key}}` is replaced. A placeholder without a value, or a block left
 * open, is an error, never text in a Dockerfile.
 */
export function fillTemplate(text: string, values: TemplateValues): string {
  const block = (_match: string, key: string, body: string): string => {
    if (!(key in values)) throw new Error(`Template block {{#if ${key}}} has no value.`);
    if (/\{\{\s*#/.test(body)) throw new Error(`Template block {{#if ${key}}} has a nested block.`);
    return truthy(values[key]) ? body : '';
  };
  const withBlocks = text
    .replace(
      /^[ \t]*\{\{#if\s+([A-Za-z][A-Za-z0-9]*)\s*\}\}[ \t]*\r?\n([\s\S]*?)^[ \t]*\{\{\/if\}\}[ \t]*(?:\r?\n|$)/gm,
      block,
    )
    .replace(/\{\{#if\s+([A-Za-z][A-Za-z0-9]*)\s*\}\}([\s\S]*?)\{\{\/if\}\}/g, block);
  if (/\{\{\s*[#/]/.test(withBlocks)) {
    throw new Error('Template has an unbalanced or nested {{#if}} block.');
  }
  return withBlocks.replace(/\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g, (_match, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`Template placeholder {{${key}}} has no value.`);
    return String(value);
  });
}
