/**
 * The command line as node:util's parseArgs reads it in strict mode with positionals allowed —
 * `--name value`, `--name=value`, boolean flags, single-letter aliases (grouped too: `-hv`), `--`
 * ending the options, the last of a repeated option winning, the same errors — for the options
 * the CLI has. Why not parseArgs itself: Node compiles its module on first use, about 1 ms of a
 * `faas-deploy plan` that should cost little more than `git diff` (issue #4). The tests hold the
 * two to the same answers (__tests__/unit/parse-options.test.ts).
 */

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  default?: string | boolean;
}

export type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K] extends { type: 'boolean' }
    ? O[K] extends { default: boolean }
      ? boolean
      : boolean | undefined
    : O[K] extends { default: string }
      ? string
      : string | undefined;
};

/** A command-line mistake, with parseArgs's message for it. */
export class OptionError extends Error {}

/** Options and positionals of `args`; throws OptionError as parseArgs (strict) throws. */
export function parseOptions<O extends Record<string, OptionSpec>>(
  args: readonly string[],
  options: O,
): { values: OptionValues<O>; positionals: string[] } {
  const values: Record<string, string | boolean> = Object.create(null) as Record<string, string | boolean>;
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const name of Object.keys(options)) {
    const short = options[name]?.short;
    if (short) byShort.set(short, name);
  }
  const unknown = (shown: string) =>
    new OptionError(
      `Unknown option '${shown}'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- ${JSON.stringify(shown)}`,
    );
  /** Sets option `name`; true when it took `next` as its value. */
  const take = (name: string, shown: string, inline: string | undefined, next: string | undefined) => {
    const spec = Object.hasOwn(options, name) ? options[name] : undefined;
    if (!spec) throw unknown(shown);
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new OptionError(`Option '${shown}' does not take an argument`);
      values[name] = true;
      return false;
    }
    if (inline !== undefined) {
      values[name] = inline;
      return false;
    }
    if (next === undefined) {
      const both = spec.short ? `-${spec.short}, --${name}` : `--${name}`;
      throw new OptionError(`Option '${both} <value>' argument missing`);
    }
    if (next.length > 1 && next.startsWith('-')) {
      const ways = shown.startsWith('--') ? `'--${name}=-XYZ'` : `'--${name}=-XYZ' or '${shown}-XYZ'`;
      throw new OptionError(
        `Option '${shown}' argument is ambiguous.\nDid you forget to specify the option argument for '${shown}'?\nTo specify an option argument starting with a dash use ${ways}.`,
      );
    }
    values[name] = next;
    return true;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const equals = arg.indexOf('=');
      const name = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
      const inline = equals === -1 ? undefined : arg.slice(equals + 1);
      if (name === '') throw unknown(arg);
      if (take(name, `--${name}`, inline, args[i + 1])) i++;
    } else if (arg.length > 1 && arg.startsWith('-')) {
      // One or more single-letter options; the last of a group may take the rest as its value.
      for (let c = 1; c < arg.length; c++) {
        const letter = arg.charAt(c);
        const name = byShort.get(letter);
        const shown = `-${letter}`;
        if (name === undefined) throw unknown(shown);
        if (options[name]?.type === 'string') {
          const rest = arg.slice(c + 1);
          if (take(name, shown, rest === '' ? undefined : rest, args[i + 1])) i++;
          break;
        }
        take(name, shown, undefined, undefined);
      }
    } else {
      positionals.push(arg);
    }
  }
  for (const name of Object.keys(options)) {
    const fallback = options[name]?.default;
    if (values[name] === undefined && fallback !== undefined) values[name] = fallback;
  }
  return { values: values as OptionValues<O>, positionals };
}
