import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Runtime, Watchdog } from '../plan/types.js';

/** Bumped when the templates change in a way the text alone does not show (it is part of the content tag). */
export const TEMPLATE_VERSION = 'v1';

/**
 * templates/ ships at the root of the action's repository, beside dist/. The code runs from
 * dist/, dist/chunks/ or (tests) src/package/, so look upwards for it.
 */
export function templatesRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth++) {
    const candidate = path.join(dir, 'templates');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`The templates/ directory was not found above ${fileURLToPath(import.meta.url)}.`);
}

export function templatePath(runtime: Exclude<Runtime, 'dockerfile'>, watchdog: Watchdog): string {
  return path.join(runtime, watchdog === 'classic' ? 'classic' : 'of-watchdog', 'Dockerfile');
}

export async function loadTemplate(
  runtime: Exclude<Runtime, 'dockerfile'>,
  watchdog: Watchdog,
  root = templatesRoot(),
): Promise<{ name: string; text: string }> {
  const name = templatePath(runtime, watchdog);
  try {
    return { name, text: await readFile(path.join(root, name), 'utf8') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        `There is no template for runtime "${runtime}" with watchdog "${watchdog}" (templates/${name}).`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Replaces every {{name}} in the template; a placeholder without a value is an error, never left in. */
export function fillTemplate(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g, (_match, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`Template placeholder {{${key}}} has no value.`);
    return value;
  });
}
