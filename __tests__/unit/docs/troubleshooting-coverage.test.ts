// Every message the action (or the CLI) can print to a user — errors, warnings, notices, failure
// reasons, manifest problems — has an entry in docs/troubleshooting.md, found by a recognisable
// fragment of its fixed text. The messages are collected from src/ with the TypeScript compiler:
//   - every argument passed to a parameter named `message`, `reason` or `why` (new Error(…),
//     new UserError(…), new RegistryError(kind, message), super(…) in an Error subclass,
//     core.error/warning/notice/setFailed, warn(message), failed(reason), …), except to loggers of
//     progress (info, debug, log, group);
//   - the first argument of any error/warning/notice/setFailed call (@actions/core's, whose types are
//     not loaded, and the build log's warning(line));
//   - strings pushed onto `notes` (plan notices), `warnings` (report warnings) and `parts` (a failed
//     Service's reason);
//   - every `message:`, `reason:` and `why:` property of an object literal (manifest problems, build
//     and deploy results, plan notes);
//   - what the message-building functions in MESSAGE_FUNCTIONS return, and the values of the message
//     tables in MESSAGE_TABLES.
// A message is its fixed text with a gap for each interpolation; a conditional gives one message per
// branch. Its fragment is the first fixed piece of at least MIN_FRAGMENT characters (else the longest
// piece). Internal invariants and bare status words are excluded below, each with its reason; an
// exclusion that no longer matches a message fails the test too.
// The README's Quick start must also show examples/workflows/*.yml verbatim.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const MIN_FRAGMENT = 10;
const GAP = '\u0000';

/** Parameter names whose arguments are messages a user reads. */
const MESSAGE_PARAMETERS = new Set(['message', 'reason', 'why']);
/** Callees that take a message but only log progress (never a problem). */
const PROGRESS_LOGGERS = new Set(['info', 'debug', 'log', 'group', 'startGroup', 'endGroup', 'note']);
/** Methods whose first argument is a message, whatever their parameter is called. */
const REPORTERS = new Set(['error', 'warning', 'notice', 'setFailed']);
/** Receivers of `.push(…)` whose elements are messages: everywhere, and in one file each. */
const MESSAGE_ARRAYS = new Set(['notes', 'warnings']);
const MESSAGE_ARRAYS_IN: Record<string, string[]> = { 'src/deploy/knative-status.ts': ['parts'] };
/** Properties of object literals, and variables, whose values are messages. */
const MESSAGE_PROPERTIES = new Set(['message', 'reason', 'why']);
const MESSAGE_VARIABLES = new Set(['message', 'reason', 'why', 'warning']);
/** Object literals (file → const names) whose property values are messages. */
const MESSAGE_TABLES: Record<string, string[]> = { 'src/plan/manifest.ts': ['PATTERN_MEANING'] };
/** Functions whose return values are messages (file → function or method names). */
const MESSAGE_FUNCTIONS: Record<string, string[]> = {
  'src/report/report-run.ts': ['commentWarning'],
  'src/build/kaniko.ts': ['failureReason'],
  'src/build/tekton.ts': ['checkTekton'],
};

/**
 * Messages that need no entry (matched by file and the start of the fragment): internal invariants,
 * the plumbing of waits and watches, status words of functions that did not fail, and wrappers whose
 * fixed text is only a prefix of a message collected where it is made.
 */
