// Deploy benchmark (issue 7): N functions whose images are already in the registry, applied and
// waited for until every Service is Ready, on the test environment's real kube-apiserver with the
// Knative stand-in — faas-deploy's deploy stage (one shared watch, `concurrency` functions at once)
// against a sequential `kubectl apply --server-side` + `kubectl wait --for=condition=Ready` loop over
// the same rendered Services, both as the least-privilege deployer identity.
// Also: the delay from the stand-in writing Ready (its log line, written right after the status
// write returned) to the client noticing (faas-deploy: the watch event; kubectl: `kubectl wait` exiting).
//
// Needs the test environment up (scripts/test-env/test-env up). Usage:
//   node bench/deploy.mjs [sizes=1,10,50] [runs=3]     writes the section into docs/benchmarks.md
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { testEnvValues } from './test-env.mjs';
import { build } from 'esbuild';

const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

const testEnv = () =>
  testEnvValues(['KUBECONFIG_ADMIN', 'KUBECONFIG_DEPLOYER', 'KUBE_NAMESPACE', 'REGISTRY']);

/**
 * The deploy stage and the connection it runs on (src/kube), bundled as the action bundles them,
 * @kubernetes/client-node included (one ESM file). `connect` opens both, as main does; its close()
 * closes both.
 */
async function loadDeployStage() {
  const outfile = path.join(root, 'bench/out/deploy-stage.mjs');
  await build({
    absWorkingDir: root,
    stdin: {
      contents:
        "export { connectCluster, renderService } from './src/deploy/index.ts'; export { connectKube } from './src/kube/index.ts';",
      resolveDir: root,
      sourcefile: 'deploy-stage.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    // As scripts/build.mjs does: bundled CommonJS dependencies of client-node need require().
    banner: {
      js: "import { createRequire as __faasCreateRequire } from 'node:module'; const require = __faasCreateRequire(import.meta.url);",
    },
    outfile,
    logLevel: 'warning',
  });
  const stage = await import(`${outfile}?t=${Date.now()}`);
  return {
    renderService: stage.renderService,
    async connect({ kubeconfig, namespace, tempDir }) {
      const kube = await stage.connectKube({ kubeconfig, tempDir, secret: () => {} });
      const cluster = await stage.connectCluster(kube, { namespace });
      return Object.assign(Object.create(cluster), {
        async close() {
          await cluster.close();
          await kube.close();
        },
      });
    },
  };
}

async function pushImage(registry, repo, seed) {
  const put = async (url, body, type) => {
    const res = await fetch(url, { method: 'PUT', body, headers: { 'Content-Type': type } });
    if (!res.ok) throw new Error(`PUT ${url}: ${res.status}`);
  };
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { seed } },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const cdigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  const start = await fetch(`http://${registry}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(start.headers.get('location'), `http://${registry}`);
  loc.searchParams.set('digest', cdigest);
  await put(loc, config, 'application/octet-stream');
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cdigest, size: config.length },
      layers: [],
    }),
  );
  await put(
    `http://${registry}/v2/${repo}/manifests/${seed}`,
    manifest,
    'application/vnd.oci.image.manifest.v1+json',
  );
  return `${registry}/${repo}@sha256:${createHash('sha256').update(manifest).digest('hex')}`;
}

