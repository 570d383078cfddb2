// The example PR comment of docs/pr-comment-example.md: three functions after a second push, one
// Ready, one whose build failed, one unchanged since the first push (its row read back from the
// hidden state of the comment the first push wrote). scripts/render-comment-example.mjs writes the
// docs from it; __tests__/unit/report-example.test.ts checks the docs still match.
import { renderComment, type CommentInput } from '../../src/report/comment.ts';
import { decodeState } from '../../src/report/state.ts';
import { outcomesFor, previewPlan } from './report-fixtures.ts';

const FIRST_PUSH = '5e1f0c2a9d4b7e6f8a0b1c2d3e4f5a6b7c8d9e0f';
const SECOND_PUSH = '9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b';
const DIGESTS: Record<string, string> = {
  hello: 'sha256:3f1a9c0e7b2d4a6f8e0c1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a',
  echo: 'sha256:b7e24c1d9f0a3e5c7b9d1f2a4c6e8b0d2f4a6c8e0b1d3f5a7c9e2b4d6f8a0c1e',
};

function withDigest(input: ReturnType<typeof outcomesFor>): ReturnType<typeof outcomesFor> {
  return input.map((outcome) => {
    const digest = DIGESTS[outcome.name];
    return digest && outcome.status === 'ready'
      ? { ...outcome, digest, image: `ghcr.io/octo-org/${outcome.name}@${digest}` }
      : outcome;
  });
}

const common = {
  prNumber: 42,
  ingressAddress: '203.0.113.10',
  version: '1.0.0',
  secrets: [],
  branch: 'feature/greeting',
};

/** The first push previewed hello and echo; the second changes hello and adds resize, whose build fails. */
export function exampleCommentInput(): CommentInput {
  const firstPlan = previewPlan(42, { echo: 'changed', hello: 'changed' }, { head: FIRST_PUSH });
  const first = renderComment({
    ...common,
    plan: firstPlan,
    outcomes: withDigest(outcomesFor(firstPlan)).map((o) => ({ ...o, buildSeconds: 38 })),
    run: { id: 9876543210, attempt: 1 },
    commit: FIRST_PUSH,
    now: new Date('2025-06-02T09:14:00Z'),
  });
  const plan = previewPlan(
    42,
    { echo: 'unchanged', hello: 'changed', resize: 'changed' },
    { head: SECOND_PUSH },
  );
  const outcomes = withDigest(
    outcomesFor(plan, {
      failed: {
        resize: {
          reason: 'build failed: go build exited with status 1',
          logTail: [
            'INFO[0004] RUN go build -o /out/handler .',
            '# example.com/resize',
            './handler.go:14:9: undefined: image.Resize',
            './handler.go:21:2: declared and not used: scale',
            'error building image: error building stage: failed to execute command: waiting for process to exit: exit status 1',
          ].join('\n'),
        },
      },
    }),
  ).map((o) => (o.name === 'hello' ? { ...o, buildSeconds: 51, updatedAt: '2025-06-03T16:42:10Z' } : o));
  const previous = decodeState(first ?? '');
  return {
    ...common,
    plan,
    outcomes,
    ...(previous ? { previous } : {}),
    run: { id: 9876549999, attempt: 1 },
    runUrl: 'https://github.com/octo-org/functions/actions/runs/9876549999/attempts/1',
    commit: SECOND_PUSH,
    now: new Date('2025-06-03T16:42:30Z'),
  };
}

/** docs/pr-comment-example.md: a short preface, then the comment's Markdown exactly as GitHub receives it. */
export function exampleDocument(): string {
  const body = renderComment(exampleCommentInput()) ?? '';
  return [
    '# Example: the pull request comment',
    '',
    'The comment faas-deploy keeps on pull request #42 after its second push: `hello` changed and is',
    'Ready, `resize` is new and its build failed, `echo` did not change and keeps the row of the first',
    "push (read back from the comment's hidden state). Below the line is the comment's Markdown exactly",
    "as the action sends it; the picture is that Markdown rendered by cmark-gfm (GitHub's renderer) in",
    'headless Chromium, with the build log expanded.',
    '',
    '![The comment rendered to HTML](pr-comment-example.png)',
    '',
    'Both files are generated: `node scripts/render-comment-example.mjs` (needs the Debian packages',
    '`cmark-gfm` and `chromium`); `__tests__/unit/report-example.test.ts` fails when they drift.',
    '',
    '---',
    '',
    '<!-- prettier-ignore-start -->',
    body.trimEnd(),
    '<!-- prettier-ignore-end -->',
    '',
  ].join('\n');
}
