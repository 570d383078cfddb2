// Where the cluster credentials come from: input `kubeconfig` (YAML or base64 of it), else
// KUBECONFIG, else the pod's ServiceAccount (in-cluster). Every credential is handed to the runner's
// masking (core.setSecret) the moment it is read, before anything else happens; the file written for
// the input is 0600 inside a private directory of the runner's temp dir, removed when the connection
// closes. @kubernetes/client-node's KubeConfig does the credential handling (tokens, client
// certificates, exec plugins, in-cluster) and is loaded here, on first use.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { load } from 'js-yaml';
import { describeError, UserError } from '../util/errors.js';

/** Keys of a kubeconfig user whose values are credentials. */
const SECRET_USER_KEYS = ['token', 'password', 'client-key-data'];
/** auth-provider config keys that hold credentials (oidc, gcp, azure…). */
const SECRET_PROVIDER_KEY = /token|secret|password|key/i;

/**
 * Decodes the input: plain YAML, or base64 of it (what `base64 -w0 ~/.kube/config` gives, the usual
 * way to store a kubeconfig in a repository secret). Errors never quote the content.
 */
export function decodeKubeconfigInput(raw: string): string {
  const text = raw.trim();
  if (text === '') throw new UserError('Input "kubeconfig" is empty.');
  if (!text.includes(':') && /^[A-Za-z0-9+/=_\s-]+$/.test(text)) {
    const decoded = Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (looksLikeKubeconfig(decoded)) return decoded;
    throw new UserError(
      'Input "kubeconfig" looks like base64 but does not decode to a kubeconfig (YAML with clusters and users).',
    );
  }
  if (!looksLikeKubeconfig(text)) {
    throw new UserError(
      'Input "kubeconfig" must be a kubeconfig file (YAML with clusters and users) or base64 of one.',
    );
  }
  return text;
}

function looksLikeKubeconfig(text: string): boolean {
  try {
    const doc = load(text);
    return typeof doc === 'object' && doc !== null && 'clusters' in doc;
  } catch {
    return false;
  }
}

/**
 * Every credential in a kubeconfig: user tokens, passwords, client keys (base64 and the decoded PEM's
 * lines), auth-provider tokens and secrets, exec plugin environment values. The caller masks them.
 */
export function kubeconfigSecrets(text: string): string[] {
  const doc = load(text) as { users?: Array<{ user?: Record<string, unknown> }> } | null;
  const found = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value.trim().length >= 4) found.add(value.trim());
  };
  for (const entry of doc?.users ?? []) {
    const user = entry.user ?? {};
    for (const key of SECRET_USER_KEYS) add(user[key]);
    const keyData = user['client-key-data'];
    if (typeof keyData === 'string') {
      // The decoded PEM would show up line by line if anything ever printed it.
      for (const line of Buffer.from(keyData, 'base64').toString('utf8').split('\n')) {
        if (!line.startsWith('-----')) add(line);
      }
    }
    const provider = user['auth-provider'] as { config?: Record<string, unknown> } | undefined;
    for (const [key, value] of Object.entries(provider?.config ?? {})) {
      if (SECRET_PROVIDER_KEY.test(key)) add(value);
    }
    const exec = user['exec'] as { env?: Array<{ value?: unknown }> } | undefined;
    for (const env of exec?.env ?? []) add(env.value);
  }
  return [...found];
}

export interface KubeconfigFile {
  path: string;
  /** Removes the file and its directory; safe to call twice. */
  remove(): Promise<void>;
}

/**
 * Writes the kubeconfig to `<tempDir>/faas-deploy-kube-XXXXXX/kubeconfig`, directory 0700 and file
 * 0600 (never readable by other users of a shared runner). Also removed at process exit in case the
 * run dies before it closes the cluster.
 */
export async function writeKubeconfigFile(tempDir: string, text: string): Promise<KubeconfigFile> {
  const dir = await mkdtemp(path.join(tempDir, 'faas-deploy-kube-'));
  await chmod(dir, 0o700);
  const file = path.join(dir, 'kubeconfig');
  await writeFile(file, text, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  const onExit = (): void => {
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return {
    path: file,
    async remove() {
      process.removeListener('exit', onExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export type KubeConfigInstance = InstanceType<typeof import('@kubernetes/client-node').KubeConfig>;

export interface LoadedKubeConfig {
  kc: KubeConfigInstance;
  /** The file written for input `kubeconfig`; absent for KUBECONFIG and in-cluster. */
  file?: KubeconfigFile;
  /** Where the credentials came from, for the log: 'input "kubeconfig"', 'KUBECONFIG', … */
  source: string;
}

export interface KubeconfigSource {
  /** Input `kubeconfig`; '' when not given. */
  kubeconfig: string;
  tempDir: string;
  secret: (value: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Loads the credentials: input `kubeconfig` → KUBECONFIG (files merged, first wins) → in-cluster. */
export async function loadKubeConfig(options: KubeconfigSource): Promise<LoadedKubeConfig> {
  if (options.kubeconfig.trim() !== '') {
    options.secret(options.kubeconfig);
    const text = decodeKubeconfigInput(options.kubeconfig);
    for (const value of kubeconfigSecrets(text)) options.secret(value);
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    const file = await writeKubeconfigFile(options.tempDir, text);
    try {
      kc.loadFromFile(file.path);
    } catch (error) {
      await file.remove();
      throw new UserError(`Input "kubeconfig" could not be loaded: ${describeError(error)}`);
    }
    return { kc, file, source: 'input "kubeconfig"' };
  }
  const files = (options.env['KUBECONFIG'] ?? '').split(path.delimiter).filter((f) => f !== '');
  if (files.length > 0) {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    let loaded = 0;
    for (const f of files) {
      if (!existsSync(f)) continue;
      for (const value of kubeconfigSecrets(readFileSync(f, 'utf8'))) options.secret(value);
      if (loaded === 0) kc.loadFromFile(f);
      else {
        const more = new KubeConfig();
        more.loadFromFile(f);
        kc.mergeConfig(more, true);
      }
      loaded++;
    }
    if (loaded === 0) throw new UserError(`KUBECONFIG names no existing file (${files.join(', ')}).`);
    return { kc, source: 'KUBECONFIG' };
  }
  if (options.env['KUBERNETES_SERVICE_HOST'] && existsSync(IN_CLUSTER_TOKEN)) {
    options.secret(readFileSync(IN_CLUSTER_TOKEN, 'utf8').trim());
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromCluster();
    return { kc, source: 'in-cluster ServiceAccount' };
  }
  throw new UserError(
    'No cluster credentials: set input "kubeconfig" (the file or base64 of it), or KUBECONFIG, or run the job in a ' +
      'pod with a ServiceAccount (in-cluster).',
  );
}
