/**
 * An S3-compatible server (s3rver) in a process of its own: its CPU is then neither the portal's
 * nor the test's or benchmark's, and a test can kill it to play a bucket that went away. Prints one
 * JSON line `{port}` when its bucket exists, and serves until killed.
 *
 *   node --openssl-legacy-provider --import tsx test/support/s3-server.ts <directory> <bucket> [port]
 *
 * s3rver's listing continuation tokens use a cipher OpenSSL 3 keeps in its legacy provider; without
 * the flag a listing of more than one page fails.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

const [directory, bucket, wantedPort] = process.argv.slice(2);
if (!directory || !bucket) throw new Error('usage: s3-server.ts <directory> <bucket> [port]');
const server = new S3rver({ port: Number(wantedPort ?? 0), address: '127.0.0.1', silent: true, directory });
const { port } = await server.run();
const client = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: unknown) => {
  // Restarted on the same directory: the bucket is there already.
  if ((error as { name?: string }).name !== 'BucketAlreadyOwnedByYou' && (error as { name?: string }).name !== 'BucketAlreadyExists') throw error;
});
client.destroy();
console.log(JSON.stringify({ port }));
