// Pure parts of the report: escaping untrusted text, the hidden state, the comment's rows and size,
// curl examples, outputs, the fork notice. Where cmark-gfm (GitHub's own Markdown renderer, Debian
// package cmark-gfm) is installed, escaped text is also rendered to HTML and checked there.
/* eslint-disable no-control-regex -- the hostile strings carry control characters on purpose */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readEventInfo } from '../../../src/plan/event.ts';
import {
  renderComment,
  commentRows,
  isReportComment,
  MAX_COMMENT_LENGTH,
} from '../../../src/report/comment.ts';
import { forkNotice } from '../../../src/report/fork.ts';
import {
  codeBlock,
  escapeMarkdown,
  formatDuration,
  markdownTable,
  redact,
  shortDigest,
  urlLink,
} from '../../../src/report/markdown.ts';
import { collectOutputs, outputValues, skippedOutcomes } from '../../../src/report/outputs.ts';
import { commentTable, curlExamples, ingressBase } from '../../../src/report/rows.ts';
import { COMMENT_MARKER, compareRuns, decodeState, encodeState } from '../../../src/report/state.ts';
import { renderSummary } from '../../../src/report/summary.ts';
import { pullRequestEvent } from '../../../test/github/events.ts';
import { DIGEST, outcomesFor, previewPlan } from '../../../test/support/report-fixtures.ts';

const HOSTILE = [
  'feature|x',
  '<script>alert(1)</script>',
  '</td></tr></table><img src=x onerror=alert(1)>',
  '`backticks` and ```fences```',
  '@someone and @org/team',
  'mail me: someone@example.com',
  '[click](javascript:alert(1)) ![img](http://evil.example/x.png)',
  'http://evil.example/phish and www.evil.example',
  'fixes #1 and octo-org/functions#2',
  '&#64;someone &lt;b&gt;entity&lt;/b&gt;',
  '$\\sqrt{2}$ math and ~~strike~~ **bold** _it_',
  'line one\nline two\r\n| a | b |\n<details>',
  '\u202eevil bidi\u001b[31m ansi red\u001b[0m \u0007bell',
];

/** GitHub's Markdown renderer (Debian package cmark-gfm, which .ci/run installs): missing is a failure. */
function cmark(markdown: string): string {
  return execFileSync(
    'cmark-gfm',
    ['-e', 'table', '-e', 'autolink', '-e', 'strikethrough', '-e', 'tagfilter', '--unsafe'],
    { input: markdown, encoding: 'utf8' },
  );
}

