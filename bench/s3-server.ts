/**
 * An S3-compatible server (s3rver) in a process of its own, for the storage benchmark: its CPU is
 * then neither the portal's nor the load generator's. Prints one JSON line `{port}` when its bucket
 * exists, and serves until killed.
 *
 *   node --import tsx bench/s3-server.ts <directory> <bucket>
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) throw new Error('usage: s3-server.ts <directory> <bucket>');
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
const { port } = await server.run();
const client = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
await client.send(new CreateBucketCommand({ Bucket: bucket }));
client.destroy();
console.log(JSON.stringify({ port }));