const EXCLUDED: { file: string; fragment: string; why: string }[] = [
  // Internal invariants: a bug in faas-deploy or its shipped templates, never the user's doing.
  {
    file: 'src/package/template.ts',
    fragment: 'The templates/ directory was not found',
    why: 'bundle layout',
  },
  {
    file: 'src/package/template.ts',
    fragment: 'There is no template for runtime',
    why: 'runtimes are validated first',
  },
  { file: 'src/package/template.ts', fragment: 'Template block', why: 'shipped templates are tested' },
  {
    file: 'src/package/template.ts',
    fragment: 'Template has an unbalanced',
    why: 'shipped templates are tested',
  },
  { file: 'src/package/template.ts', fragment: 'Template placeholder', why: 'shipped templates are tested' },
  {
    file: 'src/plan/discover.ts',
    fragment: 'buildFunctionSpecs needs the manifest parser',
    why: 'call order',
  },
  { file: 'src/package/render-dockerfile.ts', fragment: 'A function with runtime', why: 'call order' },
  {
    file: 'src/package/build-context.ts',
    fragment: 'Build context path',
    why: 'paths come from a directory walk',
  },
  {
    file: 'src/build/image-ref.ts',
    fragment: 'is not a valid image reference',
    why: 'names come from a checked registry and DNS-1035 names',
  },
  // Plumbing: these end a wait or a stream that is then retried, or reported in other words.
  {
    file: 'src/deploy/cluster.ts',
    fragment: 'wait-timeout',
    why: 'abort reason; reported as "Not Ready after wait-timeout"',
  },
  {
    file: 'src/kube/http.ts',
    fragment: 'The operation was aborted',
    why: 'cancellation; "Cancelled" is documented',
  },
  {
    file: 'src/kube/watch.ts',
    fragment: 'The operation was aborted',
    why: 'cancellation; "Cancelled" is documented',
  },
  { file: 'src/kube/http.ts', fragment: 'watch stream idle for', why: 'the watch is resumed' },
  {
    file: 'src/kube/watch.ts',
    fragment: 'watch ERROR event',
    why: 'the watch is resumed; "keeps failing" is documented',
  },
  {
    file: 'src/kube/resources.ts',
    fragment: 'Refusing to delete every',
    why: 'call order: every caller passes a selector',
  },
  {
    file: 'src/build/build-images.ts',
    fragment: 'builder tekton needs the cluster connection',
    why: 'call order: main connects before it builds',
  },
  {
    file: 'src/build/kaniko.ts',
    fragment: 'cancelled',
    why: "internal state of stop(why); the build's reason is documented",
  },
  {
    file: 'src/build/kaniko.ts',
    fragment: 'timed out',
    why: "internal state of stop(why); the build's reason is documented",
  },
  // Status words of functions that did not fail (the report's Note column), not problems.
  { file: 'src/plan/plan.ts', fragment: 'unchanged', why: 'status' },
  { file: 'src/plan/plan.ts', fragment: 'plan only', why: 'status' },
  { file: 'src/deploy/knative-api.ts', fragment: 'absent', why: 'status, never shown' },
  { file: 'src/deploy/cluster.ts', fragment: 'absent', why: 'status, never shown' },
  { file: 'src/execute.ts', fragment: 'removed', why: 'status' },
  { file: 'src/execute.ts', fragment: 'not built', why: 'status; "build failed" is documented' },
  { file: 'src/report/rows.ts', fragment: 'no reason reported', why: 'placeholder of an empty reason' },
  // Wrappers: a name and a colon around a reason collected where it is made.
  { file: 'src/deploy/cluster.ts', fragment: 'Service', why: 'wraps the delete reason' },
  { file: 'src/plan/plan.ts', fragment: 'Plan only', why: 'wraps the why of resolveMode' },
  { file: 'src/deploy/knative-status.ts', fragment: 'Revision', why: "wraps the Revision's condition" },
];

interface Message {
  file: string;
  line: number;
  /** Fixed text with GAP for each interpolation. */
  text: string;
  fragment: string;
}

/** The fixed text of an expression: one string per alternative, GAP where it is computed. */
function alternatives(node: ts.Expression): string[] {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isTemplateExpression(node)) {
    return [node.head.text + node.templateSpans.map((span) => GAP + span.literal.text).join('')];
  }
  if (
    ts.isParenthesizedExpression(node) ||
    ts.isAsExpression(node) ||
    ts.isNonNullExpression(node) ||
    ts.isSatisfiesExpression(node)
  ) {
    return alternatives(node.expression);
  }
  if (ts.isConditionalExpression(node))
    return [...alternatives(node.whenTrue), ...alternatives(node.whenFalse)];
  if (ts.isArrayLiteralExpression(node)) return node.elements.flatMap((element) => alternatives(element));
  if (ts.isBinaryExpression(node)) {
    const op = node.operatorToken.kind;
    if (op === ts.SyntaxKind.PlusToken) {
      const out: string[] = [];
      for (const left of alternatives(node.left))
        for (const right of alternatives(node.right)) out.push(left + right);
      return out.slice(0, 64);
    }
    if (op === ts.SyntaxKind.QuestionQuestionToken || op === ts.SyntaxKind.BarBarToken) {
      return [...alternatives(node.left), ...alternatives(node.right)];
    }
  }
  return [GAP];
}

