// Runs an s3rver (S3-protocol server) on 127.0.0.1 in its own process, with files under the
// folder given as the first argument, and prints `{"port": N}` once it listens. It runs in a
// child because on Node 20 s3rver's paginated listings need the legacy OpenSSL provider
// (NODE_OPTIONS=--openssl-legacy-provider), which the test process itself should not take.
import S3rver from 's3rver';

const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[2] });
// S3 reads x-amz-copy-source URL-encoded and decodes all of it
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html); s3rver decodes it with
// decodeURI, which leaves reserved characters such as %3D (=) encoded, so a key holding `=`
// (UNLOAD's Hive folders) is not found. Decode it fully and hand s3rver a form decodeURI reads alike.
const callback = server.callback.bind(server);
server.callback = () => {
  const handle = callback();
  return (req, res) => {
    const source = req.headers['x-amz-copy-source'];
    if (typeof source === 'string') req.headers['x-amz-copy-source'] = encodeURI(decodeURIComponent(source));
    return handle(req, res);
  };
};
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.on('SIGTERM', async () => {
  await server.close();
  process.exit(0);
});
