// The CLI: a thin router from flags to library calls, renderers and exit codes.
// Exit codes: 0 ok / no changes, 1 error, 2 changes or drift present.
// Database clients (and, later, SDKs and the UI) load lazily: `wharf validate` never pays
// for them.
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import type { ApplyResult } from '../apply/apply.js';
import { readPlanFile } from '../commands/plan-file.js';
import { envNames } from '../config/env.js';
import { loadConfigFile } from '../config/load.js';
import { holdsSecret, passwordEnvNames, registerFileSecrets } from '../config/secrets.js';
import type { ConnectionConfig, LoadedConfig } from '../config/types.js';
import { blocksApply, type Diagnostic, hasErrors, type Plan } from '../plan/plan.js';
import type { OpenedConnection } from '../providers/connect.js';
import type { WarehouseProvider } from '../providers/provider.js';
import { renderPlanMarkdown } from '../render/markdown.js';
import { escapeControl } from '../render/safe-text.js';
import {
  COLOR,
  PLAIN,
  renderApplyResult,
  renderDiagnostics,
  renderPlanText,
  type Style,
} from '../render/text.js';
import { formatError, UsageError } from './errors.js';
import { redactingStream } from './redacting-stream.js';

export const VERSION = '0.1.0';

const USAGE = `wharf — warehouse sharing as code

Usage:
  wharf validate [-f wharf.yaml] [--json]
  wharf plan     [-f wharf.yaml] [--out plan.json] [--json | --markdown] [--detailed-exitcode] [-v]
  wharf apply    [-f wharf.yaml | plan.json] [--auto-approve] [--allow-destroy] [--allow-widen] [--lock-timeout 30s]
  wharf drift    [-f wharf.yaml] [--json] [-v]
  wharf show     plan.json [--json | --markdown]
  wharf sync     [-f wharf.yaml] [NAME...] [--dry-run] [--full-refresh] [--json] [--fail-fast]
                 [--lock-timeout 30s] [--batch-rows N]

Options:
  -f, --file FILE        config file (default wharf.yaml)
  --out FILE             plan: save the plan for a later "wharf apply FILE"
  --json                 machine-readable output (the plan contract, see README)
  --markdown             plan/show: Markdown for pull-request comments
  --detailed-exitcode    plan: exit 2 when there are changes
  --auto-approve         apply: do not ask for confirmation
  --allow-destroy        apply: allow drops, revokes and data-losing replaces
  --allow-widen          apply: allow changes that widen access (bucket policies, public access)
  --lock-timeout DUR     apply: wait this long for another apply's lock (default 0s);
                         sync: for another run of the same sync
  --dry-run              sync: print the SQL and the rows it would write; change nothing
  --full-refresh         sync: forget the watermark, empty the destination and reload
  --fail-fast            sync: stop at the first failed sync
  --batch-rows N         sync: rows per committed batch across connections
  -v, --verbose          list unmanaged objects that were left alone
  --no-color             plain output (also NO_COLOR=1)
  -h, --help             this text
  --version              print the version

Exit codes: 0 ok / no changes, 1 error (sync: any sync failed), 2 changes (plan --detailed-exitcode) or drift.
`;

interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

const cleanups = new Set<() => Promise<void>>();

/**
 * The process's streams, made safe for a reader that goes away (`wharf plan | head -1`):
 * the first failed write (EPIPE) turns later writes into no-ops instead of an uncaught
 * error, so the command finishes its work (a sync commits or rolls back as it would) and
 * exits quietly with its own exit code.
 */
export function processIo(): Io {
  return { stdout: guardPipe(process.stdout), stderr: guardPipe(process.stderr), stdin: process.stdin };
}

