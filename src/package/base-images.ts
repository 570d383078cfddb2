import type { BaseImages } from '../inputs.js';

/**
 * Pinned defaults for the images a generated Dockerfile starts from. Each is a build argument, so
 * input `base-images` (a private mirror, or a test environment without internet) can replace it.
 */
export const DEFAULT_BASE_IMAGES: Required<BaseImages> = {
  builder: 'golang:1.26.8-alpine3.22',
  runtime: 'alpine:3.22',
  watchdog: 'ghcr.io/openfaas/classic-watchdog:0.3.9',
  ofWatchdog: 'ghcr.io/openfaas/of-watchdog:0.11.6',
  node: 'node:24.11-alpine3.22',
  python: 'python:3.13-alpine3.22',
};

export function resolveBaseImages(overrides: BaseImages): Required<BaseImages> {
  return { ...DEFAULT_BASE_IMAGES, ...overrides };
}