describe('escapeMarkdown', () => {
  it('leaves one line with no HTML, pipe, backtick, link syntax, mention or reference', () => {
    for (const text of HOSTILE) {
      const out = escapeMarkdown(text);
      expect(out).not.toMatch(/[\n\r<>|`[\]()]/);
      expect(out).not.toMatch(/@[A-Za-z0-9]/);
      expect(out).not.toMatch(/(^|[^&])#\d/);
      expect(out).not.toMatch(/https?:\/\/|www\./i);
      expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u202e]/);
    }
  });

  it('keeps ordinary names readable', () => {
    expect(escapeMarkdown('hello-world')).toBe('hello-world');
    expect(escapeMarkdown('feature/add-go-1.24')).toBe('feature/add-go-1.24');
  });

  it('renders, as GitHub does, to text only: one cell, no tags, no links', () => {
    for (const text of HOSTILE) {
      const html = cmark(markdownTable(['A', 'B'], [[escapeMarkdown(text), 'end']]));
      const cells = [...html.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => m[1] ?? '');
      expect(cells).toHaveLength(2);
      expect(cells[1]).toBe('end');
      expect(cells[0]).not.toMatch(/<[a-z/]/i);
      // What a reader sees: the text, with at most invisible zero-width spaces added.
      const shown = (cells[0] ?? '')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, '&')
        .replace(/\u200b/g, '');
      const expected = text
        .replace(/\u001b\[[0-9;]*m/g, '')
        .replace(/[\u0000-\u001f\u202e]/g, (c) => (c === '\n' || c === '\r' ? ' ' : ''))
        .replace(/\r /g, ' ');
      expect(shown.replace(/\s+/g, ' ')).toBe(expected.replace(/\s+/g, ' ').trim());
    }
  });

  it('keeps a build log inside its fence whatever it contains', () => {
    const log = 'ok\n```\n</details><script>x</script>\n@someone ````\nend';
    const html = cmark(`<details><summary>log</summary>\n\n${codeBlock(log)}\n\n</details>`);
    expect(html).toContain('<pre><code class="language-text">');
    expect(html).not.toContain('<script>');
    expect(html.match(/<\/details>/g)).toHaveLength(1);
  });
});

describe('markdown helpers', () => {
  it('links only plain http(s) URLs', () => {
    expect(urlLink('http://hello-pr-7.default.example.com')).toBe('<http://hello-pr-7.default.example.com>');
    expect(urlLink('https://x.example.com:8443/path/a')).toBe('<https://x.example.com:8443/path/a>');
    expect(urlLink('javascript:alert(1)')).toBe('javascript:alert&#40;1&#41;');
    expect(urlLink('http://x.example.com/<b>')).not.toContain('<');
  });

  it('shortens digests and durations', () => {
    expect(shortDigest(DIGEST('a'))).toBe(`\`sha256:${DIGEST('a').slice(7, 19)}\``);
    expect(shortDigest('md5:`x`|y')).toBe('md5:&#96;x&#96;&#124;y');
    expect([5, 65, 3725].map(formatDuration)).toEqual(['5s', '1m 05s', '1h 02m']);
  });

  it('masks secrets', () => {
    expect(redact('token ghs_abcdef in log', ['ghs_abcdef', ''])).toBe('token *** in log');
  });
});

describe('the hidden state', () => {
  it('round-trips and orders runs by id, then attempt', () => {
    const state = {
      v: 1 as const,
      pr: 7,
      run: { id: 10, attempt: 2 },
      commit: 'a'.repeat(40),
      rows: [{ name: 'hello', service: 'hello-pr-7', status: 'ready' as const, url: 'http://h.example.com' }],
    };
    expect(decodeState(`${COMMENT_MARKER}\n${encodeState(state)}\ntext`)).toEqual(state);
    expect(compareRuns({ id: 10, attempt: 2 }, { id: 11, attempt: 1 })).toBeLessThan(0);
    expect(compareRuns({ id: 11, attempt: 2 }, { id: 11, attempt: 1 })).toBeGreaterThan(0);
    expect(compareRuns({ id: 11, attempt: 1 }, { id: 11, attempt: 1 })).toBe(0);
  });

  it('rejects state that is not ours and drops rows of the wrong shape', () => {
    const encode = (value: unknown) =>
      `<!-- faas-deploy:state ${Buffer.from(JSON.stringify(value)).toString('base64')} -->`;
    expect(decodeState('no state')).toBeUndefined();
    expect(decodeState('<!-- faas-deploy:state !!! -->')).toBeUndefined();
    expect(decodeState(encode({ v: 2, pr: 1, run: { id: 1, attempt: 1 }, rows: [] }))).toBeUndefined();
    expect(decodeState(encode({ v: 1, pr: 1, run: { id: -1, attempt: 1 }, rows: [] }))).toBeUndefined();
    const state = decodeState(
      encode({
        v: 1,
        pr: 1,
        run: { id: 1, attempt: 1 },
        rows: [
          { name: 'ok', service: 'ok-pr-1', status: 'ready', commit: 'not a sha', secret: 'x' },
          { name: 'bad', service: 'bad-pr-1', status: 'pwned' },
          'nope',
        ],
      }),
    );
    expect(state?.rows).toEqual([{ name: 'ok', service: 'ok-pr-1', status: 'ready' }]);
  });

  it('is only trusted from bots or people with write access, with the marker first', () => {
    const comment = (body: string, type: string, association: string) => ({
      id: 1,
      body,
      user: { login: 'x', type },
      authorAssociation: association,
    });
    expect(isReportComment(comment(`${COMMENT_MARKER}\n`, 'Bot', 'NONE'))).toBe(true);
    expect(isReportComment(comment(`${COMMENT_MARKER}\n`, 'User', 'MEMBER'))).toBe(true);
    expect(isReportComment(comment(`${COMMENT_MARKER}\n`, 'User', 'CONTRIBUTOR'))).toBe(false);
    expect(isReportComment(comment(`> ${COMMENT_MARKER}\n`, 'Bot', 'NONE'))).toBe(false);
  });
});

describe('the comment', () => {
  const base = {
    run: { id: 5, attempt: 1 },
    prNumber: 7,
    commit: 'c'.repeat(40),
    ingressAddress: '203.0.113.10',
    now: new Date('2025-06-01T00:00:00Z'),
    version: '1.0.0',
    secrets: ['s3cr3t-token'],
  };

  it('keeps the rows of skipped functions from the previous state, marked unchanged', () => {
    const plan = previewPlan(7, { a: 'changed', b: 'unchanged', c: 'unchanged' });
    const previous = {
      v: 1 as const,
      pr: 7,
      run: { id: 4, attempt: 1 },
      rows: [
        { name: 'b', service: 'b-pr-7', status: 'ready' as const, commit: 'd'.repeat(40) },
        { name: 'c', service: 'c-pr-7', status: 'deleted' as const },
      ],
    };
    const { rows, notPreviewed } = commentRows({ ...base, plan, outcomes: outcomesFor(plan), previous });
    expect(rows.map((r) => [r.name, r.status, r.unchanged ?? false])).toEqual([
      ['a', 'ready', false],
      ['b', 'ready', true],
    ]);
    expect(notPreviewed).toBe(1);
  });

  it('says in the comment why each function this run touched was deployed, skipped or deleted', () => {
    const table = commentTable(
      [
        { name: 'a', service: 'a-pr-7', status: 'ready', reason: 'the Service runs other content' },
        { name: 'b', service: 'b-pr-7', status: 'skipped', reason: 'the Service runs a newer commit: 1234' },
        { name: 'c', service: 'c-pr-7', status: 'ready', unchanged: true, reason: 'old' },
      ],
      new Date('2025-06-01T00:00:00Z'),
    );
    expect(table).toContain('✅ ready: the Service runs other content');
    expect(table).toContain('⏭️ skipped: the Service runs a newer commit: 1234');
    expect(table).not.toContain('old');
  });

  it('masks secrets in reasons and logs, including the hidden state', () => {
    const plan = previewPlan(7, { a: 'changed' });
    const outcomes = outcomesFor(plan, {
      failed: { a: { reason: 'auth failed for s3cr3t-token', logTail: 'password=s3cr3t-token' } },
    });
    const body = renderComment({ ...base, plan, outcomes }) ?? '';
    expect(body).toContain('auth failed for &#42;&#42;&#42;');
    expect(body).toContain('password=***');
    expect(body).not.toContain('s3cr3t-token');
    expect(JSON.stringify(decodeState(body))).not.toContain('s3cr3t-token');
  });

  it('stays under GitHub’s size limit with a thousand functions and long logs', () => {
    const names = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`fn-${i}`, 'changed' as const]));
    const plan = previewPlan(7, names);
    const failed = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [
        `fn-${i}`,
        { reason: 'x'.repeat(900), logTail: 'log line\n'.repeat(500) },
      ]),
    );
    const body = renderComment({ ...base, plan, outcomes: outcomesFor(plan, { failed }) }) ?? '';
    expect(body.length).toBeLessThanOrEqual(MAX_COMMENT_LENGTH);
    expect(body).toMatch(/…and \d+ more functions: see the job summary/);
    expect(decodeState(body)?.rows.length).toBeGreaterThan(0);
  });

  it('writes nothing new for a pull request with no preview and no earlier comment', () => {
    const plan = previewPlan(7, { a: 'unchanged' });
    expect(renderComment({ ...base, plan, outcomes: outcomesFor(plan) })).toBeUndefined();
  });
});

