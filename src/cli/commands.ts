// What each command accepts: its options, its arguments, its help text with examples. The
// parser (args.ts) refuses whatever a command does not list; `wharf <command> --help` and
// `wharf help <command>` print the command's own text from here.

export type OptionName =
  | 'file'
  | 'var'
  | 'var-file'
  | 'out'
  | 'target'
  | 'json'
  | 'markdown'
  | 'detailed-exitcode'
  | 'auto-approve'
  | 'allow-destroy'
  | 'allow-widen'
  | 'lock-timeout'
  | 'dry-run'
  | 'full-refresh'
  | 'fail-fast'
  | 'batch-rows'
  | 'verbose'
  | 'no-color'
  | 'plain'
  | 'help'
  | 'version'
  // wharf inspect
  | 'connection'
  | 'schema'
  | 'role'
  | 'bucket'
  | 'force';

export interface OptionSpec {
  type: 'boolean' | 'string';
  short?: string;
  /** The value's placeholder in help texts, for string options. */
  value?: string;
  /** A string option that may be given several times (its values are kept in order). */
  multiple?: boolean;
}

export const OPTIONS: Record<OptionName, OptionSpec> = {
  file: { type: 'string', short: 'f', value: 'FILE' },
  var: { type: 'string', value: 'NAME=VALUE', multiple: true },
  'var-file': { type: 'string', value: 'FILE' },
  out: { type: 'string', value: 'FILE' },
  target: { type: 'string', value: 'ADDRESS', multiple: true },
  json: { type: 'boolean' },
  markdown: { type: 'boolean' },
  'detailed-exitcode': { type: 'boolean' },
  'auto-approve': { type: 'boolean' },
  'allow-destroy': { type: 'boolean' },
  'allow-widen': { type: 'boolean' },
  'lock-timeout': { type: 'string', value: 'DURATION' },
  'dry-run': { type: 'boolean' },
  'full-refresh': { type: 'boolean' },
  'fail-fast': { type: 'boolean' },
  'batch-rows': { type: 'string', value: 'N' },
  verbose: { type: 'boolean', short: 'v' },
  'no-color': { type: 'boolean' },
  plain: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  // wharf inspect
  connection: { type: 'string', value: 'NAME', multiple: true },
  schema: { type: 'string', value: 'NAME', multiple: true },
  role: { type: 'string', value: 'NAME', multiple: true },
  bucket: { type: 'string', value: 'NAME', multiple: true },
  force: { type: 'boolean' },
};

/**
 * Terraform's single-dash spellings of the options wharf shares with it, so that
 * `wharf plan -out=plan.json` and `wharf apply -auto-approve -lock-timeout=30s` work.
 */
export const TERRAFORM_SPELLINGS: ReadonlySet<string> = new Set([
  'out',
  'target',
  'var',
  'var-file',
  'auto-approve',
  'detailed-exitcode',
  'lock-timeout',
  'no-color',
  'json',
  'help',
  'version',
]);

export type CommandName =
  | 'validate'
  | 'plan'
  | 'apply'
  | 'drift'
  | 'show'
  | 'sync'
  | 'inspect'
  | 'help'
  | 'version';

export interface CommandSpec {
  name: CommandName;
  /** One line for the overview. */
  summary: string;
  usage: string[];
  description: string;
  /** The options it takes, each with what it means for this command. */
  options: [OptionName, string][];
  /** Positional arguments: how many, and what they are called in messages. */
  args: { min: number; max: number; name: string };
  examples: string[];
  exitCodes: string;
}

const FILE: [OptionName, string] = [
  'file',
  'the config file (default wharf.yaml), or a folder whose *.yaml files are read as one',
];
const VAR: [OptionName, string] = [
  'var',
  'a value for ${env:NAME} (repeatable; wins over --var-file and the environment)',
];
const VAR_FILE: [OptionName, string] = [
  'var-file',
  'NAME=value lines (# comments) for ${env:NAME}; wins over the environment',
];
const NO_COLOR: [OptionName, string] = [
  'no-color',
  'plain output (also NO_COLOR=1; off anyway when not a terminal)',
];
const HELP: [OptionName, string] = ['help', 'this text'];
const TARGET: [OptionName, string] = [
  'target',
  'only the changes at this address and those they need (repeatable; a final * matches a prefix: warehouse.grant:*)',
];
const VERBOSE: [OptionName, string] = ['verbose', 'also list the unmanaged objects that were left alone'];

