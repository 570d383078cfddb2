// Cluster content for the test environment, applied with the admin identity by server-side apply, so
// running it again changes nothing: namespace, the Knative Serving and Tekton CRDs (waited for until
// Established), the ServiceAccounts, the Roles and RoleBindings of docs/rbac.yaml, a TokenRequest token
// for the deployer ServiceAccount and a kubeconfig with it.
//
//   node scripts/test-env/kube/bootstrap.ts --admin-kubeconfig F --deployer-kubeconfig F \
//     --namespace faas-test --crds DIR[,DIR] --rbac docs/rbac.yaml
import fs from 'node:fs';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeRest, resourcePath, sleep, type KubeObject } from '../../../test/standins/kube-client.ts';

const FIELD_MANAGER = 'faas-test-env';

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? process.argv[i + 1] : undefined;
  if (!v) throw new Error(`missing --${name}`);
  return v;
}

function log(msg: string): void {
  process.stderr.write(`kube bootstrap: ${msg}\n`);
}

/** REST path of an object, for the kinds this script applies. */
function objectPath(obj: KubeObject): string {
  const name = obj.metadata.name;
  const ns = obj.metadata.namespace ?? '';
  switch (`${obj.apiVersion}/${obj.kind}`) {
    case 'v1/Namespace':
      return `/api/v1/namespaces/${name}`;
    case 'v1/ServiceAccount':
      return resourcePath('', 'v1', ns, 'serviceaccounts', name);
    case 'rbac.authorization.k8s.io/v1/Role':
      return resourcePath('rbac.authorization.k8s.io', 'v1', ns, 'roles', name);
    case 'rbac.authorization.k8s.io/v1/RoleBinding':
      return resourcePath('rbac.authorization.k8s.io', 'v1', ns, 'rolebindings', name);
    case 'apiextensions.k8s.io/v1/CustomResourceDefinition':
      return `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`;
    default:
      throw new Error(`bootstrap cannot apply ${obj.apiVersion} ${obj.kind}`);
  }
}

function readDocs(file: string): KubeObject[] {
  return loadAll(fs.readFileSync(file, 'utf8')).filter(
    (d): d is KubeObject => typeof d === 'object' && d !== null && 'kind' in d,
  );
}

/**
 * The Tekton CRDs convert v1beta1 <-> v1 through tekton-pipelines-webhook, which does not run here. With
 * v1beta1 served, the API server's watch cache for v1beta1 must convert every stored (v1) object, fails,
 * and re-lists in a loop (thousands of "conversion webhook ... failed" errors a minute, CPU burnt). So only
 * the storage version is served, and conversion is None. A v1beta1 request answers 404 here.
 */
function withoutConversionWebhook(crd: KubeObject): void {
  const spec = crd['spec'] as
    | {
        conversion?: { strategy?: string };
        versions?: Array<{ name: string; served: boolean; storage: boolean }>;
      }
    | undefined;
  if (spec?.conversion?.strategy !== 'Webhook') return;
  spec.conversion = { strategy: 'None' };
  for (const v of spec.versions ?? []) if (!v.storage) v.served = false;
}

async function waitEstablished(rest: KubeRest, names: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (const name of names) {
    for (;;) {
      const crd = await rest.get<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      if (crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after 60 s`);
      await sleep(100);
    }
  }
}

async function main(): Promise<void> {
  const adminFile = arg('admin-kubeconfig');
  const deployerFile = arg('deployer-kubeconfig');
  const ns = arg('namespace');
  const crdDirs = arg('crds').split(',');
  const rbacFile = arg('rbac');
  const sa = 'faas-deploy';
  const rest = KubeRest.fromFile(adminFile);

  await rest.apply(
    `/api/v1/namespaces/${ns}`,
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    FIELD_MANAGER,
  );

  const crdNames: string[] = [];
  for (const dir of crdDirs) {
    for (const file of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()) {
      for (const doc of readDocs(path.join(dir, file))) {
        withoutConversionWebhook(doc);
        await rest.apply(objectPath(doc), doc, FIELD_MANAGER);
        crdNames.push(doc.metadata.name);
      }
    }
  }
  await waitEstablished(rest, crdNames);
  log(`${crdNames.length} CRDs established`);

  // No kube-controller-manager: nobody creates the namespace's "default" ServiceAccount. Knative and
  // Tekton both default to it (serviceAccountName), so create it like the ServiceAccount controller would.
  await rest.apply(
    resourcePath('', 'v1', ns, 'serviceaccounts', 'default'),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } },
    FIELD_MANAGER,
  );
  // docs/rbac.yaml, with its placeholder namespace replaced.
  for (const doc of readDocs(rbacFile)) {
    doc.metadata.namespace = ns;
    const subjects = doc['subjects'] as Array<{ kind: string; namespace?: string }> | undefined;
    for (const s of subjects ?? []) if (s.kind === 'ServiceAccount') s.namespace = ns;
    await rest.apply(objectPath(doc), doc, FIELD_MANAGER);
  }

  // A token for the deployer from the TokenRequest API (no Secret-based tokens: that controller does not run).
  const tr = await rest.call<{ status: { token: string; expirationTimestamp: string } }>(
    'POST',
    `${resourcePath('', 'v1', ns, 'serviceaccounts', sa)}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 24 * 3600 },
    },
  );
  const admin = new KubeConfig();
  admin.loadFromFile(adminFile);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error(`${adminFile}: no current cluster`);
  const caData =
    cluster.caData ?? (cluster.caFile ? fs.readFileSync(cluster.caFile).toString('base64') : undefined);
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: faas-test-env',
    '    cluster:',
    `      server: ${cluster.server}`,
    `      certificate-authority-data: ${caData}`,
    'users:',
    `  - name: system:serviceaccount:${ns}:${sa}`,
    '    user:',
    `      token: ${tr.status.token}`,
    'contexts:',
    `  - name: ${sa}@faas-test-env`,
    '    context:',
    '      cluster: faas-test-env',
    `      user: system:serviceaccount:${ns}:${sa}`,
    `      namespace: ${ns}`,
    `current-context: ${sa}@faas-test-env`,
    '',
  ].join('\n');
  fs.writeFileSync(`${deployerFile}.tmp`, kubeconfig, { mode: 0o600 });
  fs.renameSync(`${deployerFile}.tmp`, deployerFile);
  log(`deployer token valid until ${tr.status.expirationTimestamp}`);

  // RBAC is served from an informer cache: wait until the new binding is visible to the authorizer.
  const deployer = KubeRest.fromFile(deployerFile);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const review = await deployer.call<{ status: { allowed: boolean } }>(
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: { group: 'tekton.dev', resource: 'taskruns', verb: 'create', namespace: ns },
        },
      },
    );
    if (review.status.allowed) break;
    if (Date.now() > deadline) throw new Error('deployer still not allowed to create taskruns after 30 s');
    await sleep(100);
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
