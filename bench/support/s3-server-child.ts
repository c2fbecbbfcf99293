/**
 * fauxqs as a process of its own for the benchmarks (so the S3 server does not share the
 * measuring process's event loop): objects on disk under argv[2], one bucket argv[3].
 * Prints its port on stdout once it listens.
 */
import { startFauxqs } from 'fauxqs';

const server = await startFauxqs({ port: 0, logger: false, s3StorageDir: process.argv[2] });
server.createBucket(process.argv[3] ?? 'tally-bench');
process.stdout.write(`${server.port}\n`);
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
