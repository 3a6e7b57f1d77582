// The CLI: a thin router from the command line (args.ts, commands.ts) to library calls,
// renderers and exit codes. Exit codes: 0 ok / no changes, 1 error or refusal, 2 changes or
// drift present, 128 + the signal's number when stopped by a signal (signals.ts).
// Database clients, the AWS SDKs and the ink UI load lazily (dynamic import): `wharf validate`
// never pays for them.
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { ApplyResult } from '../apply/apply.js';
import { readPlanFile } from '../commands/plan-file.js';
import { durationProblem, parseDuration } from '../config/duration.js';
import { envNames, parseVarFile, setCommandLineVariables, VARIABLE_NAME_RE } from '../config/env.js';
import { holdsSecret, passwordEnvNames, registerFileSecrets } from '../config/secrets.js';
import type { ConnectionConfig, LoadedConfig } from '../config/types.js';
import { type DriftReport, driftReport } from '../plan/drift.js';
import { blocksApply, type Diagnostic, hasErrors, type Plan } from '../plan/plan.js';
import type { OpenedConnection } from '../providers/connect.js';
import type { WarehouseProvider } from '../providers/provider.js';
import { renderDriftMarkdown, renderPlanMarkdown } from '../render/markdown.js';
import { escapeControl } from '../render/safe-text.js';
import {
  COLOR,
  PLAIN,
  renderApplyResult,
  renderDiagnostics,
  renderPlanText,
  type Style,
} from '../render/text.js';
import type { ReviewScreen } from '../ui/review/screen.js';
import { type ParsedArgs, parseCommandLine, type Values } from './args.js';
import { type CommandName, commandHelp, overview } from './commands.js';
import { formatError, UsageError } from './errors.js';
import { redactingStream } from './redacting-stream.js';
import { guardSignals, SIGNAL_EXIT_CODES, type SignalGuard } from './signals.js';

interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

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

export interface MainOptions {
  /**
   * Stop cleanly on SIGHUP, SIGINT and SIGTERM (see signals.ts). Only the executable sets it:
   * in-process callers such as the tests keep the host's signal handling.
   */
  handleSignals?: boolean;
}

/** Commands that may connect, and so hold the embedded warehouse. */
const CONNECTING = new Set<CommandName>(['plan', 'apply', 'drift', 'sync', 'inspect']);

export async function main(
  argv: string[],
  rawIo: Io = processIo(),
  options: MainOptions = {},
): Promise<number> {
  // Whatever is printed, by wharf or by a library it calls, goes through the secret filter.
  const io: Io = {
    stdout: redactingStream(rawIo.stdout),
    stderr: redactingStream(rawIo.stderr),
    stdin: rawIo.stdin,
  };
  const colorOff = argv.some((a) => a === '--no-color' || a === '-no-color') || Boolean(process.env.NO_COLOR);
  const estyle: Style = colorOff || !(io.stderr as { isTTY?: boolean }).isTTY ? PLAIN : COLOR;
  let parsed: ParsedArgs;
  try {
    parsed = parseCommandLine(argv);
  } catch (e) {
    io.stderr.write(`${estyle.red('error')}: ${formatError(e)}\n`);
    return 1;
  }
  switch (parsed.kind) {
    case 'usage':
      // Like Terraform: no command prints the overview and fails, on stderr so that a script
      // capturing stdout gets nothing it could mistake for output.
      io.stderr.write(overview());
      return 1;
    case 'help':
      io.stdout.write(parsed.command ? commandHelp(parsed.command) : overview());
      return 0;
    case 'version':
      io.stdout.write(`wharf ${version()}\n`);
      return 0;
    case 'run':
      break;
    default: {
      const never: never = parsed;
      throw new Error(`unhandled ${String(never)}`);
    }
  }
  const { command, values: v, args } = parsed;
  const style: Style = colorOff || !io.stdout.isTTY ? PLAIN : COLOR;
  const cleanups = new Set<() => Promise<void>>();
  const cleanUp = async () => {
    for (const c of cleanups) await c().catch(() => {});
    cleanups.clear();
  };
  const guard = options.handleSignals
    ? guardSignals({
        stderr: io.stderr,
        exit: (code) => process.exit(code),
        cleanup: async () => {
          await cleanUp();
          // Whatever the command had not handed to `cleanups` yet (a connection being
          // opened, a sync's sessions): the embedded warehouse's lease is let go all the same.
          if (CONNECTING.has(command)) {
            const { releaseHeldLocalServers } = await import('../providers/local/local-server.js');
            await releaseHeldLocalServers();
          }
        },
      })
    : undefined;
  // The loader brings the YAML parser and the SQL parser (WASM): only for commands that read a file.
  // The engines (src/engines.ts) come with it: the core looks them up from here on.
  if (command !== 'show') await import('../engines.js');
  const config = command === 'show' ? undefined : await import('../config/load.js');
  const ctx: Ctx = { command, v, args, io, style, estyle, cleanups, guard, config };
  try {
    setCommandLineVariables(commandLineVariables(ctx));
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
        const lockTimeoutMs = durationOption(ctx);
        ctx.guard?.setNote(
          'batches already committed stay, with their watermark; run wharf sync again to go on',
        );
        const { cmdSync } = await import('./sync-command.js');
        const code = await cmdSync({
          load: () => load(ctx),
          names: args,
          json: Boolean(v.json),
          dryRun: Boolean(v['dry-run']),
          fullRefresh: Boolean(v['full-refresh']),
          failFast: Boolean(v['fail-fast']),
          lockTimeoutMs,
          ...(v['batch-rows'] !== undefined ? { batchRows: v['batch-rows'] } : {}),
          stdout: io.stdout,
          style,
        });
        return code;
      }
      case 'show':
        return await cmdShow(ctx);
      case 'inspect': {
        ctx.guard?.setNote('nothing was changed');
        const loaded = load(ctx);
        if (!loaded) return 1;
        const { cmdInspect } = await import('../commands/inspect-command.js');
        return await cmdInspect(loaded, ctx.v, ctx.io);
      }
      case 'help':
      case 'version':
        throw new Error(`${command} is answered before any command runs`);
      default: {
        const never: never = command;
        throw new UsageError(`unknown command "${String(never)}"; see wharf --help`);
      }
    }
  } catch (e) {
    io.stderr.write(`${estyle.red('error')}: ${formatError(e)}\n`);
    return 1;
  } finally {
    await cleanUp();
    guard?.dispose();
  }
}

