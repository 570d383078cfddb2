// The reconcile stage: what runs on the cluster against what the repository holds.
export { newerCommits, type AncestryAnswer } from './ancestry.js';
export { CAUSE_TEXT, reconcile, type Cause } from './decide.js';
export { reconcilePlan, type ReconcileDeps, type ReconcileResult } from './reconcile-plan.js';
export { sweepPreviews, type PullRequestState, type SweepDecision } from './sweep.js';
