// The stages that every run needs (plan, package, report), loaded by main.ts after its first line
// of output. The build and deploy stages, with their heavy clients, load on their own when used.
export { readEventInfo } from './plan/event.js';
export { planRepository } from './plan/index.js';
export { formatProblem } from './plan/problems.js';
export { packagePlan } from './package/index.js';
export { resolveBaseImages } from './package/base-images.js';
export {
  plannedOutcomes,
  skippedOutcomes,
  reportRun,
  reportContextFromEnv,
  forkNotice,
  githubCommentApi,
} from './report/index.js';
export { processRunner } from './util/exec.js';
