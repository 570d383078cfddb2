import { lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { BaseImages } from '../inputs.js';
import type { FunctionSpec, Plan, PlannedFunction, Runtime } from '../plan/types.js';
import { UserError } from '../util/errors.js';
import { resolveBaseImages, type ResolvedBaseImages } from './base-images.js';
import { comparePaths, readBuildContext, writeEntries, type ContextEntry } from './build-context.js';
import { contentTag } from './content-tag.js';
import { FUNCTION_DIR, renderDockerfile } from './render-dockerfile.js';
import { loadTemplate, TEMPLATE_VERSION } from './template.js';

/** Where the template's files and the generated Dockerfile go inside a generated build context. */
export const TEMPLATE_DIR = '.faas';
export { FUNCTION_DIR };

export interface PackagedFunction {
  runtime: Runtime;
  /** `<runtime>/<watchdog>` of the template used; undefined for runtime "dockerfile". */
  template: string | undefined;
  /** The Dockerfile to build with: generated, or the user's own for runtime "dockerfile". */
  dockerfile: string;
  /** Where the Dockerfile sits inside the build context (`.faas/Dockerfile` or `Dockerfile`). */
  dockerfilePath: string;
  /**
   * The function directory on disk: the source of the build context, not the context itself. Build
   * from a directory made by writeBuildContext (the entries below plus the Dockerfile).
   */
  contextDir: string;
  /**
   * The build context, sorted by path. Generated templates: the function's files under function/
   * and the template's files (server scaffolds) under .faas/. Runtime "dockerfile": the function's
   * files at the root. Either way after .dockerignore, without function.yaml and .git.
   */
  entries: ContextEntry[];
  /** Content tag of the entries, the Dockerfile and the template version. */
  tag: string;
}

/** Left out of every build context: function.yaml configures the Service, not the image. */
function alwaysExcluded(runtime: Runtime): (relativePath: string, isDirectory: boolean) => boolean {
  return (relativePath, isDirectory) => {
    if (relativePath === 'function.yaml' && !isDirectory) return true;
    // Installed dependencies are the image's business (from the lockfile), not the checkout's.
    if (runtime === 'node' && relativePath === 'node_modules') return true;
    if (runtime === 'python' && isDirectory && path.posix.basename(relativePath) === '__pycache__')
      return true;
    return false;
  };
}

/** The function's own Dockerfile (runtime "dockerfile"), never through a symbolic link. */
function readOwnDockerfile(contextDir: string, spec: FunctionSpec): string {
  const file = path.join(contextDir, 'Dockerfile');
  if (lstatSync(file, { throwIfNoEntry: false })?.isFile()) return readFileSync(file, 'utf8');
  throw new UserError(
    `${spec.directory}/Dockerfile is missing or not a regular file (runtime "dockerfile").`,
    {
      file: `${spec.directory}/Dockerfile`,
    },
  );
}

/**
 * Renders the Dockerfile, assembles the build context and computes the content tag for one
 * function. Reads only: nothing is written until writeBuildContext.
 */
export async function packageFunction(
  repoRoot: string,
  spec: FunctionSpec,
  images: ResolvedBaseImages,
): Promise<PackagedFunction> {
  const contextDir = path.join(repoRoot, spec.directory);
  const own = readBuildContext(contextDir, { exclude: alwaysExcluded(spec.runtime) });
  if (spec.runtime === 'dockerfile') {
    const dockerfile = readOwnDockerfile(contextDir, spec);
    return {
      runtime: spec.runtime,
      template: undefined,
      dockerfile,
      dockerfilePath: 'Dockerfile',
      contextDir,
      entries: own,
      tag: contentTag(own, dockerfile, TEMPLATE_VERSION),
    };
  }
  const template = await loadTemplate(spec.runtime, spec.watchdog);
  const dockerfile = renderDockerfile(spec, template, images, own);
  const entries: ContextEntry[] = [
    ...own.map((entry) => ({ ...entry, path: `${FUNCTION_DIR}/${entry.path}` })),
    ...template.files.map((file) => ({
      path: `${TEMPLATE_DIR}/${file.path}`,
      kind: 'file' as const,
      executable: file.executable,
      data: file.data,
    })),
  ].sort(comparePaths);
  return {
    runtime: spec.runtime,
    template: template.name,
    dockerfile,
    dockerfilePath: `${TEMPLATE_DIR}/Dockerfile`,
    contextDir,
    entries,
    tag: contentTag(entries, dockerfile, TEMPLATE_VERSION),
  };
}

/**
 * Writes a packaged function's build context into `target` (an empty directory the caller owns,
 * never the function's directory): the entries, then the Dockerfile at dockerfilePath. Returns the
 * Dockerfile's path inside the context, for `docker build -f` or kaniko's `--dockerfile`.
 */
export async function writeBuildContext(
  packaged: Pick<PackagedFunction, 'entries' | 'dockerfile' | 'dockerfilePath'>,
  target: string,
): Promise<string> {
  await writeEntries(
    [
      ...packaged.entries.filter((entry) => entry.path !== packaged.dockerfilePath),
      {
        path: packaged.dockerfilePath,
        kind: 'file',
        executable: false,
        data: Buffer.from(packaged.dockerfile, 'utf8'),
      },
    ],
    target,
  );
  return packaged.dockerfilePath;
}

export function imageReference(registry: string, name: string, tag: string): string {
  return `${registry ? `${registry}/` : ''}${name}:${tag}`;
}

export interface PackagedPlanEntry extends PackagedFunction {
  image: string;
}

/** Packages every function the plan builds (deploy or preview), concurrently. */
export async function packagePlan(
  repoRoot: string,
  plan: Plan,
  images: ResolvedBaseImages | (BaseImages & Partial<ResolvedBaseImages>),
  registry: string,
  which: (fn: PlannedFunction) => boolean = (fn) => fn.action === 'deploy' || fn.action === 'preview',
): Promise<Map<string, PackagedPlanEntry>> {
  const resolved = resolveBaseImages(images);
  const packaged = new Map<string, PackagedPlanEntry>();
  await Promise.all(
    plan.functions
      .filter((fn) => fn.spec && which(fn))
      .map(async (fn) => {
        const spec = fn.spec as FunctionSpec;
        const result = await packageFunction(repoRoot, spec, resolved);
        packaged.set(fn.name, { ...result, image: imageReference(registry, spec.name, result.tag) });
      }),
  );
  return packaged;
}