export const COMMANDS: Record<CommandName, CommandSpec> = {
  validate: {
    name: 'validate',
    summary: 'check the file; touches nothing, needs no connection',
    usage: ['wharf validate [-f FILE|DIR] [--var NAME=VALUE]... [--var-file FILE] [--json]'],
    description:
      'Parses the file and checks it against the schema and the rules. Connects to nothing. The\n${env:NAME} of secret fields (url, secretArn, password) need not be set; the others must\nbe (or have a default), since their values are what is checked.',
    options: [FILE, VAR, VAR_FILE, ['json', 'print {"valid", "diagnostics"} as JSON'], NO_COLOR, HELP],
    args: { min: 0, max: 0, name: '' },
    examples: ['wharf validate', 'wharf validate -f examples/quickstart.yaml --json'],
    exitCodes: '0 valid, 1 problems',
  },
  plan: {
    name: 'plan',
    summary: 'show what apply would change, with the SQL and API calls',
    usage: [
      'wharf plan [-f FILE|DIR] [--var NAME=VALUE]... [--var-file FILE] [--target ADDRESS]... [--out plan.json] [--json | --markdown] [--detailed-exitcode] [-v]',
    ],
    description:
      'Reads the live state and prints the ordered changes apply would make. Runs nothing from the\nfile. Errors in the plan also go to stderr. With --target, a partial plan: only the changes at\nthose addresses and the ones they need, said at its top; a target that matches nothing is an error.',
    options: [
      FILE,
      VAR,
      VAR_FILE,
      TARGET,
      ['out', 'save the plan for a later "wharf apply FILE" (never written when the plan has errors)'],
      ['json', 'print the plan contract as JSON (see README)'],
      ['markdown', 'print Markdown, for pull-request comments'],
      ['detailed-exitcode', 'exit 2 when there are changes, 0 when there are none'],
      VERBOSE,
      NO_COLOR,
      HELP,
    ],
    args: { min: 0, max: 0, name: '' },
    examples: [
      'wharf plan -f examples/quickstart.yaml',
      'wharf plan --markdown --detailed-exitcode > plan.md',
      'wharf plan --out plan.json        (Terraform spelling: -out=plan.json)',
      'wharf plan -f wharf/ --var-file staging.env --var REGION=eu-west-1',
      "wharf plan -target 'warehouse.grant:*' --out plan.json    (a partial plan: the grants and what they need)",
    ],
    exitCodes: '0 ok (with --detailed-exitcode: no changes), 2 changes (with --detailed-exitcode), 1 error',
  },
  apply: {
    name: 'apply',
    summary: 'make the live state match the file (or a saved plan)',
    usage: [
      'wharf apply [-f FILE|DIR] [--var NAME=VALUE]... [--target ADDRESS]... [--auto-approve] [--allow-destroy] [--allow-widen] [--lock-timeout 30s] [--json] [--plain] [-v]',
      'wharf apply plan.json [--var NAME=VALUE]... [--allow-destroy] [--allow-widen] [--lock-timeout 30s] [--json] [-v]',
    ],
    description:
      'Plans, asks for confirmation on a terminal, then applies the changes in order, each in its\nown transaction. On a terminal the review screen opens: the changes by connection and kind,\ntheir diffs and SQL, who gains or loses access; a approves (typing the count of destructive\nand widening changes when there are any, then y), q leaves with nothing changed, ? lists the\nkeys, and the apply then runs on the same screen. With --plain, or when CI is set, it asks\n"yes" at a plain prompt instead. Without a terminal it needs --auto-approve or a saved plan.\nA saved plan is refused when the live state changed since it was made. With --target, only\nthe changes at those addresses and the ones they need are planned and applied.',
    options: [
      FILE,
      VAR,
      VAR_FILE,
      TARGET,
      ['auto-approve', 'do not ask for confirmation'],
      ['allow-destroy', 'allow drops, revokes and data-losing replaces'],
      ['allow-widen', 'allow changes that widen access (bucket policies, public access)'],
      ['lock-timeout', "wait this long for another apply's lock (default 0s)"],
      ['json', 'print the result per change as JSON'],
      ['plain', 'on a terminal, ask "yes" at a plain prompt instead of opening the review screen'],
      VERBOSE,
      NO_COLOR,
      HELP,
    ],
    args: { min: 0, max: 1, name: 'saved plan' },
    examples: [
      'wharf apply -f examples/quickstart.yaml --auto-approve',
      'wharf plan --out plan.json && wharf apply plan.json',
      'wharf apply -auto-approve -lock-timeout=30s      (Terraform spellings)',
      'wharf apply -target warehouse.role:vendor --auto-approve',
    ],
    exitCodes:
      '0 applied (or nothing to do), 1 refused or failed, 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM',
  },
  drift: {
    name: 'drift',
    summary: 'like plan, for cron: exit 2 when the live state differs from the file',
    usage: ['wharf drift [-f FILE|DIR] [--var NAME=VALUE]... [--var-file FILE] [--json | --markdown] [-v]'],
    description:
      'Reads the live state and compares it with the file. When the comparison cannot be made\n(an error in the plan), it says so and exits 1: it never reports "no drift" it could not check.',
    options: [
      FILE,
      VAR,
      VAR_FILE,
      ['json', 'print the drift report: the plan contract plus "drift" (status, checkedAt)'],
      ['markdown', 'print Markdown, for an issue or a chat message'],
      VERBOSE,
      NO_COLOR,
      HELP,
    ],
    args: { min: 0, max: 0, name: '' },
    examples: ['wharf drift', 'wharf drift --json > drift.json', 'wharf drift --markdown > drift.md'],
    exitCodes: '0 no drift, 2 drift, 1 error (could not tell)',
  },
  show: {
    name: 'show',
    summary: 'print a saved plan',
    usage: ['wharf show plan.json [--json | --markdown] [--plain] [-v]'],
    description:
      'Prints a plan saved with wharf plan --out. On a terminal it opens the review screen,\nread-only (q leaves); --plain, --json, --markdown, a pipe or CI set print text instead.',
    options: [
      ['json', 'print the plan contract as JSON'],
      ['markdown', 'print Markdown, for pull-request comments'],
      ['plain', 'on a terminal, print the plan as text instead of opening the review screen'],
      VERBOSE,
      NO_COLOR,
      HELP,
    ],
    args: { min: 1, max: 1, name: 'plan file' },
    examples: ['wharf show plan.json', 'wharf show plan.json --markdown > plan.md'],
    exitCodes: '0 ok, 1 unreadable plan',
  },
  sync: {
    name: 'sync',
    summary: "run the file's syncs (or the named ones)",
    usage: [
      'wharf sync [-f FILE|DIR] [--var NAME=VALUE]... [--var-file FILE] [NAME...] [--dry-run] [--full-refresh] [--json] [--fail-fast]',
      '           [--lock-timeout 30s] [--batch-rows N]',
    ],
    description:
      "Runs the file's syncs, or the named ones, in file order: into tables, and into files under bucket prefixes (exports). See docs/syncs.md and docs/exports.md.",
    options: [
      FILE,
      VAR,
      VAR_FILE,
      ['dry-run', 'print the SQL and the rows it would write; change nothing'],
      ['full-refresh', 'forget the watermark, empty the destination and reload'],
      ['json', 'print {"ok", "syncs": [...]} for schedulers'],
      ['fail-fast', 'stop at the first failed sync'],
      ['lock-timeout', 'wait this long for another run of the same sync (default 0s)'],
      ['batch-rows', 'rows per committed batch across connections (default 50,000)'],
      NO_COLOR,
      HELP,
    ],
    args: { min: 0, max: Number.POSITIVE_INFINITY, name: 'sync name' },
    examples: ['wharf sync -f examples/quickstart.yaml', 'wharf sync events users --dry-run'],
    exitCodes: '0 every sync ok, 1 any failed (or bad file), 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM',
  },
  inspect: {
    name: 'inspect',
    summary: 'write a wharf file from a live warehouse and its buckets',
    usage: [
      'wharf inspect [-f FILE] [--connection NAME]... [--schema NAME]... [--role NAME]... [--bucket NAME]...',
      '              [--var NAME=VALUE]... [--var-file FILE] [--out FILE [--force]]',
    ],
    description:
      "Reads the named schemas, roles and buckets through the file's connections (the same read as\nplan) and prints a wharf file that, planned against them, changes nothing: the schemas with\ntheir tables, the roles with their memberships and the roles they name, the grants and default\nprivileges those roles hold there, datashares, buckets with their settings and policy. Schemas\nand roles wharf created are always included (apply would drop them otherwise). Passwords are\nnever read: a login role gets a ${env:NAME_PASSWORD} reference. What it sees but cannot write\nis listed on stderr and as comments in the file.",
    options: [
      ['file', 'a file declaring the connections (default wharf.yaml); its other sections are ignored'],
      ['connection', 'a connection of the file to read (repeatable; default every one)'],
      ['schema', 'a schema to write, with its tables and the grants on them (repeatable)'],
      ['role', 'a role to write, with its memberships, grants and default privileges (repeatable)'],
      ['bucket', 'a bucket of a bucket connection to write (repeatable)'],
      VAR,
      VAR_FILE,
      ['out', 'write the file there instead of stdout'],
      ['force', 'with --out, overwrite an existing file'],
      NO_COLOR,
      HELP,
    ],
    args: { min: 0, max: 0, name: '' },
    examples: [
      'wharf inspect -f connections.yaml --schema analytics --role vendor --out wharf.yaml',
      'wharf inspect -f connections.yaml --connection warehouse --schema raw --connection drop --bucket acme-drop',
    ],
    exitCodes: '0 written, 1 error (or the file exists without --force)',
  },
  help: {
    name: 'help',
    summary: 'print the help of a command',
    usage: ['wharf help [COMMAND]'],
    description: 'Prints the overview, or the help of one command (the same as wharf COMMAND --help).',
    options: [HELP],
    args: { min: 0, max: 1, name: 'command' },
    examples: ['wharf help plan'],
    exitCodes: '0 ok, 1 unknown command',
  },
  version: {
    name: 'version',
    summary: 'print the version',
    usage: ['wharf version'],
    description: 'Prints the version of wharf (also wharf --version).',
    options: [HELP],
    args: { min: 0, max: 0, name: '' },
    examples: ['wharf version'],
    exitCodes: '0',
  },
};

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

