// The post step's cleanup through its seams: the exact requests to the API server (a local server
// that records them) and the exact docker argv (a recording CommandRunner); what it cannot remove is a
// warning, never a throw. The integration test runs it against the real API server after a SIGTERM.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeHttp } from '../../../src/kube/http.js';
import type { KubeConnection } from '../../../src/kube/index.js';
import { cleanupRun } from '../../../src/post/cleanup.js';
import type { CommandResult, CommandRunner } from '../../../src/util/exec.js';

class Runner implements CommandRunner {
  readonly calls: string[][] = [];
  private readonly answer: (args: readonly string[]) => CommandResult | Error;
  constructor(answer: (args: readonly string[]) => CommandResult | Error) {
    this.answer = answer;
  }
  run(command: string, args: readonly string[]): Promise<CommandResult> {
    this.calls.push([command, ...args]);
    const answer = this.answer(args);
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  }
}

const ok = (stdout = ''): CommandResult => ({ exitCode: 0, stdout, stderr: '' });

let server: http.Server;
let kube: KubeConnection;
const requests: string[] = [];
let answer: (method: string, url: URL) => { status: number; body: unknown } = () => ({
  status: 200,
  body: {},
});
let work = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push(
        `${req.method ?? ''} ${url.pathname}${url.search}${req.method === 'PATCH' ? ` ${body}` : ''}`,
      );
      const a = answer(req.method ?? '', url);
      res.writeHead(a.status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const httpClient = new KubeHttp({
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    authenticate: () => Promise.resolve(),
    retry: { attempts: 1 },
  });
  kube = {
    server: httpClient.server,
    user: 'u',
    source: 'test',
    http: httpClient,
    close: () => Promise.resolve(),
  };
  work = await mkdtemp(path.join(tmpdir(), 'faas-cleanup-unit-'));
});
afterAll(async () => {
  kube.http.close();
  server.close();
  await rm(work, { recursive: true, force: true });
});

async function runTemp(): Promise<string> {
  const dir = path.join(work, `run-${requests.length}-${Date.now()}`);
  await mkdir(path.join(dir, 'faas-deploy-kube-x'), { recursive: true });
  await writeFile(path.join(dir, 'faas-deploy-kube-x', 'kubeconfig'), 'token: x');
  return dir;
}

describe('cleanupRun', () => {
  it('cancels and deletes the run’s unfinished TaskRuns, deletes its ConfigMaps and Secrets by label, its containers, its temp dir', async () => {
    requests.length = 0;
    answer = (method, url) => {
      if (method === 'GET') {
        return {
          status: 200,
          body: {
            items: [
              {
                metadata: { name: 'fn-build-1', uid: 'u1' },
                status: { conditions: [{ type: 'Succeeded', status: 'Unknown' }] },
              },
              {
                metadata: { name: 'fn-build-2', uid: 'u2' },
                status: { conditions: [{ type: 'Succeeded', status: 'True' }] },
              },
            ],
          },
        };
      }
      if (method === 'DELETE' && url.pathname.endsWith('/configmaps'))
        return { status: 200, body: { items: [{ metadata: { name: 'fn-build-1-context' } }] } };
      return { status: 200, body: { items: [] } };
    };
    const runner = new Runner((args) => (args[0] === 'ps' ? ok('c0ffee\nbeef\n') : ok()));
    const lines: string[] = [];
    const warnings: string[] = [];
    const tempDir = await runTemp();
    await cleanupRun(
      { namespace: 'ns', runId: 'run-7', tempDir },
      { kube, runner, log: (m) => lines.push(m), warn: (m) => warnings.push(m) },
    );
    const selector = 'labelSelector=faas-deploy.dev%2Frun%3Drun-7';
    expect(requests).toEqual([
      `GET /apis/tekton.dev/v1/namespaces/ns/taskruns?${selector}`,
      'PATCH /apis/tekton.dev/v1/namespaces/ns/taskruns/fn-build-1 {"spec":{"status":"TaskRunCancelled","statusMessage":"The faas-deploy run was cancelled."}}',
      'DELETE /apis/tekton.dev/v1/namespaces/ns/taskruns/fn-build-1',
      'DELETE /apis/tekton.dev/v1/namespaces/ns/taskruns/fn-build-2',
      `DELETE /api/v1/namespaces/ns/configmaps?${selector}`,
      `DELETE /api/v1/namespaces/ns/secrets?${selector}`,
    ]);
    expect(runner.calls).toEqual([
      ['docker', 'ps', '-aq', '--filter', 'label=faas-deploy.dev/run=run-7'],
      ['docker', 'rm', '-f', 'c0ffee', 'beef'],
    ]);
    expect(existsSync(tempDir)).toBe(false);
    expect(warnings).toEqual([]);
    expect(lines).toContain('Cleanup: deleted configmaps ns/fn-build-1-context');
  });

  it('warns for what it cannot remove and carries on: a refused API, a failing docker rm', async () => {
    requests.length = 0;
    answer = () => ({
      status: 403,
      body: {
        kind: 'Status',
        code: 403,
        message: 'User "x" cannot list resource "taskruns" in API group "tekton.dev" in the namespace "ns"',
      },
    });
    const runner = new Runner((args) =>
      args[0] === 'ps' ? ok('c0ffee\n') : { exitCode: 1, stdout: '', stderr: 'Error: device busy' },
    );
    const warnings: string[] = [];
    const tempDir = await runTemp();
    await cleanupRun(
      { namespace: 'ns', runId: 'run-8', tempDir },
      { kube, runner, log: () => undefined, warn: (m) => warnings.push(m) },
    );
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toMatch(
      /^Cleanup: cannot list the TaskRuns .* Kubernetes refused to list taskruns\.tekton\.dev/,
    );
    expect(warnings[1]).toMatch(
      /^Cleanup: could not delete the configmaps labelled faas-deploy\.dev\/run=run-8 .*403/,
    );
    expect(warnings[3]).toBe('Cleanup: could not remove kaniko containers c0ffee: Error: device busy');
    expect(existsSync(tempDir)).toBe(false);
  });

  it('without a cluster or a docker CLI it removes the temp dir only; a malformed run id touches nothing outside it', async () => {
    requests.length = 0;
    const noDocker = new Runner(() => Object.assign(new Error('spawn docker ENOENT'), { code: 'ENOENT' }));
    const warnings: string[] = [];
    const tempDir = await runTemp();
    await cleanupRun(
      { namespace: 'ns', runId: 'run-9', tempDir },
      { runner: noDocker, log: () => undefined, warn: (m) => warnings.push(m) },
    );
    expect(noDocker.calls).toHaveLength(1);
    expect(warnings).toEqual([]);
    expect(existsSync(tempDir)).toBe(false);

    const runner = new Runner(() => ok());
    const other = await runTemp();
    await cleanupRun(
      { namespace: 'ns', runId: '', tempDir: other },
      { kube, runner, log: () => undefined, warn: (m) => warnings.push(m) },
    );
    expect(requests).toEqual([]);
    expect(runner.calls).toEqual([]);
    expect(warnings).toEqual(['Cleanup skipped: the saved run id "" is not a label value.']);
    expect(existsSync(other)).toBe(false);
  });
});
