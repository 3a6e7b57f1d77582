// Runs the CLI in-process with captured output, the way a user would call it.
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  args: string[],
  opts: { tty?: boolean; input?: string } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = {
    write: (s: string) => {
      stdout += s;
      return true;
    },
    isTTY: false,
  } as unknown as NodeJS.WritableStream;
  const err = {
    write: (s: string) => {
      stderr += s;
      return true;
    },
    isTTY: false,
  } as unknown as NodeJS.WritableStream;
  const stdin = Object.assign(Readable.from(opts.input === undefined ? [] : [opts.input]), {
    isTTY: opts.tty ?? false,
  }) as NodeJS.ReadableStream;
  const code = await main(args, { stdout: out, stderr: err, stdin });
  return { code, stdout, stderr };
}
