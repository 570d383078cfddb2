// The report stage run as a workflow step runs it: a separate Node process with the runner's
// environment (GITHUB_EVENT_PATH, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_API_URL, GITHUB_RUN_ID…),
// the real @actions/core and @actions/github, and the exit code as the runner sees it. The plan and
// the outcomes that the earlier stages would have produced come from the JSON file at REPORT_INPUT.
// Bundled with esbuild by the tests (bundleReportStep) and started with `node`.
import { readFileSync } from 'node:fs';
import * as core from '@actions/core';
import { readEventInfo } from '../../src/plan/event.ts';
import type { Plan } from '../../src/plan/types.ts';
import {
  githubCommentApi,
  reportContextFromEnv,
  reportRun,
  type FunctionOutcome,
} from '../../src/report/index.ts';
import { describeError } from '../../src/util/errors.ts';

interface ReportInput {
  plan: Plan;
  outcomes: FunctionOutcome[];
  settleMs?: number;
}

async function main(): Promise<void> {
  try {
    const input = JSON.parse(readFileSync(process.env['REPORT_INPUT'] ?? '', 'utf8')) as ReportInput;
    const payload = JSON.parse(readFileSync(process.env['GITHUB_EVENT_PATH'] ?? '', 'utf8')) as unknown;
    const event = readEventInfo(process.env['GITHUB_EVENT_NAME'] ?? '', payload);
    const token = core.getInput('github-token');
    const context = reportContextFromEnv(process.env, event, {
      ingressAddress: core.getInput('ingress-address'),
      secrets: [token],
    });
    const github =
      token && context.repo && core.getBooleanInput('comment')
        ? await githubCommentApi(token, context.repo, process.env['GITHUB_API_URL'])
        : undefined;
    const result = await reportRun({
      github,
      plan: input.plan,
      outcomes: input.outcomes,
      context,
      ...(input.settleMs !== undefined ? { settleMs: input.settleMs } : {}),
    });
    core.info(`report: comment ${result.commentId ?? 'none'}, ${result.warnings.length} warning(s)`);
  } catch (error) {
    core.setFailed(describeError(error));
  }
}

await main();
