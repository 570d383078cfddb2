// Who owns a Knative Service, read from its labels and annotations (README, "Ownership"): the
// labels faas-deploy writes on every object it creates, the repository in a label-safe form and
// exactly as an annotation, and for previews the pull request's number.

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'faas-deploy';
export const FUNCTION_LABEL = 'faas-deploy.dev/function';
export const REPOSITORY_LABEL = 'faas-deploy.dev/repository';
export const REPOSITORY_ANNOTATION = 'faas-deploy.dev/repository';
export const PR_LABEL = 'faas-deploy.dev/pr';
export const COMMIT_ANNOTATION = 'faas-deploy.dev/commit';
export const CONTENT_TAG_ANNOTATION = 'faas-deploy.dev/content-tag';
export const RUN_URL_ANNOTATION = 'faas-deploy.dev/run-url';
export const DEPLOYED_AT_ANNOTATION = 'faas-deploy.dev/deployed-at';

/** `owner/repo` as a label value: lowercased, `/` → `.`, other characters outside the label alphabet → `-`, at most 63. */
export function repositoryLabel(repository: string): string {
  const value = repository
    .toLowerCase()
    .replace('/', '.')
    .replace(/[^a-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  if (value === '') throw new Error(`Repository "${repository}" gives an empty label value.`);
  return value;
}

/** The role a Service plays for a repository: its production Service, or the preview of one pull request. */
export type Role = { kind: 'deploy' } | { kind: 'preview'; pullRequest: number };

/** Label selector of every Service a repository owns in one role. */
export function ownedSelector(repository: string, role?: Role): string {
  const parts = [`${MANAGED_BY_LABEL}=${MANAGED_BY}`, `${REPOSITORY_LABEL}=${repositoryLabel(repository)}`];
  if (role?.kind === 'deploy') parts.push(`!${PR_LABEL}`);
  if (role?.kind === 'preview') parts.push(`${PR_LABEL}=${role.pullRequest}`);
  return parts.join(',');
}

/** Labels and annotations that identify the owner, for every object faas-deploy creates. */
export function ownerMetadata(
  repository: string,
  role: Role,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  const labels: Record<string, string> = {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [REPOSITORY_LABEL]: repositoryLabel(repository),
  };
  if (role.kind === 'preview') labels[PR_LABEL] = String(role.pullRequest);
  return { labels, annotations: { [REPOSITORY_ANNOTATION]: repository } };
}

export interface ObjectMeta {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  managedFields?: Array<{ manager?: string; operation?: string }>;
}

/** A live Service as the reconcile sees it: who owns it and what it runs. */
export interface LiveServiceInfo {
  service: string;
  /** `owner/repo` from the annotation (or the label when the annotation is missing). */
  repository?: string;
  managedByUs: boolean;
  function?: string;
  pullRequest?: number;
  contentTag?: string;
  commit?: string;
  /** When this content was deployed (annotation), else when the Service was created. */
  deployedAt?: string;
}

export function liveServiceInfo(meta: ObjectMeta): LiveServiceInfo {
  const labels = meta.labels ?? {};
  const annotations = meta.annotations ?? {};
  const pr = labels[PR_LABEL];
  const info: LiveServiceInfo = {
    service: meta.name,
    managedByUs: labels[MANAGED_BY_LABEL] === MANAGED_BY,
  };
  const repository = annotations[REPOSITORY_ANNOTATION] ?? labels[REPOSITORY_LABEL];
  if (repository) info.repository = repository;
  if (labels[FUNCTION_LABEL]) info.function = labels[FUNCTION_LABEL];
  if (pr !== undefined && /^[1-9][0-9]{0,9}$/.test(pr)) info.pullRequest = Number(pr);
  if (annotations[CONTENT_TAG_ANNOTATION]) info.contentTag = annotations[CONTENT_TAG_ANNOTATION];
  if (annotations[COMMIT_ANNOTATION]) info.commit = annotations[COMMIT_ANNOTATION];
  const deployedAt = annotations[DEPLOYED_AT_ANNOTATION] ?? meta.creationTimestamp;
  if (deployedAt) info.deployedAt = deployedAt;
  return info;
}

/** Whether `live` is this repository's Service in this role. */
export function isOwnedBy(live: LiveServiceInfo, repository: string, role: Role): boolean {
  if (!live.managedByUs || live.repository === undefined) return false;
  const sameRepository = live.repository === repository || live.repository === repositoryLabel(repository);
  if (!sameRepository) return false;
  return role.kind === 'deploy' ? live.pullRequest === undefined : live.pullRequest === role.pullRequest;
}

/** Who a Service belongs to, in words, for the error that leaves it alone. */
export function describeOwner(live: LiveServiceInfo, managers: readonly string[] = []): string {
  if (live.managedByUs && live.repository) {
    return live.pullRequest !== undefined
      ? `the preview of pull request #${live.pullRequest} of repository ${live.repository}`
      : `repository ${live.repository} (faas-deploy)`;
  }
  if (live.managedByUs) return 'faas-deploy, with no repository label (an older faas-deploy or another tool)';
  return managers.length > 0
    ? `another tool (field managers ${managers.map((m) => `"${m}"`).join(', ')})`
    : 'another tool (it has no faas-deploy labels)';
}
