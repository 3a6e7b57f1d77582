// `wharf inspect` on the command line: checks the options, runs inspectConfig, writes the file
// (stdout, or --out, never over an existing file without --force, never with a secret in it)
// and lists on stderr what it saw but could not write, and the round trips of the read.
import { existsSync, writeFileSync } from 'node:fs';
import type { Values } from '../cli/args.js';
import { UsageError } from '../cli/errors.js';
import { holdsSecret } from '../config/secrets.js';
import type { LoadedConfig } from '../config/types.js';
import { escapeControl } from '../render/safe-text.js';
import { inspectConfig } from './inspect.js';

interface Streams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export async function cmdInspect(loaded: LoadedConfig, v: Values, io: Streams): Promise<number> {
  const schemas = v.schema ?? [];
  const roles = v.role ?? [];
  const buckets = v.bucket ?? [];
  if (schemas.length + roles.length + buckets.length === 0)
    throw new UsageError(
      'inspect needs what to look at: --schema, --role or --bucket; see wharf inspect --help',
    );
  if (v.force && !v.out) throw new UsageError('--force goes with --out; see wharf inspect --help');
  if (v.out && existsSync(v.out) && !v.force)
    throw new UsageError(`${escapeControl(v.out)} exists; add --force to overwrite it`);
  const result = await inspectConfig(loaded, {
    ...(v.connection ? { connections: v.connection } : {}),
    schemas,
    roles,
    buckets,
    ...(v.out ? { outFile: v.out } : {}),
  });
  if (holdsSecret(result.text))
    throw new Error(
      'the inspected file would hold the value of a secret this file references; nothing was written',
    );
  if (v.out) writeFileSync(v.out, result.text);
  else io.stdout.write(result.text);
  for (const n of result.notes)
    io.stderr.write(`note: ${escapeControl(n.object)}: ${escapeControl(n.reason)}\n`);
  const trips = Object.entries(result.roundTrips)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  const passwords = result.passwordEnv.length
    ? `; set ${result.passwordEnv.join(', ')} before an apply creates those roles`
    : '';
  io.stderr.write(
    `${v.out ? `Wrote ${escapeControl(v.out)}` : 'Inspected'} (round trips: ${trips || 'none'})${passwords}.\n`,
  );
  return 0;
}
