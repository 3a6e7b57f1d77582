// The command line, read against what each command accepts (commands.ts). A problem is one
// line naming the option and pointing at the command's help, never the whole usage; options
// may come before or after the command; Terraform's single-dash spellings of the options
// wharf shares with it are read as the double-dash ones.
import { parseArgs } from 'node:util';
import {
  COMMANDS,
  type CommandName,
  isCommand,
  OPTIONS,
  type OptionName,
  TERRAFORM_SPELLINGS,
} from './commands.js';
import { UsageError } from './errors.js';

/** The options given: a string option's value, `true` for a boolean one. */
export interface Values {
  file?: string;
  var?: string[];
  'var-file'?: string;
  out?: string;
  target?: string[];
  'lock-timeout'?: string;
  'batch-rows'?: string;
  json?: boolean;
  markdown?: boolean;
  'detailed-exitcode'?: boolean;
  'auto-approve'?: boolean;
  'allow-destroy'?: boolean;
  'allow-widen'?: boolean;
  'dry-run'?: boolean;
  'full-refresh'?: boolean;
  'fail-fast'?: boolean;
  verbose?: boolean;
  'no-color'?: boolean;
  plain?: boolean;
  help?: boolean;
  version?: boolean;
  // wharf inspect
  connection?: string[];
  schema?: string[];
  role?: string[];
  bucket?: string[];
  force?: boolean;
}

export type ParsedArgs =
  | { kind: 'help'; command?: CommandName }
  | { kind: 'version' }
  | { kind: 'usage' }
  | { kind: 'run'; command: CommandName; values: Values; args: string[] };

const LONG_NAMES = new Set(Object.keys(OPTIONS));

export function parseCommandLine(argv: string[]): ParsedArgs {
  const { args: normalized, problem } = terraformSpellings(argv);
  const { tokens } = parseArgs({
    args: normalized,
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const positionals = tokens.filter((t) => t.kind === 'positional').map((t) => t.value);
  const options = tokens.flatMap((t) => (t.kind === 'option' ? [t] : []));
  const first = positionals[0];
  const command = first !== undefined && isCommand(first) ? first : undefined;
  const see = command ? `see wharf ${command} --help` : 'see wharf --help';

  if (options.some((o) => o.name === 'help')) {
    if (first !== undefined && !command) throw new UsageError(`unknown command "${first}"; see wharf --help`);
    return { kind: 'help', ...(command ? { command } : {}) };
  }
  if (first !== undefined && !command) throw new UsageError(`unknown command "${first}"; see wharf --help`);
  if (problem) throw new UsageError(`${problem}; ${see}`);

  const accepted = new Set<string>(
    command ? COMMANDS[command].options.map(([n]) => n) : ['no-color', 'version'],
  );
  const values: Values = {};
  const set = values as Record<string, string | boolean | string[]>;
  for (const o of options) {
    const raw = o.rawName;
    if (!LONG_NAMES.has(o.name)) throw new UsageError(`unknown option ${raw}; ${see}`);
    const name = o.name as OptionName;
    if (!accepted.has(name)) {
      if (!command) throw new UsageError(`no command given for ${raw}; see wharf --help`);
      const takers = Object.values(COMMANDS)
        .filter((c) => c.options.some(([n]) => n === name))
        .map((c) => c.name);
      throw new UsageError(
        `${command} does not take ${raw}${takers.length ? ` (an option of ${takers.join(', ')})` : ''}; ${see}`,
      );
    }
    const spec = OPTIONS[name];
    if (spec.type === 'boolean') {
      if (o.inlineValue) throw new UsageError(`${raw} takes no value; ${see}`);
      set[name] = true;
    } else {
      if (o.value === undefined || (!o.inlineValue && o.value.startsWith('-')) || o.value === '')
        throw new UsageError(`${raw} needs a value (${spec.value}); ${see}`);
      if (spec.multiple) set[name] = [...((set[name] as string[] | undefined) ?? []), o.value];
      else {
        if (set[name] !== undefined) throw new UsageError(`${raw} is given twice; ${see}`);
        set[name] = o.value;
      }
    }
  }

  if (!command) return values.version ? { kind: 'version' } : { kind: 'usage' };
  const args = positionals.slice(1);
  const want = COMMANDS[command].args;
  if (command === 'help') {
    const topic = args[0];
    if (args.length > 1) throw new UsageError(`help takes one command name; ${see}`);
    if (topic !== undefined && !isCommand(topic))
      throw new UsageError(`unknown command "${topic}"; see wharf --help`);
    return { kind: 'help', ...(topic ? { command: topic as CommandName } : {}) };
  }
  if (command === 'version') {
    if (args.length > 0) throw new UsageError(`version takes no arguments; ${see}`);
    return { kind: 'version' };
  }
  if (args.length < want.min) throw new UsageError(`${command} needs a ${want.name}; ${see}`);
  if (args.length > want.max) {
    const extra = args.slice(want.max).map((a) => `"${a}"`);
    throw new UsageError(
      want.max === 0
        ? `${command} takes no arguments (got ${extra.join(' ')}); ${see}`
        : `${command} takes at most ${want.max} ${want.name} (got also ${extra.join(' ')}); ${see}`,
    );
  }
  return { kind: 'run', command, values, args };
}

/**
 * `-out=plan.json`, `-auto-approve`, `-lock-timeout 30s` … → their `--` forms. Other single-dash
 * words are taken out here, before node's parser reads `-var` as `-v -a -r`: the first is the
 * problem to report once the command is known.
 */
function terraformSpellings(argv: string[]): { args: string[]; problem?: string } {
  const out: string[] = [];
  let problem: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^-([a-zA-Z][a-zA-Z0-9-]*)(=.*)?$/s.exec(a);
    if (!m || (m[1]!.length === 1 && m[2] === undefined)) {
      out.push(a);
      continue;
    }
    const name = m[1]!;
    const value = m[2];
    if (TERRAFORM_SPELLINGS.has(name)) out.push(`--${name}${value ?? ''}`);
    else if (name === 'f' && value !== undefined)
      out.push('-f', value.slice(1)); // -f=wharf.yaml
    else if (name.startsWith('f') && !LONG_NAMES.has(name))
      out.push(a); // -fwharf.yaml
    else if (value === undefined && /^[vh]+$/.test(name))
      out.push(a); // -vh
    else if (LONG_NAMES.has(name)) problem ??= `unknown option ${a}: wharf spells it --${name}${value ?? ''}`;
    else problem ??= `unknown option ${a.replace(/=.*$/s, '')}`;
  }
  return { args: out, ...(problem ? { problem } : {}) };
}