describe('curl examples', () => {
  const hello = {
    name: 'hello',
    service: 'hello-pr-7',
    status: 'ready' as const,
    url: 'http://hello.example.com',
  };
  const ready = [hello];

  it('gives both forms with the ingress address, with or without a scheme and port', () => {
    expect(ingressBase('203.0.113.10')).toBe('http://203.0.113.10');
    expect(ingressBase('https://lb.example.com:8443/')).toBe('https://lb.example.com:8443');
    expect(ingressBase('[2001:db8::1]:80')).toBe('http://[2001:db8::1]:80');
    expect(ingressBase('1.2.3.4; rm -rf /')).toBeUndefined();
    const text = curlExamples(ready, '203.0.113.10');
    expect(text).toContain("curl -d 'hello' http://hello.example.com\n");
    expect(text).toContain('curl -H "Host: hello.example.com" http://203.0.113.10 -d \'hello\'');
  });

  it('says how to find the ingress address when it is not set, and rejects a bad one', () => {
    expect(curlExamples(ready, '')).toContain('http://<ingress-address>');
    expect(curlExamples(ready, '')).toContain('kourier-system');
    expect(curlExamples(ready, '$(whoami)')).toContain('is not a host, IP or host:port');
  });

  it('shows a cluster-local function without the Host form, and skips URLs that are not plain', () => {
    const local = [{ ...hello, url: 'http://hello.previews.svc.cluster.local' }];
    expect(curlExamples(local, '1.2.3.4')).toContain('# cluster-local');
    expect(curlExamples(local, '1.2.3.4')).not.toContain('Host:');
    expect(curlExamples([{ ...hello, url: "http://x.example.com/'; rm -rf /'" }], '1.2.3.4')).toBe('');
  });
});

