import path from 'node:path';
import type { BaseImages } from '../inputs.js';
import type { FunctionSpec, Plan, PlannedFunction } from '../plan/types.js';
import { readBuildContext, type ContextEntry } from './build-context.js';
import { contentTag } from './content-tag.js';
import { renderDockerfile } from './render-dockerfile.js';
import { loadTemplate, TEMPLATE_VERSION } from './template.js';

export interface PackagedFunction {
  /** The Dockerfile to build with: generated, or the user's own for runtime "dockerfile". */
  dockerfile: string;
  /** The function directory, which is the build context. */
  contextDir: string;
  entries: ContextEntry[];
  tag: string;
}

/** Renders the Dockerfile, reads the build context and computes the content tag for one function. */
export async function packageFunction(
  repoRoot: string,
  spec: FunctionSpec,
  images: Required<BaseImages>,
): Promise<PackagedFunction> {
  const contextDir = path.join(repoRoot, spec.directory);
  const entries = await readBuildContext(contextDir);
  let dockerfile: string;
  if (spec.runtime === 'dockerfile') {
    const own = entries.find((entry) => entry.path === 'Dockerfile');
    if (!own) throw new Error(`${spec.directory}/Dockerfile is missing (runtime "dockerfile").`);
    dockerfile = own.data.toString('utf8');
  } else {
    dockerfile = renderDockerfile(spec, await loadTemplate(spec.runtime, spec.watchdog), images);
  }
  return { dockerfile, contextDir, entries, tag: contentTag(entries, dockerfile, TEMPLATE_VERSION) };
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
  images: Required<BaseImages>,
  registry: string,
  which: (fn: PlannedFunction) => boolean = (fn) => fn.action === 'deploy' || fn.action === 'preview',
): Promise<Map<string, PackagedPlanEntry>> {
  const packaged = new Map<string, PackagedPlanEntry>();
  await Promise.all(
    plan.functions
      .filter((fn) => fn.spec && which(fn))
      .map(async (fn) => {
        const spec = fn.spec as FunctionSpec;
        const result = await packageFunction(repoRoot, spec, images);
        packaged.set(fn.name, { ...result, image: imageReference(registry, spec.name, result.tag) });
      }),
  );
  return packaged;
}
