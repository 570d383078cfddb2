/**
 * Image references as the distribution API sees them: which host to talk to, over which scheme, and
 * the repository path. `docker.io` names are normalised the way the Docker CLI does (a one-part name
 * is `library/<name>`, the API host is registry-1.docker.io).
 */
export interface ImageReference {
  /** Host (and port) as written, e.g. ghcr.io, 127.0.0.1:5001, docker.io. */
  registry: string;
  /** Host the distribution API answers on (registry-1.docker.io for docker.io). */
  apiHost: string;
  /** Repository path inside the registry, e.g. my-org/echo. */
  repository: string;
  tag?: string;
  digest?: string;
}

const DOCKER_HUB = 'docker.io';

function isRegistryHost(part: string): boolean {
  return part.includes('.') || part.includes(':') || part === 'localhost';
}

/** Splits `<registry>/<repo>[:tag][@digest]`; a name without a registry host is on docker.io. */
export function parseImageReference(reference: string): ImageReference {
  let rest = reference.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  if (parts.length > 1 && isRegistryHost(parts[0] ?? '')) registry = parts.shift() ?? DOCKER_HUB;
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  let repository = parts.join('/');
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (
    repository === '' ||
    !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)
  ) {
    throw new Error(`"${reference}" is not a valid image reference (repository "${repository}").`);
  }
  if (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag)) {
    throw new Error(`"${reference}" is not a valid image reference (tag "${tag}").`);
  }
  if (digest !== undefined && !/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/.test(digest)) {
    throw new Error(`"${reference}" is not a valid image reference (digest "${digest}").`);
  }
  return {
    registry,
    apiHost: registry === DOCKER_HUB ? 'registry-1.docker.io' : registry,
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** The host part of a registry prefix such as `ghcr.io/my-org` or `127.0.0.1:5000/team`. */
export function registryHost(registryPrefix: string): string {
  const first = registryPrefix.split('/')[0] ?? '';
  return isRegistryHost(first) ? first : DOCKER_HUB;
}

/** Loopback registries speak plain HTTP (as Docker and go-containerregistry assume); others HTTPS unless listed. */
export function isPlainHttp(host: string, insecureRegistries: readonly string[] = []): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name)) return true;
  return insecureRegistries.includes(host) || insecureRegistries.includes(name);
}

/** `<registry>/<repo>@sha256:…`: the immutable reference the deploy stage puts into the Service. */
export function digestReference(image: string, digest: string): string {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const lastSlash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  const repo = colon > lastSlash ? base.slice(0, colon) : base;
  return `${repo}@${digest}`;
}

/** The key docker's config.json uses for a registry host. */
export function dockerConfigKey(host: string): string {
  return host === DOCKER_HUB ? 'https://index.docker.io/v1/' : host;
}
