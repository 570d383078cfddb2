// Smoke tests of the container half of the test environment (scripts/test-env/containers.sh): the real
// Docker engine, the two local registries (anonymous and basic auth) and the base images, including
// the kaniko executor image building and pushing a function the way the action's kaniko builder does.
import { execFile, type ExecFileOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../test/support/net.ts';

const env = inject('testEnv');

function need(key: string): string {
  const v = env[key];
  if (!v) throw new Error(`${key} is missing from the test environment (scripts/test-env/test-env env)`);
  return v;
}

const registry = need('REGISTRY');
const authRegistry = need('REGISTRY_AUTH');
const authUser = need('REGISTRY_AUTH_USER');
const authPassword = need('REGISTRY_AUTH_PASSWORD');
const images = {
  classicWatchdog: need('IMAGE_CLASSIC_WATCHDOG'),
  ofWatchdog: need('IMAGE_OF_WATCHDOG'),
  goBuilder: need('IMAGE_GO_BUILDER'),
  runtime: need('IMAGE_RUNTIME'),
  node: need('IMAGE_NODE'),
  python: need('IMAGE_PYTHON'),
  kaniko: need('IMAGE_KANIKO'),
};
const suffix = randomBytes(4).toString('hex');
const basicAuth = `Basic ${Buffer.from(`${authUser}:${authPassword}`).toString('base64')}`;
const manifestAccept = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
].join(',');

let work = '';
let dockerConfig = '';
const containers: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], opts: ExecFileOptions = {}, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { maxBuffer: 64 << 20, ...opts, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

// docker with the environment's engine and a throw-away client config (logins stay out of ~/.docker).
async function docker(args: string[], opts: { input?: string; allowFail?: boolean } = {}): Promise<Run> {
  const env = {
    ...process.env,
    DOCKER_HOST: need('DOCKER_HOST'),
    DOCKER_CONFIG: dockerConfig,
    DOCKER_BUILDKIT: '0',
  };
  const r = await run('docker', args, { env }, opts.input);
  if (r.code !== 0 && !opts.allowFail) {
    throw new Error(`docker ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
  }
  return r;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

// Runs an image as a watchdog container on a free host port and returns the function's URL.
async function startFunction(image: string): Promise<{ url: string; name: string }> {
  const port = await freePort();
  const name = `smoke-fn-${suffix}-${port}`;
  await docker(['run', '-d', '--name', name, '--network', 'host', '-e', `port=${port}`, image]);
  containers.push(name);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/_/health`);
      if (res.status === 200) return { url, name };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const logs = await docker(['logs', name], { allowFail: true });
      throw new Error(`function ${image} not healthy on ${url} after 30s\n${logs.stdout}${logs.stderr}`);
    }
    await sleep(200);
  }
}

const echoMain = `package main

import (
	"io"
	"os"
)

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		os.Exit(1)
	}
	os.Stdout.Write(in)
}
`;

// Multi-stage build with the classic watchdog, the way the Go template lays a function out. The build
// stage runs as nobody to prove the builder image supports non-root builds.
const echoDockerfile = `ARG GO_BUILDER
ARG WATCHDOG
ARG RUNTIME
FROM \${WATCHDOG} AS watchdog
FROM \${GO_BUILDER} AS build
WORKDIR /src
COPY go.mod main.go ./
USER 65534
RUN go build -o /tmp/handler .

FROM \${RUNTIME}
COPY --from=watchdog /fwatchdog /usr/bin/fwatchdog
COPY --from=build /tmp/handler /usr/bin/handler
ENV fprocess=/usr/bin/handler combine_output=false port=8080
USER 65534
EXPOSE 8080
CMD ["/usr/bin/fwatchdog"]
`;

const buildArgs = [
  `GO_BUILDER=${images.goBuilder}`,
  `WATCHDOG=${images.classicWatchdog}`,
  `RUNTIME=${images.runtime}`,
];
const body = '{"Name": "Foo"}';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'faas-containers-smoke-'));
  dockerConfig = join(work, 'docker-config');
  await run('mkdir', ['-p', dockerConfig, join(work, 'echo'), join(work, 'kaniko-out')]);
  await writeFile(join(work, 'echo', 'main.go'), echoMain);
  await writeFile(join(work, 'echo', 'go.mod'), 'module example.com/echo\n\ngo 1.26\n');
  await writeFile(join(work, 'echo', 'Dockerfile'), echoDockerfile);
});

