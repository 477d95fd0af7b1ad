#!/usr/bin/env node
// Acceptance runs of `tierguard serve` against the GitLab simulator: the harnesses in a folder
// beside the project (default ../shared/acceptance), each against this checkout, one after the
// other. `npm run acceptance [-- DIR]`. Exit 0 only when every harness passes.
//
// The service must be built first (npm run build; `npm run acceptance` does it).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.resolve(process.argv[2] ?? path.join(root, '..', 'shared', 'acceptance'));
const HARNESSES = ['service-acceptance.mjs', 'live-acceptance.mjs', 'scaleout-acceptance.mjs', 'webhook-fuzz.mjs'];

if (!existsSync(dir)) {
  console.error(`acceptance: no harness folder at ${dir} (give it as the first argument)`);
  process.exit(2);
}
let failed = 0;
for (const h of HARNESSES) {
  const file = path.join(dir, h);
  if (!existsSync(file)) {
    console.error(`acceptance: ${file} is missing`);
    failed += 1;
    continue;
  }
  console.log(`\n== ${h}`);
  const r = spawnSync(process.execPath, [file, root], { stdio: 'inherit' });
  if (r.status !== 0) failed += 1;
}
console.log(`\nacceptance: ${HARNESSES.length - failed} of ${HARNESSES.length} harnesses pass`);
process.exit(failed ? 1 : 0);
