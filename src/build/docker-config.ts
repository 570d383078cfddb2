/**
 * The docker config.json kaniko reads its registry credentials from. Written into a private directory
 * (0700, file 0600) of the runner's temp dir, every derived value masked first, removed by the caller
 * in a finally and, should the process die first, at exit.
 */
import { existsSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { dockerConfigKey } from './image-ref.js';
import type { RegistryCredentials } from './registry.js';

/** The config.json text for credentials by registry host, and the values derived from the secrets. */
export function dockerConfigJson(credentials: Record<string, RegistryCredentials>): {
  json: string;
  secrets: string[];
} {
  const auths: Record<string, { auth: string }> = {};
  const secrets: string[] = [];
  for (const [host, creds] of Object.entries(credentials)) {
    const auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
    auths[dockerConfigKey(host)] = { auth };
    secrets.push(creds.password, auth);
  }
  const json = JSON.stringify({ auths });
  // The whole file, base64'd, is what a Kubernetes Secret carries in .dockerconfigjson.
  secrets.push(Buffer.from(json).toString('base64'));
  return { json, secrets };
}

export interface DockerConfigDir {
  /** The directory to point DOCKER_CONFIG at (holds config.json). */
  dir: string;
  /** Removes the directory; safe to call twice. */
  remove(): Promise<void>;
}

/**
 * Writes config.json into `<tempDir>/faas-deploy-docker-XXXXXX/`. `mask` receives every secret and
 * derived value before the file exists.
 */
export async function writeDockerConfig(
  tempDir: string,
  credentials: Record<string, RegistryCredentials>,
  mask: (value: string) => void,
): Promise<DockerConfigDir> {
  const { json, secrets } = dockerConfigJson(credentials);
  for (const value of secrets) if (value !== '') mask(value);
  const dir = await mkdtemp(path.join(tempDir, 'faas-deploy-docker-'));
  const onExit = (): void => {
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  await chmod(dir, 0o700);
  await writeFile(path.join(dir, 'config.json'), json, { mode: 0o600, flag: 'wx' });
  return {
    dir,
    async remove() {
      process.removeListener('exit', onExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