afterAll(async () => {
  for (const name of containers) await docker(['rm', '-f', name], { allowFail: true });
  if (work) await rm(work, { recursive: true, force: true });
});

describe('docker engine and base images', () => {
  it('serves the engine on the unix socket with no bridge network', async () => {
    const info = await docker([
      'info',
      '--format',
      '{{.ServerVersion}} {{json .RegistryConfig.IndexConfigs}}',
    ]);
    expect(info.stdout).toContain(authRegistry);
    const nets = await docker(['network', 'ls', '--format', '{{.Name}}']);
    expect(nets.stdout.split('\n')).not.toContain('bridge');
  });

  it('has a runtime image with busybox, CA certificates, /tmp 1777 and nobody 65534', async () => {
    const r = await docker([
      'run', '--rm', '--network', 'host', images.runtime, 'sh', '-c',
      'stat -c %a /tmp; grep ^nobody: /etc/passwd | cut -d: -f3; test -s /etc/ssl/certs/ca-certificates.crt && echo certs; which wget',
    ]); // prettier-ignore
    expect(r.stdout.split('\n')).toEqual(['1777', '65534', 'certs', '/usr/bin/wget', '']);
  });

  it('has a Go builder usable by a non-root user', async () => {
    const r = await docker([
      'run',
      '--rm',
      '--user',
      '65534',
      images.goBuilder,
      'go',
      'env',
      'GOVERSION',
      'GOPATH',
    ]);
    expect(r.stdout).toMatch(/^go1\.26\.\d+\n\/go\n$/);
  });

  it('has node with npm and python with pip', async () => {
    const node = await docker(['run', '--rm', images.node, 'sh', '-c', 'node --version && npm --version']);
    expect(node.stdout).toMatch(/^v24\.\d+\.\d+\n\d+\.\d+\.\d+\n$/);
    const py = await docker(['run', '--rm', images.python, 'sh', '-c', 'python3 --version && pip --version']);
    expect(py.stdout).toMatch(/^Python 3\.\d+\.\d+\npip \d+/);
  });

  it('has watchdog images with /fwatchdog and a kaniko executor image laid out like upstream', async () => {
    for (const image of [images.classicWatchdog, images.ofWatchdog]) {
      const r = await docker(['run', '--rm', image, '-version']);
      expect(r.stdout + r.stderr).toMatch(/Version: \d+\.\d+\.\d+/);
    }
    await docker(['pull', images.kaniko]);
    const k = await docker(['image', 'inspect', '--format', '{{json .Config}}', images.kaniko]);
    const cfg = JSON.parse(k.stdout) as { Entrypoint: string[]; Env: string[]; WorkingDir: string };
    expect(cfg.Entrypoint).toEqual(['/kaniko/executor']);
    expect(cfg.WorkingDir).toBe('/workspace');
    expect(cfg.Env).toEqual(
      expect.arrayContaining([
        'HOME=/root',
        'USER=root',
        'SSL_CERT_DIR=/kaniko/ssl/certs',
        'DOCKER_CONFIG=/kaniko/.docker/',
        'DOCKER_CREDENTIAL_GCR_CONFIG=/kaniko/.config/gcloud/docker_credential_gcr_config.json',
      ]),
    );
    const v = await docker(['run', '--rm', images.kaniko, 'version']);
    expect(v.stdout).toContain('v1.24.0');
  });
});

