#!/usr/bin/env node
// Bundles the CLI into dist/bundle/ (run by `npm run build` after `tsc`, which type-checks and
// emits dist/ for tests and scripts). `bin/tierguard.js` loads dist/bundle/tierguard.mjs.
//
// Why: loading ~400 small ES modules (dist/ plus zod, yaml and @iarna/toml) is most of a cold
// `tierguard rules`; one file for the CLI's own graph loads in a fraction of that time.
// The entry is src/cli/main.ts itself, so whatever src/rules/index.ts registers is in the
// bundle; nothing here lists rules. Dynamic imports (`serve`, the live checks) become chunks
// loaded only by those commands, and the service-only packages stay outside the bundle, loaded
// from node_modules by those chunks alone.
//
// The bundle sits two folders below the package root, like dist/cli/*.js, so PACKAGE_ROOT
// (package.json, docs/, policies/) resolves the same from either.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'bundle');

/** Loaded only by `serve` and the live checks; some read files beside their own code (bullmq's Lua scripts, pino's transports). */
const SERVICE_ONLY = ['fastify', 'bullmq', 'ioredis', '@gitbeaker/rest', 'prom-client', 'pino'];

/**
 * zod's `z.locales` (and `z.core.locales`) namespace holds every language's error messages (a third of zod's code);
 * tierguard's messages are English (zod registers `en` itself), so the namespace keeps only `en`.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic[\\/]external|core[\\/]index)\.js$/.test(args.importer)
        ? { path: path.join(path.dirname(args.importer), '..', 'locales', 'index.js'), namespace: 'zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(path.join(path.dirname(args.path), 'en.js'))};`,
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { tierguard: 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[hash]',
  external: SERVICE_ONLY,
  plugins: [zodEnglishOnly],
  // Less source to parse at every start; the linked source map gives readable stack traces
  // (`node --enable-source-maps`).
  minify: true,
  // CommonJS dependencies (yaml's node build, @iarna/toml) call require() for Node built-ins.
  banner: { js: "import { createRequire as __tgCreateRequire } from 'node:module'; const require = __tgCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
});

// Guard: a service-only package must never be reachable from the entry chunk's static imports.
const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === 'src/cli/main.ts');
const staticImports = (file, seen = new Set()) => {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const imp of result.metafile.outputs[file]?.imports ?? []) if (imp.kind === 'import-statement') staticImports(imp.path, seen);
  return seen;
};
const eager = entry ? [...staticImports(entry[0])] : [];
const leaked = eager.filter((p) => SERVICE_ONLY.some((pkg) => p === pkg || p.startsWith(pkg + '/')));
if (!entry || leaked.length) {
  console.error(`build-cli: ${entry ? `service-only packages load at CLI start: ${leaked.join(', ')}` : 'no entry output'}`);
  process.exit(1);
}
