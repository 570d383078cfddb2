import type { BaseImages } from '../inputs.js';

/**
 * Every image a generated Dockerfile starts from. `builder`/`runtime` are Go's build and final
 * images; Node and Python have a build image (with npm / pip) and a final image without them.
 */
export interface ResolvedBaseImages {
  builder: string;
  runtime: string;
  watchdog: string;
  ofWatchdog: string;
  node: string;
  nodeRuntime: string;
  python: string;
  pythonRuntime: string;
}

/**
 * Pinned defaults. Each is a build argument, so input `base-images` (a private mirror, or a test
 * environment without internet) can replace it. Build and final images of a language share one
 * Debian release, so native modules and wheels built in the first run in the second; the final
 * images are distroless: no shell, no package manager, a `nonroot` user and a world-writable /tmp.
 */
export const DEFAULT_BASE_IMAGES: ResolvedBaseImages = {
  builder: 'golang:1.26.8-alpine3.22',
  runtime: 'gcr.io/distroless/static-debian13:nonroot',
  watchdog: 'ghcr.io/openfaas/classic-watchdog:0.3.9',
  ofWatchdog: 'ghcr.io/openfaas/of-watchdog:0.11.6',
  node: 'node:24-trixie-slim',
  nodeRuntime: 'gcr.io/distroless/nodejs24-debian13:nonroot',
  python: 'python:3.13-slim-trixie',
  pythonRuntime: 'gcr.io/distroless/python3-debian13:nonroot',
};

/**
 * Defaults with the overrides applied. Overriding a language's build image without its final image
 * uses the build image for both: a mirror of one image must not pull the other from the internet,
 * and one image is always compatible with itself.
 */
export function resolveBaseImages(overrides: BaseImages & Partial<ResolvedBaseImages>): ResolvedBaseImages {
  const set = Object.fromEntries(
    Object.entries(overrides).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  ) as Partial<ResolvedBaseImages>;
  const images = { ...DEFAULT_BASE_IMAGES, ...set };
  if (set.node !== undefined && set.nodeRuntime === undefined) images.nodeRuntime = set.node;
  if (set.python !== undefined && set.pythonRuntime === undefined) images.pythonRuntime = set.python;
  return images;
}