let packageJsonVersion: string | undefined;

/** wharf's version, from its package.json (one level above dist/ and src/). */
export function version(): string {
  packageJsonVersion ??= (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
  return packageJsonVersion;
}

/**
 * The values `--var NAME=value` and `--var-file FILE` give `${env:NAME}`: `--var` wins over the
 * file, the file over the environment. A problem names the option, never a value.
 */
function commandLineVariables(ctx: Ctx): Record<string, string> {
  const see = `see wharf ${ctx.command} --help`;
  const out: Record<string, string> = {};
  const varFile = ctx.v['var-file'];
  if (varFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(varFile, 'utf8');
    } catch (e) {
      throw new UsageError(
        `--var-file ${escapeControl(varFile)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? 'error'}); ${see}`,
      );
    }
    const { vars, problems } = parseVarFile(text, escapeControl(varFile));
    if (problems.length > 0) throw new UsageError(`--var-file ${problems.join('\n')}`);
    Object.assign(out, vars);
  }
  // Like Terraform, a name given twice takes its last value.
  for (const item of ctx.v.var ?? []) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? '' : item.slice(0, eq);
    if (!VARIABLE_NAME_RE.test(name))
      throw new UsageError(
        `--var takes NAME=value, with NAME made of letters, digits and _ (not starting with a digit); ${see}`,
      );
    out[name] = item.slice(eq + 1);
  }
  return out;
}

/** `--target`: the addresses (or `*` prefixes) a partial plan is limited to (src/plan/target.ts). */
function targetOption(ctx: Ctx): { targets?: string[] } {
  return ctx.v.target?.length ? { targets: ctx.v.target } : {};
}

/** `--lock-timeout` in milliseconds (default 0); the one duration grammar of config/duration.ts. */
function durationOption(ctx: Ctx): number {
  const text = ctx.v['lock-timeout'];
  if (text === undefined) return 0;
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new UsageError(`--lock-timeout ${durationProblem(text)}; see wharf ${ctx.command} --help`);
  return ms;
}

interface Ctx {
  command: CommandName;
  v: Values;
  args: string[];
  io: Io;
  style: Style;
  estyle: Style;
  /** Run when the command ends, however it ends (connections to close). */
  cleanups: Set<() => Promise<void>>;
  guard: SignalGuard | undefined;
  config: typeof import('../config/load.js') | undefined;
}

