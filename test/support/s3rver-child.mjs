// Runs an s3rver (S3-protocol server) on 127.0.0.1 in its own process, with files under the
// folder given as the first argument, and prints `{"port": N}` once it listens. It runs in a
// child because on Node 20 s3rver's paginated listings need the legacy OpenSSL provider
// (NODE_OPTIONS=--openssl-legacy-provider), which the test process itself should not take.
import S3rver from 's3rver';

const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[2] });
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.on('SIGTERM', async () => {
  await server.close();
  process.exit(0);
});
