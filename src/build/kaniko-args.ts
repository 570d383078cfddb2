/**
 * The kaniko executor flags both builders share (in the runner and in the Tekton step), derived
 * from the request alone, so the same content tag always gives the same build.
 */
import { isPlainHttp, parseImageReference, registryHost } from './image-ref.js';

/** Build arguments the templates declare for their base images (src/package/render-dockerfile.ts). */
export const BASE_IMAGE_ARGS = ['BUILDER_IMAGE', 'WATCHDOG_IMAGE', 'RUNTIME_IMAGE'] as const;

/**
 * `NAME=value` for each base-image ARG the Dockerfile declares with a default. The rendered
 * Dockerfile already holds the resolved images (input base-images applied) and the content tag
 * covers it, so passing them again keeps the image exactly what the tag names, and shows them in argv.
 */
export function baseImageBuildArgs(dockerfile: string): string[] {
  const args: string[] = [];
  for (const line of dockerfile.split(/\r?\n/)) {
    const match = /^\s*ARG\s+([A-Z_]+)=(\S+)\s*$/i.exec(line);
    if (!match) continue;
    const name = match[1] ?? '';
    const value = (match[2] ?? '').replace(/^"(.*)"$/, '$1');
    if ((BASE_IMAGE_ARGS as readonly string[]).includes(name) && !args.some((a) => a.startsWith(`${name}=`)))
      args.push(`${name}=${value}`);
  }
  return args;
}

/** Every image a Dockerfile starts from: FROM lines, with ARG defaults substituted. */
export function baseImagesOf(dockerfile: string): string[] {
  const defaults = new Map<string, string>();
  const stages = new Set<string>();
  const images: string[] = [];
  for (const line of dockerfile.split(/\r?\n/)) {
    const arg = /^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)\s*$/.exec(line);
    if (arg) defaults.set(arg[1] ?? '', (arg[2] ?? '').replace(/^"(.*)"$/, '$1'));
    const from = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!from) continue;
    const image = (from[1] ?? '').replace(
      /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
      (_m, name: string) => defaults.get(name) ?? '',
    );
    if (from[2]) stages.add(from[2].toLowerCase());
    if (image !== '' && image !== 'scratch' && !stages.has(image.toLowerCase()) && !images.includes(image))
      images.push(image);
  }
  return images;
}

export interface KanikoFlagOptions {
  /** `<registry>/<fn>:<tag>`. */
  image: string;
  /**
   * The image prefix (`<registry>/<repo>`); layers are cached in `<prefix>/build.cache`, a name no
   * function can have (a function name is a DNS label, without dots).
   */
  registry: string;
  dockerfile: string;
  insecureRegistries?: readonly string[];
  /** --reproducible: strip timestamps so equal inputs give equal digests. */
  reproducible?: boolean;
}

/**
 * Flags besides --context, --dockerfile, --destination and --digest-file, which depend on where the
 * builder runs: the cache, the base-image build arguments and plain-HTTP registries.
 */
export function kanikoFlags(options: KanikoFlagOptions): string[] {
  const insecure = options.insecureRegistries ?? [];
  const destinationHost = parseImageReference(options.image).registry;
  const cacheRepo = `${options.registry}/build.cache`;
  const flags = ['--cache=true', `--cache-repo=${cacheRepo}`];
  for (const arg of baseImageBuildArgs(options.dockerfile)) flags.push(`--build-arg=${arg}`);
  // Plain HTTP only where the registry speaks it: --insecure for the push (and the cache, which is in
  // the same registry), --insecure-registry per base-image host, never a blanket --insecure-pull.
  const hosts = new Set<string>();
  if (isPlainHttp(destinationHost, insecure)) {
    flags.push('--insecure');
    hosts.add(destinationHost);
  }
  const cacheHost = registryHost(options.registry);
  if (isPlainHttp(cacheHost, insecure)) hosts.add(cacheHost);
  for (const base of baseImagesOf(options.dockerfile)) {
    try {
      const host = parseImageReference(base).registry;
      if (isPlainHttp(host, insecure)) hosts.add(host);
    } catch {
      // kaniko reports an unusable FROM itself, with its line
    }
  }
  for (const host of [...hosts].sort()) flags.push(`--insecure-registry=${host}`);
  if (options.reproducible) flags.push('--reproducible');
  return flags;
}