function optionLabel(name: OptionName): string {
  const o = OPTIONS[name];
  return `${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ` ${o.value}` : ''}`;
}

function optionLines(options: [OptionName, string][]): string[] {
  const width = Math.max(...options.map(([n]) => optionLabel(n).length)) + 2;
  return options.map(([n, text]) => `  ${optionLabel(n).padEnd(width)}${text}`);
}

/** `wharf <command> --help`. */
export function commandHelp(name: CommandName): string {
  const c = COMMANDS[name];
  return [
    `Usage: ${c.usage.join('\n       ')}`,
    '',
    c.description,
    '',
    'Options:',
    ...optionLines(c.options),
    '',
    'Examples:',
    ...c.examples.map((e) => `  ${e}`),
    '',
    `Exit codes: ${c.exitCodes}.`,
    '',
  ].join('\n');
}

/** `wharf --help`, and what `wharf` alone prints (on stderr). */
export function overview(): string {
  const names = Object.values(COMMANDS);
  const width = Math.max(...names.map((c) => c.name.length)) + 2;
  return [
    'wharf — warehouse sharing as code',
    '',
    'Usage: wharf COMMAND [options]',
    '',
    'Commands:',
    ...names.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Every command takes -h, --help (its own options and examples) and --no-color.',
    "Terraform's single-dash spellings work too: -out=plan.json, -target=ADDRESS, -auto-approve,",
    '-detailed-exitcode, -lock-timeout=30s, -no-color, -json.',
    '',
    'Exit codes: 0 ok / no changes, 1 error or refusal, 2 changes (plan --detailed-exitcode) or drift,',
    '129/130/143 stopped by SIGHUP/SIGINT/SIGTERM.',
    '',
    'Examples:',
    '  wharf apply -f examples/quickstart.yaml --auto-approve',
    '  wharf plan --help',
    '',
  ].join('\n');
}
