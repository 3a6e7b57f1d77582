// The one gate every byte the CLI prints passes: stdout and stderr are wrapped so that each
// write is scrubbed of the secret values resolved so far (config/secrets.ts). Everything else
// about the stream (isTTY, columns, events — what ink needs) is the stream's own.
import { redactSecrets } from '../config/secrets.js';

export function redactingStream<T extends NodeJS.WritableStream>(stream: T): T {
  return new Proxy(stream, {
    get(target, prop) {
      if (prop === 'write') {
        return (chunk: unknown, ...rest: unknown[]) => {
          const safe =
            typeof chunk === 'string'
              ? redactSecrets(chunk)
              : chunk instanceof Uint8Array
                ? redactBytes(chunk)
                : chunk;
          return (target.write as (...a: unknown[]) => boolean)(safe, ...rest);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function redactBytes(chunk: Uint8Array): Uint8Array {
  const text = Buffer.from(chunk).toString('utf8');
  const safe = redactSecrets(text);
  return safe === text ? chunk : Buffer.from(safe, 'utf8');
}