function guardPipe<T extends NodeJS.WritableStream>(stream: T): T {
  let gone = false;
  stream.on('error', () => {
    gone = true;
  });
  return new Proxy(stream, {
    get(target, key) {
      if (key === 'write')
        return (...args: Parameters<T['write']>) =>
          gone || (target as { destroyed?: boolean }).destroyed
            ? true
            : (target.write as (...a: unknown[]) => boolean)(...args);
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

export async function main(argv: string[], rawIo: Io = processIo()): Promise<number> {
  // Whatever is printed, by wharf or by a library it calls, goes through the secret filter.
  const io: Io = {
    stdout: redactingStream(rawIo.stdout),
    stderr: redactingStream(rawIo.stderr),
    stdin: rawIo.stdin,
  };
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    io.stderr.write(`error: ${(e as Error).message}\n\n${USAGE}`);
    return 1;
  }
  const { values: v, positionals } = parsed;
  const style: Style = v['no-color'] || process.env.NO_COLOR || !io.stdout.isTTY ? PLAIN : COLOR;
  const estyle: Style =
    v['no-color'] || process.env.NO_COLOR || !(io.stderr as { isTTY?: boolean }).isTTY ? PLAIN : COLOR;
  if (v.version) {
    io.stdout.write(`wharf ${VERSION}\n`);
    return 0;
  }
  const [command, ...args] = positionals;
  if (v.help || !command || command === 'help') {
    io.stdout.write(USAGE);
    return command || v.help ? 0 : 1;
  }
  const ctx: Ctx = { v, args, io, style, estyle };
  try {
    switch (command) {
      case 'validate':
        return cmdValidate(ctx);
      case 'plan':
        return await cmdPlan(ctx, false);
      case 'drift':
        return await cmdPlan(ctx, true);
      case 'apply':
        return await cmdApply(ctx);
      case 'sync': {
        const { cmdSync } = await import('./sync-command.js');
        return await cmdSync({
          load: () => load(ctx),
          names: args,
          json: Boolean(v.json),
          dryRun: Boolean(v['dry-run']),
          fullRefresh: Boolean(v['full-refresh']),
          failFast: Boolean(v['fail-fast']),
          lockTimeoutMs: parseDuration(v['lock-timeout'] ?? '0s'),
          ...(v['batch-rows'] !== undefined ? { batchRows: v['batch-rows'] } : {}),
          stdout: io.stdout,
          style,
        });
      }
      case 'show':
        return cmdShow(ctx);
      default:
        throw new UsageError(`unknown command "${command}"; see wharf --help`);
    }
  } catch (e) {
    io.stderr.write(`${estyle.red('error')}: ${formatError(e)}\n`);
    return 1;
  } finally {
    for (const c of cleanups) await c().catch(() => {});
    cleanups.clear();
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      file: { type: 'string', short: 'f' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      markdown: { type: 'boolean' },
      'detailed-exitcode': { type: 'boolean' },
      'auto-approve': { type: 'boolean' },
      'allow-destroy': { type: 'boolean' },
      'allow-widen': { type: 'boolean' },
      'lock-timeout': { type: 'string' },
      'dry-run': { type: 'boolean' },
      'full-refresh': { type: 'boolean' },
      'fail-fast': { type: 'boolean' },
      'batch-rows': { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      'no-color': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];
interface Ctx {
  v: Values;
  args: string[];
  io: Io;
  style: Style;
  estyle: Style;
}

/**
 * Loads and validates the config. On errors, prints every diagnostic and returns undefined;
 * otherwise warnings travel on in the loaded config (and so in the plan) unless `printWarnings`.
 */
function load(ctx: Ctx, printWarnings = false): LoadedConfig | undefined {
  const file = ctx.v.file ?? 'wharf.yaml';
  const { loaded, diagnostics } = loadConfigFile(file);
  const failed = !loaded || hasErrors(diagnostics);
  const lines = failed || printWarnings ? renderCapped(diagnostics, ctx.estyle) : [];
  if (lines.length) ctx.io.stderr.write(`${lines.join('\n')}\n`);
  if (failed) {
    const n = diagnostics.filter((d) => d.severity === 'error').length;
    ctx.io.stderr.write(
      `${n.toLocaleString('en-US')} error${n === 1 ? '' : 's'} in ${escapeControl(file)}; nothing was changed.\n`,
    );
    return undefined;
  }
  // Known before anything connects, so that no message, plan or file can show them.
  registerFileSecrets(
    Object.values(loaded.connections).map((c) => c.url),
    passwordEnvNames((loaded.config.roles ?? []).map((r) => r.password)),
  );
  return loaded;
}

/** At most this many diagnostics are printed; the rest are counted. */
export const MAX_SHOWN_DIAGNOSTICS = 100;

function renderCapped(diagnostics: readonly Diagnostic[], style: Style): string[] {
  const lines = renderDiagnostics(diagnostics.slice(0, MAX_SHOWN_DIAGNOSTICS), style);
  const rest = diagnostics.slice(MAX_SHOWN_DIAGNOSTICS);
  if (rest.length > 0) {
    const errors = rest.filter((d) => d.severity === 'error').length;
    const others = rest.length - errors;
    const parts = [
      ...(errors ? [`${errors.toLocaleString('en-US')} more error${errors === 1 ? '' : 's'}`] : []),
      ...(others ? [`${others.toLocaleString('en-US')} more warning${others === 1 ? '' : 's'}`] : []),
    ];
    lines.push(`… and ${parts.join(' and ')}`);
  }
  return lines;
}

function cmdValidate(ctx: Ctx): number {
  const file = ctx.v.file ?? 'wharf.yaml';
  if (ctx.v.json) {
    const { diagnostics } = loadConfigFile(file);
    ctx.io.stdout.write(`${JSON.stringify({ valid: !hasErrors(diagnostics), diagnostics }, null, 2)}\n`);
    return hasErrors(diagnostics) ? 1 : 0;
  }
  const loaded = load(ctx, true);
  if (!loaded) return 1;
  const c = loaded.config;
  const counts = [
    [c.schemas?.length ?? 0, 'schema'],
    [c.tables?.length ?? 0, 'table'],
    [c.roles?.length ?? 0, 'role'],
    [c.grants?.length ?? 0, 'grant'],
    [c.defaultPrivileges?.length ?? 0, 'default privilege'],
    ...(c.buckets?.length ? ([[c.buckets.length, 'bucket']] as const) : []),
    ...(c.syncs?.length ? ([[c.syncs.length, 'sync']] as const) : []),
    ...(c.datashares?.length ? ([[c.datashares.length, 'datashare']] as const) : []),
  ] as const;
  ctx.io.stdout.write(
    `${escapeControl(file)} is valid: ${counts.map(([n, w]) => `${n} ${w}${n === 1 ? '' : 's'}`).join(', ')}.\n`,
  );
  return 0;
}

async function cmdPlan(ctx: Ctx, drift: boolean): Promise<number> {
  const loaded = load(ctx);
  if (!loaded) return 1;
  const { planConfig } = await import('../commands/plan.js');
  const run = await planConfig(loaded);
  cleanups.add(run.close);
  const plan = run.plan;
  await run.close();
  if (ctx.v.out && !drift) writePlanFile(ctx.v.out, plan);
  if (ctx.v.json) ctx.io.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
  else if (ctx.v.markdown && !drift) ctx.io.stdout.write(renderPlanMarkdown(plan));
  else {
    const title = drift
      ? 'Drift: the live state differs from the file. Apply would make these changes:'
      : undefined;
    let text = renderPlanText(plan, {
      style: ctx.style,
      verbose: ctx.v.verbose,
      ...(title ? { title } : {}),
    });
    if (drift && plan.changes.length === 0)
      text = text.replace(
        'No changes. The live state matches the file.',
        'No drift. The live state matches the file.',
      );
    ctx.io.stdout.write(text);
    if (ctx.v.out && !drift)
      ctx.io.stdout.write(`\nSaved the plan to ${ctx.v.out}. Apply it with: wharf apply ${ctx.v.out}\n`);
  }
  if (hasErrors(plan.diagnostics)) return planErrors(ctx, plan);
  if ((drift || ctx.v['detailed-exitcode']) && plan.changes.length > 0) return 2;
  return 0;
}

/**
 * Saves the plan contract. A plan holds `${env:NAME}` references, never their values; should
 * a resolved secret appear in it all the same (a live object named like a password), the file
 * is not written at all rather than written with a secret in it or with a blanked, broken plan.
 */
function writePlanFile(file: string, plan: Plan): void {
  const text = `${JSON.stringify(plan, null, 2)}\n`;
  if (holdsSecret(text)) throw new SecretInOutputError(file);
  writeFileSync(file, text);
}

class SecretInOutputError extends Error {
  constructor(file: string) {
    super(
      `${file} was not written: the plan holds the value of a password this file references (is the password also the name of something in the file or the warehouse?); choose another password`,
    );
    this.name = 'SecretInOutputError';
  }
}

async function cmdApply(ctx: Ctx): Promise<number> {
  const lockTimeoutMs = parseDuration(ctx.v['lock-timeout'] ?? '0s');
  const saved = ctx.args[0];
  let plan: Plan;
  let conns: Map<string, OpenedConnection>;
  let allowWiden = Boolean(ctx.v['allow-widen']);
  if (saved) {
    if (ctx.v.file) throw new UsageError('give either a saved plan or -f, not both');
    plan = readPlanFile(saved);
    registerFileSecrets(
      Object.values(plan.connections).map((c) => (c.spec as { url?: string }).url),
      plan.changes.flatMap((c) => c.statements.flatMap((st) => (st.secrets ? envNames(st.sql) : []))),
    );
    conns = new Map();
    cleanups.add(async () => {
      for (const c of conns.values()) await c.close();
    });
    for (const [name, rec] of Object.entries(plan.connections)) {
      if (!plan.changes.some((c) => c.connection === name)) continue;
      const { openConnection } = await import('../providers/connect.js');
      conns.set(name, await openConnection(name, rec.spec as unknown as ConnectionConfig, plan.baseDir));
    }
    if (!ctx.v.json) ctx.io.stdout.write(renderPlanText(plan, { style: ctx.style, verbose: ctx.v.verbose }));
  } else {
    const loaded = load(ctx);
    if (!loaded) return 1;
    const { planConfig } = await import('../commands/plan.js');
    const run = await planConfig(loaded);
    cleanups.add(run.close);
    plan = run.plan;
    conns = run.connections;
    if (!ctx.v.json) ctx.io.stdout.write(renderPlanText(plan, { style: ctx.style, verbose: ctx.v.verbose }));
    if (hasErrors(plan.diagnostics)) return planErrors(ctx, plan);
    if (!ctx.v['auto-approve'] && plan.changes.length > 0) {
      if (!ctx.io.stdin.isTTY) {
        throw new UsageError(
          'not a terminal: apply needs --auto-approve, or a saved plan (wharf plan --out plan.json; wharf apply plan.json)',
        );
      }
      if (plan.summary.destructive > 0 && !ctx.v['allow-destroy']) {
        throw new UsageError(
          `the plan has ${plan.summary.destructive} destructive change(s); re-run with --allow-destroy to apply them`,
        );
      }
      // Widening access is approved here, at the terminal, or with --allow-widen.
      const widen = plan.changes.filter((c) => c.widening).length;
      const ok = await confirm(
        ctx,
        widen > 0 && !allowWiden
          ? `${widen} change(s) widen access (marked [widens access]). Apply these changes, including the wider access? Only "yes" is accepted: `
          : 'Apply these changes? Only "yes" is accepted: ',
      );
      if (!ok) {
        ctx.io.stdout.write('Apply cancelled; nothing was changed.\n');
        return 1;
      }
      allowWiden = true;
    }
  }
  if (plan.changes.length === 0) {
    ctx.io.stdout.write(
      ctx.v.json ? `${JSON.stringify({ ok: true, results: [] }, null, 2)}\n` : 'Nothing to apply.\n',
    );
    return 0;
  }
  const providers = new Map<string, WarehouseProvider>([...conns].map(([n, c]) => [n, c.provider]));
  const holder = `wharf apply (${safeUser()}@${os.hostname()} pid ${process.pid})`;
  const progress = !ctx.v.json;
  const { applyPlan } = await import('../apply/apply.js');
  const result: ApplyResult = await applyPlan(plan, providers, {
    allowDestroy: Boolean(ctx.v['allow-destroy']),
    allowWiden,
    lockTimeoutMs,
    holder,
    hooks: progress
      ? {
          onChangeEnd: (r, i, total) => {
            const tag = r.status === 'done' ? ctx.style.green('done') : ctx.style.red(r.status);
            ctx.io.stdout.write(`[${i + 1}/${total}] ${r.address}: ${tag}\n`);
          },
        }
      : {},
  });
  if (ctx.v.json) ctx.io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else ctx.io.stdout.write(renderApplyResult(result, ctx.style));
  return result.ok ? 0 : 1;
}

/** A plan with errors: they go to stderr too (the plan itself went to stdout), then exit 1. */
function planErrors(ctx: Ctx, plan: Plan): number {
  const errors = plan.diagnostics.filter(blocksApply);
  ctx.io.stderr.write(`${renderDiagnostics(errors, ctx.estyle).join('\n')}\n`);
  ctx.io.stderr.write(
    `${errors.length} error${errors.length === 1 ? '' : 's'} in the plan; nothing was changed.\n`,
  );
  return 1;
}

function cmdShow(ctx: Ctx): number {
  const file = ctx.args[0];
  if (!file) throw new UsageError('show needs a plan file: wharf show plan.json');
  const plan = readPlanFile(file);
  if (ctx.v.json) ctx.io.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
  else if (ctx.v.markdown) ctx.io.stdout.write(renderPlanMarkdown(plan));
  else ctx.io.stdout.write(renderPlanText(plan, { style: ctx.style, verbose: ctx.v.verbose }));
  return 0;
}

async function confirm(ctx: Ctx, question: string): Promise<boolean> {
  const rl = createInterface({ input: ctx.io.stdin, output: ctx.io.stdout });
  try {
    return (await rl.question(question)).trim() === 'yes';
  } finally {
    rl.close();
  }
}

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new UsageError(`invalid duration "${s}": use e.g. 500ms, 30s, 5m`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

export function readJsonFile(file: string): unknown {
  return JSON.parse(readFileSync(path.resolve(file), 'utf8'));
}
