#!/usr/bin/env node
// One tierguard instance for the scale benchmark, in its own process (as a replica would be):
// the built service from dist/, configured by the JSON in argv[2]. Prints "READY <url>".
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { loadConfig } = await import(path.join(root, 'dist/server/config.js'));
const { startServer } = await import(path.join(root, 'dist/server/server.js'));

const opts = JSON.parse(process.argv[2]);
const server = await startServer({
  config: loadConfig(opts.env),
  port: 0,
  host: '127.0.0.1',
  gitlab: { retry: { retries: 3, baseMs: 5, maxMs: 50 } },
  reviewer: { paceMs: opts.paceMs ?? 0 },
  ...(opts.prefix ? { redisQueue: { prefix: opts.prefix } } : {}),
});
process.stdout.write(`READY ${server.url}\n`);
process.on('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