describe('registries', () => {
  it('(c) the auth registry takes a push and a pull with credentials and refuses anonymous ones with 401', async () => {
    const ref = `${authRegistry}/smoke/auth-check:${suffix}`;
    await docker(['pull', images.runtime]);
    await docker(['tag', images.runtime, ref]);

    // Anonymous: the API says 401 with a Basic challenge, and docker push is refused.
    const anonV2 = await fetch(`http://${authRegistry}/v2/`);
    expect(anonV2.status).toBe(401);
    expect(anonV2.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const anonPush = await docker(['push', ref], { allowFail: true });
    expect(anonPush.code).not.toBe(0);
    expect(anonPush.stderr).toMatch(/no basic auth credentials|unauthorized|401/i);

    await docker(['login', '--username', authUser, '--password-stdin', authRegistry], {
      input: authPassword,
    });
    const pushed = await docker(['push', ref]);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
    expect(digest).toBeDefined();
    await docker(['rmi', ref]);
    const pulled = await docker(['pull', ref]);
    expect(pulled.stdout).toContain(digest);

    const anonManifest = await fetch(`http://${authRegistry}/v2/smoke/auth-check/manifests/${suffix}`, {
      headers: { Accept: manifestAccept },
    });
    expect(anonManifest.status).toBe(401);
    const authManifest = await fetch(`http://${authRegistry}/v2/smoke/auth-check/manifests/${suffix}`, {
      method: 'HEAD',
      headers: { Accept: manifestAccept, Authorization: basicAuth },
    });
    expect(authManifest.status).toBe(200);
    expect(authManifest.headers.get('docker-content-digest')).toBe(digest);

    await docker(['logout', authRegistry]);
    await docker(['rmi', ref]);
    const anonPull = await docker(['pull', ref], { allowFail: true });
    expect(anonPull.code).not.toBe(0);
    expect(anonPull.stderr).toMatch(/no basic auth credentials|unauthorized|401/i);
  });

  it('the anonymous registry has the base images under faas-base/', async () => {
    const res = await fetch(`http://${registry}/v2/faas-base/runtime/tags/list`);
    expect(res.status).toBe(200);
    const tags = ((await res.json()) as { tags: string[] }).tags;
    expect(tags).toContain(images.runtime.split(':').pop());
  });
});

describe('functions', () => {
  it('(d) builds the echo function with the Docker engine and answers a POST with the same body', async () => {
    const ref = `${registry}/smoke/echo-docker:${suffix}`;
    const args = ['build', '--network', 'host', '-t', ref];
    for (const a of buildArgs) args.push('--build-arg', a);
    await docker([...args, join(work, 'echo')]);
    const user = await docker(['image', 'inspect', '--format', '{{.Config.User}}', ref]);
    expect(user.stdout.trim()).toBe('65534');

    const fn = await startFunction(ref);
    const res = await fetch(fn.url, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(body);
  }, 600_000);

  it('runs a streaming function behind the of-watchdog image', async () => {
    const dir = join(work, 'of-echo');
    await run('mkdir', ['-p', dir]);
    await writeFile(
      join(dir, 'Dockerfile'),
      [
        'ARG WATCHDOG',
        'ARG RUNTIME',
        'FROM ${WATCHDOG} AS watchdog',
        'FROM ${RUNTIME}',
        'COPY --from=watchdog /fwatchdog /usr/bin/fwatchdog',
        'ENV fprocess=cat mode=streaming',
        'USER 65534',
        'CMD ["/usr/bin/fwatchdog"]',
        '',
      ].join('\n'),
    );
    const ref = `${registry}/smoke/of-echo:${suffix}`;
    await docker([
      'build', '--network', 'host', '-t', ref,
      '--build-arg', `WATCHDOG=${images.ofWatchdog}`, '--build-arg', `RUNTIME=${images.runtime}`, dir,
    ]); // prettier-ignore
    const fn = await startFunction(ref);
    const res = await fetch(fn.url, { method: 'POST', body });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(body);
  });

  it('(e) builds the echo function with the kaniko image, pushes it to the auth registry and runs it', async () => {
    const repo = 'smoke/echo-kaniko';
    const dest = `${authRegistry}/${repo}:${suffix}`;
    const configJson = join(work, 'kaniko-config.json');
    await writeFile(
      configJson,
      JSON.stringify({
        auths: { [authRegistry]: { auth: Buffer.from(`${authUser}:${authPassword}`).toString('base64') } },
      }),
    );
    const args = [
      'run', '--rm', '--network', 'host',
      '-v', `${join(work, 'echo')}:/workspace:ro`,
      '-v', `${configJson}:/kaniko/.docker/config.json:ro`,
      '-v', `${join(work, 'kaniko-out')}:/out`,
      images.kaniko,
      '--context', 'dir:///workspace', '--dockerfile', '/workspace/Dockerfile',
      '--destination', dest, '--insecure', '--insecure-registry', registry,
      '--digest-file', '/out/digest',
    ]; // prettier-ignore
    for (const a of buildArgs) args.push('--build-arg', a);
    await docker(args);
    const digest = await readFile(join(work, 'kaniko-out', 'digest'), 'utf8');
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const head = await fetch(`http://${authRegistry}/v2/${repo}/manifests/${suffix}`, {
      method: 'HEAD',
      headers: { Accept: manifestAccept, Authorization: basicAuth },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(digest);

    await docker(['login', '--username', authUser, '--password-stdin', authRegistry], {
      input: authPassword,
    });
    const fn = await startFunction(`${authRegistry}/${repo}@${digest}`);
    const res = await fetch(fn.url, { method: 'POST', body });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(body);
  }, 600_000);
});
