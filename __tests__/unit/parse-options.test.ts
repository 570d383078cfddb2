import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { OptionError, parseOptions, type OptionSpec } from '../../src/util/parse-options.js';

// parseOptions stands in for node:util's parseArgs (strict, positionals allowed) in the CLI: for
// every command line here both must give the same values and positionals, or the same error.
const options = {
  repo: { type: 'string', default: '.' },
  base: { type: 'string' },
  out: { type: 'string', short: 'o' },
  json: { type: 'boolean', default: false },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h', default: false },
} satisfies Record<string, OptionSpec>;

const lines: string[][] = [
  [],
  ['plan'],
  ['plan', '--repo', 'dir', '--json'],
  ['plan', '--repo=dir', '--base=a=b', '--json'],
  ['--repo', 'a', '--repo', 'b', 'plan'],
  ['plan', '--repo', '-'],
  ['plan', '--repo='],
  ['plan', '--repo', ''],
  ['plan', '--repo', '--json'],
  ['plan', '--repo', '-x'],
  ['plan', '--base'],
  ['plan', '--json=yes'],
  ['plan', '--json='],
  ['plan', '--frobnicate'],
  ['plan', '--frobnicate=1'],
  ['plan', '--constructor', 'x'],
  ['plan', '--__proto__', 'x'],
  ['plan', '--toString'],
  ['plan', '-h'],
  ['-hv', 'plan'],
  ['-vh'],
  ['-x'],
  ['-hx'],
  ['-o', 'file'],
  ['-ofile'],
  ['-vofile'],
  ['-o'],
  ['-o', '-v'],
  ['--out', '-v'],
  ['--out'],
  ['-'],
  ['plan', '--', '--json', '-h', 'x'],
  ['--', 'plan'],
  ['plan', 'extra', '--json'],
  ['plan', 'ünï côde', '--repo', 'a b "c"'],
  ['--'],
  ['---x'],
  ['--='],
  ['--=x'],
];

function outcome(parse: () => { values: object; positionals: string[] }) {
  try {
    const { values, positionals } = parse();
    return { values: { ...values }, positionals };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('parseOptions', () => {
  it.each(lines.map((line) => [line.join(' ') || '(nothing)', line]))(
    'answers as parseArgs: %s',
    (_shown, line) => {
      const ours = outcome(() => parseOptions(line, options));
      const node = outcome(() => parseArgs({ args: line, options, strict: true, allowPositionals: true }));
      expect(ours).toEqual(node);
    },
  );

  it('throws OptionError, so the CLI can tell a usage mistake from a bug', () => {
    expect(() => parseOptions(['--frobnicate'], options)).toThrow(OptionError);
    expect(() => parseOptions(['--repo'], options)).toThrow("Option '--repo <value>' argument missing");
  });
});
