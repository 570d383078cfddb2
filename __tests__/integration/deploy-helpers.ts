// Helpers for the deploy integration tests: tiny images pushed straight to the test registry through
// the Docker Registry HTTP API (so each test has its own digests), a function spec, the environment.
import { createHash, randomBytes } from 'node:crypto';
import type { FunctionSpec } from '../../src/plan/types.js';

export function need(env: Record<string, string>, key: string): string {
  const v = env[key];
  if (!v) throw new Error(`${key} is missing from the test environment (scripts/test-env/test-env env)`);
  return v;
}

export function suffix(): string {
  return randomBytes(3).toString('hex');
}

async function check(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

async function pushBlob(registry: string, repo: string, bytes: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const start = await check(
    await fetch(`http://${registry}/v2/${repo}/blobs/uploads/`, { method: 'POST' }),
    'start blob upload',
  );
  const location = new URL(start.headers.get('location') ?? '', `http://${registry}`);
  location.searchParams.set('digest', digest);
  await check(
    await fetch(location, {
      method: 'PUT',
      body: new Uint8Array(bytes),
      headers: { 'Content-Type': 'application/octet-stream' },
    }),
    'put blob',
  );
  return digest;
}

/**
 * Pushes a minimal OCI image (one config blob, no layers) whose config carries `seed`, so every seed
 * gives another digest. Returns `<registry>/<repo>@sha256:…` — an image by digest, as the build stage
 * hands it to deploy.
 */
export async function pushImage(registry: string, repo: string, seed: string): Promise<string> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { seed } },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const configDigest = await pushBlob(registry, repo, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [],
    }),
  );
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  await check(
    await fetch(`http://${registry}/v2/${repo}/manifests/${seed}`, {
      method: 'PUT',
      body: new Uint8Array(manifest),
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    }),
    'put manifest',
  );
  return `${registry}/${repo}@${digest}`;
}

export function functionSpec(name: string, overrides: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    name,
    directory: `functions/${name}`,
    runtime: 'go',
    watchdog: 'classic',
    env: {},
    secrets: [],
    scale: {},
    timeoutSeconds: 30,
    resources: {},
    visibility: 'public',
    ...overrides,
  };
}
