/**
 * A small client for the distribution API v2 (https://distribution.github.io/distribution/spec/api/):
 * does `<registry>/<repo>:<tag>` exist, and what is its digest. Authentication the way registries
 * ask for it: anonymous first, then on 401 the WWW-Authenticate challenge decides — Basic (htpasswd
 * registries) or Bearer (GHCR, Docker Hub, GitLab, Harbor: a token from the realm, for the scope
 * `repository:<name>:pull`). Credentials are only ever sent to the registry they belong to and to its
 * token realm.
 */
import { describeError } from '../util/errors.js';
import { createHash } from 'node:crypto';
import { isPlainHttp, parseImageReference, type ImageReference } from './image-ref.js';

export interface RegistryCredentials {
  username: string;
  password: string;
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export type RegistryErrorKind = 'auth' | 'unreachable' | 'protocol';

/** A registry answer the build cannot go on with; `kind` says whose problem it is. */
export class RegistryError extends Error {
  override name = 'RegistryError';
  readonly kind: RegistryErrorKind;
  readonly status: number | undefined;

  constructor(kind: RegistryErrorKind, message: string, status?: number) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate header (RFC 7235): one or more `Scheme k=v, k="quoted, value"` challenges.
 * Scheme names are lowercased; parameter names too.
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (re: RegExp): void => {
    while (i < header.length && re.test(header[i] ?? '')) i++;
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const scheme = /^[!#$%&'*+.^_`|~\w-]+/.exec(header.slice(i))?.[0];
    if (!scheme) break;
    i += scheme.length;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      const rest = header.slice(i);
      const param = /^([!#$%&'*+.^_`|~\w-]+)\s*=\s*/.exec(rest);
      if (!param) break;
      // "Basic realm=x, Bearer realm=y": a token followed by a space and no "=" starts a new challenge.
      i += param[0].length;
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < header.length) i++;
          value += header.charAt(i);
          i++;
        }
        i++;
      } else {
        const token = /^[^\s,]*/.exec(header.slice(i))?.[0] ?? '';
        value = token;
        i += token.length;
      }
      challenge.params[(param[1] ?? '').toLowerCase()] = value;
    }
  }
  return challenges;
}

export interface RegistryClientOptions {
  /** Credentials by registry host (as written in image references, e.g. ghcr.io, 127.0.0.1:5001). */
  credentials?: Record<string, RegistryCredentials>;
  /** Hosts reached over plain HTTP besides loopback ones. */
  insecureRegistries?: readonly string[];
  /** Per request; default 15 s. */
  timeoutMs?: number;
}

interface CachedAuth {
  header: string;
  expiresAt: number;
}

export class RegistryClient {
  private readonly credentials: Record<string, RegistryCredentials>;
  private readonly insecure: readonly string[];
  private readonly timeoutMs: number;
  /** Authorization headers by `<apiHost> <scope>`; Basic entries never expire. */
  private readonly auth = new Map<string, CachedAuth>();