/** A fixed piece as the docs would quote it: one line, no surrounding quotes or punctuation. */
function normalisePiece(piece: string): string {
  return piece
    .replace(/\s+/g, ' ')
    .replace(/^[\s"'`(),.:;—-]+|[\s"'`(),.:;—-]+$/g, '')
    .trim();
}

/**
 * What the docs must contain: the first fixed piece of at least MIN_FRAGMENT characters; when every
 * piece is shorter, all of them in order, joined by " … " (each "…" matches a few words in the docs).
 */
function fragmentOf(text: string): string | undefined {
  const pieces = text
    .split(GAP)
    .map(normalisePiece)
    .filter((piece) => /[A-Za-z]/.test(piece));
  if (pieces.length === 0) return undefined;
  return pieces.find((piece) => piece.length >= MIN_FRAGMENT) ?? pieces.join(' … ');
}

/** Whether the normalised docs contain a fragment ("…" standing for up to 80 characters). */
function documented(doc: string, fragment: string): boolean {
  const pattern = fragment
    .toLowerCase()
    .split(' … ')
    .map((piece) => piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.{1,80}?');
  return new RegExp(pattern).test(doc);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function calleeName(node: ts.CallExpression | ts.NewExpression): string {
  const callee = node.expression;
  if (callee.kind === ts.SyntaxKind.SuperKeyword) return 'super';
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return '';
}

function receiverName(node: ts.CallExpression): string | undefined {
  const callee = node.expression;
  if (!ts.isPropertyAccessExpression(callee)) return undefined;
  const target = callee.expression;
  if (ts.isIdentifier(target)) return target.text;
  if (ts.isPropertyAccessExpression(target)) return target.name.text;
  return undefined;
}

function parameterName(signature: ts.Signature | undefined, index: number): string | undefined {
  if (!signature) return undefined;
  const params = signature.getParameters();
  const param = params[Math.min(index, params.length - 1)];
  return param?.getName();
}

function functionName(node: ts.Node): string | undefined {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name) {
    return ts.isIdentifier(node.name) ? node.name.text : undefined;
  }
  return undefined;
}

/** Collects the user-facing messages of every file under src/. */
function collectMessages(): { messages: Message[]; namesSeen: Set<string> } {
  const files = sourceFiles('src');
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
    // Only src/ itself: packages' types are not needed (and @kubernetes/client-node's are slow to load).
    noResolve: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const messages: Message[] = [];
  const functionsSeen = new Set<string>();
  const tablesSeen = new Set<string>();
  const seen = new Set<string>();

  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`${file} is not in the program`);
    const rel = file.split(path.sep).join('/');
    const add = (expression: ts.Expression): void => {
      const line = source.getLineAndCharacterOfPosition(expression.getStart(source)).line + 1;
      for (const text of alternatives(expression)) {
        const fragment = fragmentOf(text);
        const key = `${rel}:${line}:${text}`;
        if (fragment === undefined || seen.has(key)) continue;
        seen.add(key);
        messages.push({ file: rel, line, text, fragment });
      }
    };
    const messageFunctions = MESSAGE_FUNCTIONS[rel] ?? [];

    const visit = (node: ts.Node, inMessageFunction: boolean): void => {
      const name = functionName(node);
      const inside = inMessageFunction || (name !== undefined && messageFunctions.includes(name));
      if (name !== undefined && messageFunctions.includes(name)) functionsSeen.add(`${rel}:${name}`);

      if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
        const callee = calleeName(node);
        const args = node.arguments ?? ts.factory.createNodeArray<ts.Expression>();
        if (!PROGRESS_LOGGERS.has(callee)) {
          const signature = checker.getResolvedSignature(node);
          args.forEach((arg, index) => {
            if (MESSAGE_PARAMETERS.has(parameterName(signature, index) ?? '')) add(arg);
          });
          // @actions/core (core.error/warning/notice/setFailed) and the build log's warning(line).
          if (REPORTERS.has(callee) && args[0]) add(args[0]);
        }
        const receiver = ts.isCallExpression(node) ? (receiverName(node) ?? '') : '';
        if (
          callee === 'push' &&
          (MESSAGE_ARRAYS.has(receiver) || (MESSAGE_ARRAYS_IN[rel] ?? []).includes(receiver))
        ) {
          for (const arg of args) add(arg);
        }
      }
      if (
        ts.isPropertyAssignment(node) &&
        (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name)) &&
        MESSAGE_PROPERTIES.has(node.name.text)
      ) {
        add(node.initializer);
      }
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
        if (MESSAGE_VARIABLES.has(node.name.text)) add(node.initializer);
        if ((MESSAGE_TABLES[rel] ?? []).includes(node.name.text)) {
          tablesSeen.add(`${rel}:${node.name.text}`);
          if (ts.isObjectLiteralExpression(node.initializer)) {
            for (const property of node.initializer.properties) {
              if (ts.isPropertyAssignment(property)) add(property.initializer);
            }
          }
        }
      }
      if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && node.name.text === 'notes') {
        if (ts.isArrayLiteralExpression(node.initializer))
          for (const el of node.initializer.elements) add(el);
      }
      if (inside) {
        if (ts.isReturnStatement(node) && node.expression) add(node.expression);
        if (ts.isArrowFunction(node) && !ts.isBlock(node.body)) add(node.body);
      }
      ts.forEachChild(node, (child) => {
        visit(child, inside);
      });
    };
    visit(source, false);
  }
  return { messages, namesSeen: new Set([...functionsSeen, ...tablesSeen]) };
}