const spec = (name) => ({
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
});

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${out}`)),
    );
  });
}

/** name → time (ms) the stand-in logged "generation 1 -> Ready True" for it. */
function standinReadyTimes(logFile, from) {
  const times = new Map();
  const text = readFileSync(logFile, 'utf8').slice(from);
  for (const m of text.matchAll(
    /^(\S+) knative-serving-standin: [^/]+\/(\S+): generation \d+ -> Ready True/gm,
  )) {
    times.set(m[2], Date.parse(m[1]));
  }
  return times;
}

/** Deletes a run's Services and waits until the stand-in has removed their revisions too. */
async function cleanup(admin, ns, prefix) {
  await run(
    KUBECTL,
    ['--kubeconfig', admin, '-n', ns, 'delete', 'ksvc', '-l', `bench-run=${prefix}`, '--wait=false'],
    {},
  ).catch(() => '');
  for (let i = 0; i < 300; i++) {
    const left = await run(
      KUBECTL,
      ['--kubeconfig', admin, '-n', ns, 'get', 'ksvc,revisions', '-o', 'name'],
      {},
    );
    if (!left.split('\n').some((l) => l.includes(`/${prefix}-`))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const p95 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)];
};

export async function deployBenchmark(sizes = [1, 10, 50], runs = 3) {
  const env = testEnv();
  const ns = env.KUBE_NAMESPACE;
  const standinLog = path.join(path.dirname(env.KUBECONFIG_ADMIN), 'knative-serving-standin.log');
  if (!existsSync(standinLog)) throw new Error(`no stand-in log at ${standinLog}`);
  const stage = await loadDeployStage();
  const kubectlVersion = (await run(KUBECTL, ['version', '--client'], {})).split('\n')[0];
  const work = mkdtempSync(path.join(tmpdir(), 'faas-bench-deploy-'));
  const tag = createHash('sha256').update(String(Date.now())).digest('hex').slice(0, 6);
  const kubeconfig = readFileSync(env.KUBECONFIG_DEPLOYER, 'utf8');
  const images = [];
  for (let i = 0; i < Math.max(...sizes); i++)
    images.push(await pushImage(env.REGISTRY, `faas-bench/${tag}`, `fn${i}`));

  /** One measured pass: N functions with one client; returns wall ms and per-function notice delays. */
  async function pass(variant, n, prefix) {
    const names = Array.from({ length: n }, (_, i) => `${prefix}-f${i}`);
    const logFrom = readFileSync(standinLog, 'utf8').length;
    const noticed = new Map();
    const t0 = performance.now();
    if (variant === 'kubectl') {
      const kenv = { KUBECONFIG: env.KUBECONFIG_DEPLOYER };
      for (const [i, name] of names.entries()) {
        const svc = stage.renderService(spec(name), { service: name, namespace: ns, image: images[i] });
        svc.metadata.labels['bench-run'] = prefix;
        const file = path.join(work, `${name}.json`);
        writeFileSync(file, JSON.stringify(svc));
        await run(KUBECTL, ['apply', '--server-side', '--field-manager=faas-deploy', '-f', file], kenv);
        await run(
          KUBECTL,
          ['-n', ns, 'wait', `ksvc/${name}`, '--for=condition=Ready', '--timeout=120s'],
          kenv,
        );
        noticed.set(name, Date.now());
      }
    } else {
      const cluster = await stage.connect({ kubeconfig, namespace: ns, tempDir: work });
      const results = await pool(names, variant === 'action4' ? 4 : n, (name, i) =>
        cluster.deployFunction({
          spec: spec(name),
          service: name,
          image: images[i],
          waitTimeoutSeconds: 120,
        }),
      );
      await cluster.close();
      for (const [i, result] of results.entries()) {
        if (result.status !== 'ready') throw new Error(`${names[i]}: ${result.reason}`);
        noticed.set(names[i], result.timing.settledAt);
      }
    }
    const wall = performance.now() - t0;
    // The stand-in logs a moment after its status write returns; give the line time to land.
    await new Promise((r) => setTimeout(r, 300));
    const written = standinReadyTimes(standinLog, logFrom);
    const delays = names
      .filter((name) => written.has(name))
      .map((name) => noticed.get(name) - written.get(name));
    if (variant !== 'kubectl') {
      await run(
        KUBECTL,
        ['--kubeconfig', env.KUBECONFIG_ADMIN, '-n', ns, 'label', 'ksvc', ...names, `bench-run=${prefix}`],
        {},
      );
    }
    await cleanup(env.KUBECONFIG_ADMIN, ns, prefix);
    return { wall, delays };
  }

  const rows = [];
  const load0 = loadavg()[0];
  let coldConnectMs;
  try {
    // The first connect in a process loads @kubernetes/client-node: timed on its own. Then one warm-up
    // pass per client, not counted, so that no row carries one-off costs (the stand-in's first reconcile).
    const c0 = performance.now();
    await (await stage.connect({ kubeconfig, namespace: ns, tempDir: work })).close();
    coldConnectMs = performance.now() - c0;
    for (const variant of ['action4', 'kubectl']) await pass(variant, 1, `b${tag}w${variant[0]}`);
    for (const n of sizes) {
      const res = { n, action4: [], actionAll: [], kubectl: [], delayAction: [], delayKubectl: [] };
      for (let r = 0; r < runs; r++) {
        for (const variant of ['action4', 'actionAll', 'kubectl']) {
          const prefix = `b${tag}${r}${variant === 'kubectl' ? 'k' : variant === 'action4' ? 'a' : 'u'}${n}`;
          const { wall, delays } = await pass(variant, n, prefix);
          res[variant].push(wall);
          (variant === 'kubectl' ? res.delayKubectl : res.delayAction).push(...delays);
          process.stderr.write(
            `deploy bench: n=${n} run ${r + 1}/${runs} ${variant}: ${(wall / 1000).toFixed(2)} s\n`,
          );
        }
      }
      rows.push(res);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { rows, runs, kubectlVersion, coldConnectMs, load: [load0, loadavg()[0]] };
}

export function deployMarkdown({ rows, runs, kubectlVersion, coldConnectMs, load }) {
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const ms = (x) => `${Math.round(x)} ms`;
  const lines = [
    '## Deploy: apply and wait until Ready',
    '',
    `\`node bench/deploy.mjs\` on the test environment (real kube-apiserver v1.37 + etcd, the Knative Serving stand-in resolving every image against the local registry), as the least-privilege deployer identity. N functions whose images are already in the registry; wall time until every Service is Ready, median of ${runs} runs. faas-deploy: the deploy stage as bundled (connect, server-side apply, one shared watch until observedGeneration and Ready) with the default \`concurrency: 4\` and with all N at once; the first connect of a process (loading @kubernetes/client-node, reading the kubeconfig) took ${ms(coldConnectMs)} and is not in the rows, and one warm-up pass per client ran first. Baseline: the same rendered Services, one after another, \`kubectl apply --server-side -f\` then \`kubectl wait ksvc/<name> --for=condition=Ready\` (${kubectlVersion}). Both clients wait for the same stand-in, whose per-Service reconcile (about 20 API requests) bounds both; the machine's 1-minute load average was ${load[0].toFixed(1)} at the start and ${load[1].toFixed(1)} at the end, so single figures vary by ±50 % between runs.`,
    '',
    '| functions | faas-deploy, concurrency 4 | faas-deploy, all at once | kubectl apply + wait loop | kubectl ÷ faas-deploy (4) |',
    '| ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.n} | ${s(median(r.action4))} | ${s(median(r.actionAll))} | ${s(median(r.kubectl))} | ${(median(r.kubectl) / median(r.action4)).toFixed(1)}× |`,
    );
  }
  const allAction = rows.flatMap((r) => r.delayAction);
  const allKubectl = rows.flatMap((r) => r.delayKubectl);
  lines.push(
    '',
    "Delay from the stand-in writing Ready to the client noticing it (the stand-in's log line is written right after its status write returns, so the true delay is this plus the time that response took):",
    '',
    '| client | samples | median | 95th percentile |',
    '| --- | ---: | ---: | ---: |',
    `| faas-deploy (watch event) | ${allAction.length} | ${ms(median(allAction))} | ${ms(p95(allAction))} |`,
    `| kubectl wait (process exit) | ${allKubectl.length} | ${ms(median(allKubectl))} | ${ms(p95(allKubectl))} |`,
  );
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = (process.argv[2] ?? '1,10,50').split(',').map(Number);
  const runs = Number(process.argv[3] ?? 3);
  const section = deployMarkdown(await deployBenchmark(sizes, runs));
  const file = path.join(root, 'docs/benchmarks.md');
  const begin = '<!-- deploy-benchmark:begin -->';
  const end = '<!-- deploy-benchmark:end -->';
  const block = `${begin}\n${section}\n${end}`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const next = current.includes(begin)
    ? current.replace(new RegExp(`${begin}[\\s\\S]*${end}`), block)
    : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
  console.log(section);
}