  constructor(options: RegistryClientOptions = {}) {
    this.credentials = options.credentials ?? {};
    this.insecure = options.insecureRegistries ?? [];
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  baseUrl(ref: ImageReference): string {
    return `${isPlainHttp(ref.registry, this.insecure) ? 'http' : 'https'}://${ref.apiHost}`;
  }

  /**
   * The digest of `image` (a tag or a digest reference), or undefined when the registry does not
   * have it. Throws RegistryError when the registry refuses the credentials, cannot be reached or
   * answers something else.
   */
  async manifestDigest(image: string, signal?: AbortSignal): Promise<string | undefined> {
    const ref = parseImageReference(image);
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const url = `${this.baseUrl(ref)}/v2/${ref.repository}/manifests/${reference}`;
    const scope = `repository:${ref.repository}:pull`;
    const head = await this.authorized(ref, scope, url, 'HEAD', signal);
    if (head.status === 404) return undefined;
    if (head.status === 200) {
      const digest = head.headers.get('docker-content-digest');
      if (digest && /^sha256:[0-9a-f]{64}$/.test(digest)) return digest;
      // Some registries leave the header out of HEAD answers: hash the manifest bytes instead.
      const get = await this.authorized(ref, scope, url, 'GET', signal);
      if (get.status === 404) return undefined;
      if (get.status !== 200) throw await this.unexpected(ref, get);
      return `sha256:${createHash('sha256')
        .update(Buffer.from(await get.arrayBuffer()))
        .digest('hex')}`;
    }
    // HEAD answers have no body; ask again with GET for the registry's error message.
    const detail = await this.authorized(ref, scope, url, 'GET', signal);
    if (detail.status === 404) return undefined;
    throw await this.unexpected(ref, detail);
  }

  private async unexpected(ref: ImageReference, res: Response): Promise<RegistryError> {
    const body = (await res.text().catch(() => '')).trim().slice(0, 300);
    const where = `${ref.registry}/${ref.repository}`;
    if (res.status === 401 || res.status === 403) {
      const user = this.credentials[ref.registry]?.username;
      return new RegistryError(
        'auth',
        user
          ? `Registry ${ref.registry} rejected the credentials of "${user}" for ${where} (HTTP ${res.status}${body ? `: ${body}` : ''}).`
          : `Registry ${ref.registry} needs credentials for ${where} (HTTP ${res.status}); set registry-username and registry-password.`,
        res.status,
      );
    }
    return new RegistryError(
      'protocol',
      `Registry ${ref.registry} answered HTTP ${res.status} for ${where}${body ? `: ${body}` : ''}.`,
      res.status,
    );
  }

  private async send(
    ref: ImageReference,
    url: string,
    init: RequestInit,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      return await fetch(url, {
        ...init,
        redirect: 'follow',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      if (timeout.aborted) {
        throw new RegistryError(
          'unreachable',
          `Registry ${ref.registry} did not answer within ${Math.round(this.timeoutMs / 1000)} s (${new URL(url).origin}).`,
        );
      }
      throw new RegistryError(
        'unreachable',
        `Registry ${ref.registry} is unreachable at ${new URL(url).origin}: ${describeError(error)}.`,
      );
    }
  }

  /** One request with whatever authorization the registry asks for (at most one challenge round). */
  private async authorized(
    ref: ImageReference,
    scope: string,
    url: string,
    method: 'HEAD' | 'GET',
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const key = `${ref.apiHost} ${scope}`;
    const cached = this.auth.get(key) ?? this.auth.get(`${ref.apiHost} *`);
    const headers: Record<string, string> = { Accept: MANIFEST_ACCEPT };
    if (cached && cached.expiresAt > Date.now()) headers['Authorization'] = cached.header;
    const first = await this.send(ref, url, { method, headers }, signal);
    if (first.status !== 401) return first;
    await first.arrayBuffer().catch(() => undefined);
    const header = await this.answerChallenge(
      ref,
      scope,
      first.headers.get('www-authenticate') ?? '',
      signal,
    );
    if (header === undefined) return this.send(ref, url, { method, headers }, signal);
    return this.send(ref, url, { method, headers: { ...headers, Authorization: header } }, signal);
  }

  /** The Authorization header for a 401's challenge, cached; undefined when there is nothing to send. */
  private async answerChallenge(
    ref: ImageReference,
    scope: string,
    header: string,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const challenges = parseChallenges(header);
    const creds = this.credentials[ref.registry];
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      const token = await this.fetchToken(ref, bearer, scope, creds, signal);
      this.auth.set(`${ref.apiHost} ${scope}`, {
        header: `Bearer ${token.token}`,
        // Renew a little early; registries default to 60 s when they do not say.
        expiresAt: Date.now() + Math.max(10, token.expiresIn - 10) * 1000,
      });
      return `Bearer ${token.token}`;
    }
    if (challenges.some((c) => c.scheme === 'basic') && creds) {
      const value = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      this.auth.set(`${ref.apiHost} *`, { header: value, expiresAt: Number.POSITIVE_INFINITY });
      return value;
    }
    return undefined;
  }

  private async fetchToken(
    ref: ImageReference,
    challenge: Challenge,
    scope: string,
    creds: RegistryCredentials | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ token: string; expiresIn: number }> {
    const realm = challenge.params['realm'];
    if (!realm) {
      throw new RegistryError(
        'protocol',
        `Registry ${ref.registry} sent a Bearer challenge without a realm.`,
      );
    }
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError('protocol', `Registry ${ref.registry} sent an invalid token realm "${realm}".`);
    }
    if (challenge.params['service']) url.searchParams.set('service', challenge.params['service']);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { Accept: 'application/json' };
    // Credentials go to the realm only over TLS, or to a loopback realm of a loopback registry.
    const realmSafe =
      url.protocol === 'https:' ||
      (isPlainHttp(ref.registry, this.insecure) && isPlainHttp(url.host, this.insecure));
    if (creds && realmSafe) {
      headers['Authorization'] =
        `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    const res = await this.send(ref, url.toString(), { method: 'GET', headers }, signal);
    const text = await res.text().catch(() => '');
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(
        'auth',
        creds
          ? `Registry ${ref.registry} rejected the credentials of "${creds.username}": its token service ${url.origin}${url.pathname} answered HTTP ${res.status} for scope ${scope}.`
          : `Registry ${ref.registry} needs credentials: its token service answered HTTP ${res.status} for scope ${scope}; set registry-username and registry-password.`,
        res.status,
      );
    }
    if (res.status !== 200) {
      throw new RegistryError(
        'protocol',
        `Token service of registry ${ref.registry} answered HTTP ${res.status}: ${text.slice(0, 200)}`,
        res.status,
      );
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new RegistryError('protocol', `Token service of registry ${ref.registry} answered with no JSON.`);
    }
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryError(
        'protocol',
        `Token service of registry ${ref.registry} answered without a token.`,
      );
    }
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    return { token, expiresIn };
  }
}