/** The doc as a reader sees its text: no code spans or emphasis marks, no escapes, one line. */
function normaliseDoc(markdown: string): string {
  return markdown
    .replace(/`/g, '')
    .replace(/\*\*/g, '')
    .replace(/\\([\\`*_{}[\]()#+\-.!|"<>])/g, '$1')
    .replace(/\s+/g, ' ')
    .toLowerCase();
}

const excludedBy = (message: Message) =>
  EXCLUDED.find((entry) => entry.file === message.file && message.fragment.startsWith(entry.fragment));

describe('docs/troubleshooting.md', () => {
  let messages: Message[] = [];
  let namesSeen = new Set<string>();
  const doc = normaliseDoc(readFileSync('docs/troubleshooting.md', 'utf8'));

  beforeAll(() => {
    ({ messages, namesSeen } = collectMessages());
  }, 120_000);

  it('finds the messages of every reporting path in src/', () => {
    // A broken collector would pass vacuously: these must be among what it found.
    const fragments = messages.map((m) => m.fragment);
    for (const known of [
      'Kubernetes refused to', // super(…) of ForbiddenError
      'rejected the credentials of', // new RegistryError(kind, message)
      'Cancelled: stopping builds and waits', // core.warning
      'problem(s) in the functions under', // core.setFailed
      'is reserved by Knative', // problems.push({ message })
      'A force push: compared with the tree of the previous tip', // notes.push
      'Could not write the pull request comment', // commentWarning's return
      'The Docker engine could not run the kaniko executor image', // failureReason's return
      'Missing command "plan', // the CLI's UsageError
    ]) {
      expect(
        fragments.some((f) => f.startsWith(known)),
        known,
      ).toBe(true);
    }
    expect(messages.length).toBeGreaterThan(120);
    for (const [file, names] of [...Object.entries(MESSAGE_FUNCTIONS), ...Object.entries(MESSAGE_TABLES)]) {
      for (const name of names) expect(namesSeen, `${file}: ${name}`).toContain(`${file}:${name}`);
    }
  });

  it('has an entry for every message', () => {
    const missing = messages
      .filter((message) => !excludedBy(message))
      .filter((message) => !documented(doc, message.fragment));
    const report = missing.map(
      (m) => `${m.file}:${m.line}: "${m.fragment}"  (${m.text.replace(new RegExp(GAP, 'g'), '…')})`,
    );
    expect(report, `no entry in docs/troubleshooting.md for:\n${report.join('\n')}`).toEqual([]);
    console.info(
      `troubleshooting coverage: ${messages.length} messages (${new Set(messages.map((m) => m.fragment)).size} distinct fragments), ${messages.filter((m) => excludedBy(m)).length} excluded`,
    );
  });

  it('excludes only messages that exist, and everything else is recognisable', () => {
    for (const entry of EXCLUDED) {
      expect(
        messages.some((m) => m.file === entry.file && m.fragment.startsWith(entry.fragment)),
        `exclusion ${entry.file}: "${entry.fragment}" matches no message`,
      ).toBe(true);
    }
    // Everything else has enough fixed text to be recognised in a document.
    for (const message of messages.filter((m) => !excludedBy(m))) {
      expect(
        message.fragment.replace(/ … /g, '').length,
        `${message.file}:${message.line} "${message.fragment}"`,
      ).toBeGreaterThanOrEqual(MIN_FRAGMENT);
    }
  });
});

describe('README.md Quick start', () => {
  const readme = readFileSync('README.md', 'utf8');
  const quickStart = readme.split('\n## Quick start\n')[1]?.split('\n## ')[0] ?? '';
  const blocks = [...quickStart.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

  it.each(readdirSync('examples/workflows').filter((f) => f.endsWith('.yml')))(
    'shows examples/workflows/%s verbatim',
    (file) => {
      const text = readFileSync(path.join('examples/workflows', file), 'utf8');
      expect(blocks).toContain(text);
    },
  );

  it('links docs/functions.md, docs/cluster-setup.md and docs/troubleshooting.md under Documentation', () => {
    const documentation = readme.split('\n## Documentation\n')[1]?.split('\n## ')[0] ?? '';
    for (const doc of ['docs/functions.md', 'docs/cluster-setup.md', 'docs/troubleshooting.md']) {
      expect(documentation).toContain(`](${doc})`);
      expect(existsSync(doc), doc).toBe(true);
    }
  });
});

describe('the first-user docs', () => {
  const docs = ['README.md', 'docs/cluster-setup.md', 'docs/troubleshooting.md', 'docs/functions.md'];
  const action = readFileSync('action.yml', 'utf8');
  const inputs = new Set(
    [...(action.split('\ninputs:\n')[1]?.split('\noutputs:\n')[0] ?? '').matchAll(/^ {2}([a-z-]+):$/gm)].map(
      (m) => m[1],
    ),
  );

  /** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens. */
  function anchors(file: string): Set<string> {
    const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
    return new Set(
      [...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
        (m[1] ?? '')
          .toLowerCase()
          .replace(/[^\p{L}\p{N} _-]/gu, '')
          .replace(/ /g, '-'),
      ),
    );
  }

  it.each(docs)('%s names only inputs that action.yml declares', (file) => {
    expect(inputs.size).toBeGreaterThan(20);
    const text = readFileSync(file, 'utf8');
    const named = [...text.matchAll(/\binputs? `([a-z-]+)`/g)].map((m) => m[1] ?? '');
    expect(named.filter((name) => !inputs.has(name))).toEqual([]);
  });

  it.each(docs)('%s links only to files and headings that exist', (file) => {
    const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
    const broken: string[] = [];
    for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [pathPart = '', anchor] = target.split('#');
      const resolved = pathPart === '' ? file : path.normalize(path.join(path.dirname(file), pathPart));
      if (!existsSync(resolved)) broken.push(target);
      else if (anchor !== undefined && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) {
        broken.push(target);
      }
    }
    expect(broken).toEqual([]);
  });
});
