// The report stage. Its entry is reportRun (report-run.ts); this module only re-exports.
export type { CommentApi, IssueComment } from './comment.js';
export { commentApiFromOctokit, githubCommentApi } from './github.js';
export { forkNotice, type ForkNotice } from './fork.js';
export { collectOutputs, plannedOutcomes, skippedOutcomes, type FunctionOutcome } from './outputs.js';
export { renderSummary } from './summary.js';
export {
  actionsSink,
  commentWarning,
  reportContextFromEnv,
  reportRun,
  wantsComment,
  type ReportContext,
  type ReportOptions,
  type ReportResult,
  type ReportSink,
} from './report-run.js';
