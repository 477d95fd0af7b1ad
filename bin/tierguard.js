#!/usr/bin/env node
// Thin launcher: the CLI is bundled into dist/bundle/ by `npm run build` (run by `npm install`
// through `prepare`; scripts/build-cli.mjs), one file to load instead of hundreds of modules.
import module from 'node:module';

// Node >= 22.1 keeps compiled code between runs (in the OS temp folder); older Nodes lack it.
// A cache that cannot be written (read-only file system) only costs the speed-up.
try {
  module.enableCompileCache?.();
} catch {
  /* the CLI works the same without it */
}

const { main } = await import('../dist/bundle/tierguard.mjs');

// `tierguard rules | head`: a closed pipe ends the output quietly, like any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tierguard: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