/**
 * Loads and validates the config. On errors, prints every diagnostic and returns undefined;
 * otherwise warnings travel on in the loaded config (and so in the plan) unless `printWarnings`.
 */
function load(ctx: Ctx, printWarnings = false): LoadedConfig | undefined {
  const file = ctx.v.file ?? 'wharf.yaml';
  const { loaded, diagnostics } = ctx.config!.loadConfigFile(file);
  const failed = !loaded || hasErrors(diagnostics);
  const lines = failed || printWarnings ? renderCapped(diagnostics, ctx.estyle) : [];
  if (lines.length) ctx.io.stderr.write(`${lines.join('\n')}\n`);
  if (failed) {
    const n = diagnostics.filter((d) => d.severity === 'error').length;
    ctx.io.stderr.write(
      `${n.toLocaleString('en-US')} error${n === 1 ? '' : 's'} in ${escapeControl(file)}; nothing was changed. Fix ${n === 1 ? 'it' : 'them'} and run the command again (\`wharf validate\` checks the file alone).\n`,
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
    const { diagnostics } = ctx.config!.loadConfigFile(file);
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
  ctx.guard?.setNote('nothing was changed');
  const loaded = load(ctx);
  if (!loaded) return 1;
  const { planConfig } = await import('../commands/plan.js');
  const run = await planConfig(loaded, targetOption(ctx));
  ctx.cleanups.add(run.close);
  const plan = run.plan;
  await run.close();
  const checkedAt = new Date();
  const failed = hasErrors(plan.diagnostics);
  // A plan with errors is incomplete: it is never saved, so it can never be applied.
  const out = drift || failed ? undefined : ctx.v.out;
  if (out) writePlanFile(out, plan);
  if (drift && (ctx.v.json || ctx.v.markdown)) writeDriftReport(ctx, driftReport(plan, checkedAt));
  else if (ctx.v.json) ctx.io.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
  else if (ctx.v.markdown) ctx.io.stdout.write(renderPlanMarkdown(plan, out ? { planFile: out } : {}));
  else {
    const title = drift
      ? 'Drift: the live state differs from the file. Apply would make these changes:'
      : undefined;
    let text = renderPlanText(plan, {
      style: ctx.style,
      verbose: ctx.v.verbose,
      ...(title ? { title } : {}),
    });
    if (drift && plan.changes.length === 0 && !failed)
      text = text.replace(
        'No changes. The live state matches the file.',
        'No drift. The live state matches the file.',
      );
    ctx.io.stdout.write(text);
    if (out) ctx.io.stdout.write(`\nSaved the plan to ${out}. Apply it with: wharf apply ${out}\n`);
  }
  if (failed) {
    const n = errorCount(plan);
    return planErrors(
      ctx,
      plan,
      drift
        ? `drift could not be checked: the plan has ${n} (above); ${fix(plan)} and run wharf drift again`
        : ctx.v.out
          ? `${escapeControl(ctx.v.out)} was not written: the plan has ${n} (above); ${fix(plan)} and run wharf plan --out ${escapeControl(ctx.v.out)} again`
          : `the plan is incomplete: it has ${n} (above); ${fix(plan)} and run wharf plan again`,
    );
  }
  if ((drift || ctx.v['detailed-exitcode']) && plan.changes.length > 0) return 2;
  return 0;
}

/**
 * `drift --json` (the drift report: the plan contract and its `drift` field, docs/plan.md) or
 * `drift --markdown` (for a chat message or an issue).
 */
function writeDriftReport(ctx: Ctx, report: DriftReport): void {
  if (ctx.v.json) ctx.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else ctx.io.stdout.write(renderDriftMarkdown(report));
}

/** "1 error", "3 errors". */
function errorCount(plan: Plan): string {
  const n = plan.diagnostics.filter((d) => d.severity === 'error').length;
  return `${n.toLocaleString('en-US')} error${n === 1 ? '' : 's'}`;
}

/** "fix it" or "fix them", after errorCount. */
function fix(plan: Plan): string {
  return plan.diagnostics.filter((d) => d.severity === 'error').length === 1 ? 'fix it' : 'fix them';
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
  const lockTimeoutMs = durationOption(ctx);
  ctx.guard?.setNote('nothing was changed');
  const saved = ctx.args[0];
  let plan: Plan;
  let conns: Map<string, OpenedConnection>;
  let allowWiden = Boolean(ctx.v['allow-widen']);
  let allowDestroy = Boolean(ctx.v['allow-destroy']);
  let review: ReviewScreen | undefined;
  if (!saved && !ctx.v['auto-approve'] && wantsScreen(ctx)) loadScreen().catch(() => {});
  if (saved) {
    if (ctx.v.file)
      throw new UsageError(
        `apply takes either a saved plan (${saved}) or -f ${ctx.v.file}, not both; see wharf apply --help`,
      );
    if (ctx.v.target)
      throw new UsageError(
        `apply of a saved plan (${saved}) takes no --target: the plan holds the changes it was made with (plan it with --target); see wharf apply --help`,
      );
    plan = readPlanFile(saved);
    registerFileSecrets(
      Object.values(plan.connections).map((c) => (c.spec as { url?: string }).url),
      plan.changes.flatMap((c) => c.statements.flatMap((st) => (st.secrets ? envNames(st.sql) : []))),
    );
    conns = new Map();
    ctx.cleanups.add(async () => {
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
    const run = await planConfig(loaded, targetOption(ctx));
    ctx.cleanups.add(run.close);
    plan = run.plan;
    conns = run.connections;
    // On a terminal the review screen replaces the printed plan and the prompt.
    if (!ctx.v['auto-approve'] && plan.changes.length > 0 && !hasErrors(plan.diagnostics) && wantsScreen(ctx))
      review = await openScreen(
        ctx,
        plan,
        `wharf apply · review the plan${plan.partial ? ` · partial (-target ${escapeControl(plan.partial.targets.join(' '))})` : ''}`,
        false,
      );
    if (!ctx.v.json && !review)
      ctx.io.stdout.write(renderPlanText(plan, { style: ctx.style, verbose: ctx.v.verbose }));
    if (hasErrors(plan.diagnostics))
      return planErrors(
        ctx,
        plan,
        `apply refused: the plan has ${errorCount(plan)} (above), nothing was changed; ${fix(plan)} and run wharf apply again`,
      );
    if (review) {
      const d = await review.decision;
      if (!d.approved) {
        review.close();
        screenClosed(ctx, plan);
        ctx.io.stdout.write('Apply cancelled; nothing was changed.\n');
        return 1;
      }
      allowDestroy = d.allowDestroy;
      allowWiden = d.allowWiden;
    } else if (!ctx.v['auto-approve'] && plan.changes.length > 0) {
      if (!ctx.io.stdin.isTTY) {
        throw new UsageError(
          'apply refused: not a terminal, so nobody can approve; add --auto-approve, or apply a saved plan (wharf plan --out plan.json; wharf apply plan.json)',
        );
      }
      if (plan.summary.destructive > 0 && !ctx.v['allow-destroy']) {
        throw new UsageError(
          `apply refused: the plan has ${plan.summary.destructive} destructive change(s); re-run with --allow-destroy to apply them`,
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
  const progress = !ctx.v.json && !review;
  const { applyPlan } = await import('../apply/apply.js');
  const guard = ctx.guard;
  let result: ApplyResult;
  try {
    result = await applyPlan(plan, providers, {
      allowDestroy,
      allowWiden,
      lockTimeoutMs,
      holder,
      ...(guard ? { signal: guard.signal } : {}),
      hooks: {
        // From the first change on, a signal lets the change in progress finish (or roll back).
        onChangeStart: (c, i, total) => {
          guard?.setNote(undefined);
          guard?.setCritical(true);
          review?.hooks.onChangeStart?.(c, i, total);
        },
        ...(review ? { onChangeEnd: review.hooks.onChangeEnd } : {}),
        ...(progress
          ? {
              onChangeEnd: (r, i, total) => {
                const tag = r.status === 'done' ? ctx.style.green('done') : ctx.style.red(r.status);
                ctx.io.stdout.write(`[${i + 1}/${total}] ${r.address}: ${tag}\n`);
              },
            }
          : {}),
      },
    });
    await review?.finished(result, !guard?.received());
  } finally {
    review?.close();
    guard?.setCritical(false);
  }
  if (review) screenClosed(ctx, plan);
  if (ctx.v.json) ctx.io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else ctx.io.stdout.write(renderApplyResult(result, ctx.style));
  const stoppedBy = guard?.received();
  if (stoppedBy) {
    const done = result.results.filter((r) => r.status === 'done').length;
    ctx.io.stderr.write(
      `${ctx.estyle.red('error')}: apply stopped by ${stoppedBy}: ${done} of ${result.results.length} change(s) done, the rest not run; run wharf plan to see what remains\n`,
    );
    return SIGNAL_EXIT_CODES[stoppedBy];
  }
  return result.ok ? 0 : 1;
}

/** A plan with errors: they go to stderr too (the plan itself went to stdout), then the refusal. */
function planErrors(ctx: Ctx, plan: Plan, refusal: string): number {
  const errors = plan.diagnostics.filter(blocksApply);
  ctx.io.stderr.write(`${renderDiagnostics(errors, ctx.estyle).join('\n')}\n`);
  ctx.io.stderr.write(`${ctx.estyle.red('error')}: ${refusal}\n`);
  return 1;
}

async function cmdShow(ctx: Ctx): Promise<number> {
  const file = ctx.args[0]!;
  const plan = readPlanFile(file);
  if (plan.changes.length > 0 && wantsScreen(ctx)) {
    const screen = await openScreen(ctx, plan, `wharf show · ${escapeControl(file)} (read-only)`, true);
    await screen.decision;
    screen.close();
    screenClosed(ctx, plan);
    return 0;
  }
  if (ctx.v.json) ctx.io.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
  else if (ctx.v.markdown) ctx.io.stdout.write(renderPlanMarkdown(plan, { planFile: file }));
  else ctx.io.stdout.write(renderPlanText(plan, { style: ctx.style, verbose: ctx.v.verbose }));
  return 0;
}

async function confirm(ctx: Ctx, question: string): Promise<boolean> {
  const rl = createInterface({ input: ctx.io.stdin, output: ctx.io.stdout });
  // On a terminal readline reads Ctrl-C as a key: make it the signal it stands for.
  rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'));
  const close = async () => rl.close();
  ctx.cleanups.add(close);
  try {
    return (await rl.question(question)).trim() === 'yes';
  } finally {
    ctx.cleanups.delete(close);
    rl.close();
  }
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

// ---- The review screen (src/ui/review): on a terminal, `apply` opens it instead of printing the
// plan and asking "yes", and `show` opens it read-only. ink and React load only here.

/** On a terminal (stdin and stdout), unless CI is set or --plain, --json or --markdown is given. */
function wantsScreen(ctx: Ctx): boolean {
  const ci = process.env.CI;
  return (
    Boolean(ctx.io.stdout.isTTY && ctx.io.stdin.isTTY) &&
    (ci === undefined || ci === '' || ci === 'false' || ci === '0') &&
    !ctx.v.plain &&
    !ctx.v.json &&
    !ctx.v.markdown
  );
}

let screenModule: Promise<typeof import('../ui/review/screen.js')> | undefined;
const SCREEN_BUNDLE = new URL('../ui/review/screen.bundle.js', import.meta.url).href;

/**
 * Starts loading the screen (ink and React take about a second to load): `apply` calls it before
 * planning, so that the load overlaps the plan's round trips. Nothing loads off a terminal.
 */
function loadScreen(): Promise<typeof import('../ui/review/screen.js')> {
  // React's production build: the development one checks every element and redraws slower.
  process.env.NODE_ENV ??= 'production';
  // The build bundles the screen with ink and React into one module (scripts/bundle-screen.mjs),
  // which loads about three times faster than their few hundred files; without it, the modules.
  screenModule ??= (import(SCREEN_BUNDLE) as Promise<typeof import('../ui/review/screen.js')>).catch(
    () => import('../ui/review/screen.js'),
  );
  return screenModule;
}

/** Once the screen is closed: the plan's diagnostics (warnings), which the text output leads with. */
function screenClosed(ctx: Ctx, plan: Plan): void {
  const lines = renderDiagnostics(plan.diagnostics, ctx.style);
  if (lines.length) ctx.io.stdout.write(`${lines.join('\n')}\n`);
}

async function openScreen(ctx: Ctx, plan: Plan, title: string, readOnly: boolean): Promise<ReviewScreen> {
  const { openReviewScreen } = await loadScreen();
  const screen = openReviewScreen(plan, {
    stdin: ctx.io.stdin,
    stdout: ctx.io.stdout,
    color: ctx.style === COLOR,
    title,
    readOnly,
    allowDestroy: Boolean(ctx.v['allow-destroy']),
    allowWiden: Boolean(ctx.v['allow-widen']),
    // The terminal is raw while the screen is open: Ctrl-C becomes the signal it stands for.
    onInterrupt: () => process.kill(process.pid, 'SIGINT'),
  });
  ctx.cleanups.add(async () => screen.close());
  return screen;
}