describe('outputs and summary', () => {
  it('keep report-only fields out of the functions output and set comment-id in every mode', () => {
    const plan = previewPlan(7, { a: 'changed', b: 'unchanged' });
    const outcomes = outcomesFor(plan).map((o) => ({
      ...o,
      updatedAt: '2025-01-01T00:00:00Z',
      logTail: 'x',
    }));
    const values = outputValues(collectOutputs(plan, outcomes));
    const functions = JSON.parse(values.functions) as Record<string, unknown>[];
    expect(Object.keys(functions[0] ?? {})).toEqual([
      'name',
      'service',
      'action',
      'status',
      'image',
      'digest',
      'url',
      'revision',
    ]);
    expect(functions[1]).toEqual({
      name: 'b',
      service: 'b-pr-7',
      action: 'skip',
      status: 'skipped',
      reason: 'unchanged',
    });
    expect(values['comment-id']).toBe('');
    expect(outputValues(collectOutputs(plan, outcomes, 42))['comment-id']).toBe('42');
    // `built` says whether this run built the image or reused one of the same content.
    for (const [buildSkipped, built] of [
      [false, true],
      [true, false],
    ] as const) {
      const again = outputValues(
        collectOutputs(
          plan,
          outcomes.map((o) => (o.image ? { ...o, buildSkipped } : o)),
        ),
      );
      const [first, second] = JSON.parse(again.functions) as Record<string, unknown>[];
      expect(Object.keys(first ?? {}).at(-1)).toBe('built');
      expect(first?.['built']).toBe(built);
      expect(second).not.toHaveProperty('built');
    }
    expect(JSON.parse(values.changed)).toEqual(['a']);
  });

  it('summarise a push to main with the same columns, curl examples and failures', () => {
    const plan = { ...previewPlan(7, { a: 'changed' }), mode: 'deploy' as const, eventName: 'push' };
    delete plan.pullRequest;
    const outcomes = outcomesFor(plan, { failed: {} });
    const summary = renderSummary(plan, outcomes, {
      ingressAddress: '10.0.0.1',
      now: new Date('2025-01-01T00:00:00Z'),
    });
    expect(summary).toContain('## faas-deploy deploy');
    expect(summary).toContain(
      '| Function | Service | Action | Status | URL / image | Digest | Build | Updated (UTC) | Note |',
    );
    expect(summary).toContain('| a | a-pr-7 | preview | ✅ ready | <http://a-pr-7.previews.example.com> |');
    expect(summary).toContain('curl -H "Host: a-pr-7.previews.example.com" http://10.0.0.1');
  });
});

describe('forkNotice', () => {
  it('stops a fork pull request without secrets and says why', () => {
    const fork = readEventInfo(
      'pull_request',
      pullRequestEvent('opened', { fork: true, head: { ref: 'evil|<b>' } }),
    );
    const notice = forkNotice(fork, { secretsAvailable: false });
    expect(notice?.markdown).toContain('comes from a fork');
    expect(notice?.markdown).toContain('evil&#124;&#60;b&#62;');
    expect(notice?.markdown).not.toContain('<b>');
    expect(forkNotice(fork, { secretsAvailable: true })).toBeUndefined();
    const own = readEventInfo('pull_request', pullRequestEvent('opened'));
    expect(forkNotice(own, { secretsAvailable: false })).toBeUndefined();
    const plan = previewPlan(7, { a: 'changed' });
    expect(skippedOutcomes(plan, notice?.reason ?? '')).toEqual([
      { name: 'a', service: 'a-pr-7', action: 'skip', status: 'skipped', reason: notice?.reason },
    ]);
  });
});
