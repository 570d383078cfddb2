// A connection to the cluster: the credentials (src/kube/kubeconfig.ts) and one HTTP client over
// them. The deploy stage and the Tekton builder take the KubeConnection main opens; main closes it
// once both are done.
import { UserError } from '../util/errors.js';
import { KubeHttp, type RetryPolicy } from './http.js';
import { loadKubeConfig } from './kubeconfig.js';

export interface KubeConnectOptions {
  /** Input `kubeconfig`: YAML or base64; '' when not given. */
  kubeconfig: string;
  /** Where the kubeconfig file goes (a private directory inside it): the run's temp dir. */
  tempDir: string;
  /** Masks a value in the log (core.setSecret); called with every credential before it is used. */
  secret(value: string): void;
  /** Environment for KUBECONFIG and in-cluster detection (default process.env). */
  env?: NodeJS.ProcessEnv;
  retry?: Partial<RetryPolicy>;
  /** Debug lines (retries). */
  log?(message: string): void;
}

export interface KubeConnection {
  /** API server URL of the current context. */
  readonly server: string;
  /** The kubeconfig user the requests run as. */
  readonly user: string;
  /** Where the credentials came from: 'input "kubeconfig"', 'KUBECONFIG', 'in-cluster ServiceAccount'. */
  readonly source: string;
  readonly http: KubeHttp;
  /** Closes the connections and removes the kubeconfig file; safe to call twice. */
  close(): Promise<void>;
}

export async function connectKube(options: KubeConnectOptions): Promise<KubeConnection> {
  const masked = new Set<string>();
  const secret = (value: string): void => {
    if (value === '' || masked.has(value)) return;
    masked.add(value);
    options.secret(value);
  };
  const { kc, file, source } = await loadKubeConfig({
    kubeconfig: options.kubeconfig,
    tempDir: options.tempDir,
    secret,
    env: options.env ?? process.env,
  });
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    await file?.remove();
    throw new UserError(`The kubeconfig from ${source} has no current context with a cluster.`);
  }
  const http = new KubeHttp({
    server: cluster.server,
    authenticate: async (o) => {
      await kc.applyToHTTPSOptions(o);
    },
    keepAuthenticatorAgent: Boolean(cluster.proxyUrl),
    onCredential: secret,
    ...(options.retry ? { retry: options.retry } : {}),
    log: (message) => {
      options.log?.(message);
    },
  });
  let closed: Promise<void> | undefined;
  return {
    server: http.server,
    user: kc.getCurrentUser()?.name ?? 'unknown user',
    source,
    http,
    close() {
      closed ??= (async () => {
        http.close();
        await file?.remove();
      })();
      return closed;
    },
  };
}
