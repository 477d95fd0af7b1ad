import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { allRuleMetas } from '../../src/catalogue/catalogue.js';
import { main } from '../../src/cli/main.js';
import { defined } from '../support/defined.js';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const bin = path.join(root, 'bin', 'tierguard.js');

async function inProcess(args: string[]): Promise<string> {
  let out = '';
  await main(args, { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true }, cwd: root, env: {} });
  return out;
}

// The bundle (dist/bundle/, built by `npm run build` before the tests) carries the rule summaries
// as data computed at build time: it must print exactly what the sources print.
describe('the bundled CLI', () => {
  it('lists the same rules as the catalogue, in the same order, text and JSON', async () => {
    const json = JSON.parse((await promisify(execFile)(process.execPath, [bin, 'rules', '--format', 'json'])).stdout) as { id: string }[];
    expect(json.map((r) => r.id)).toEqual(allRuleMetas().map((m) => m.id));
    expect(JSON.stringify(json, null, 2) + '\n').toBe(await inProcess(['rules', '--format', 'json']));
    expect((await promisify(execFile)(process.execPath, [bin, 'rules'])).stdout).toBe(await inProcess(['rules']));
  });

  it('explains a rule from its docs page, as the sources do', async () => {
    const id = defined(allRuleMetas()[0], 'a rule').id;
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'explain', id], { cwd: '/' });
    expect(stdout).toBe(await inProcess(['explain', id]));
    expect(stdout).toContain(`# ${id}`);
  });

  // bin/tierguard.js sets V8 flags for these short runs (per Node version): a flag that Node's V8
  // does not know would print an error on every run. The suite runs on Node 20 and Node 24.
  // `jobs --contexts` and `--format json` load the engine as a chunk of their own.
  it('runs lint and jobs with the short-run V8 flags: same output as the sources, nothing on stderr', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tierguard-bundle-'));
    try {
      writeFileSync(path.join(dir, '.gitlab-ci.yml'), 'build:\n  image: node:latest\n  script:\n    - npm ci\n');
      for (const args of [['lint', dir], ['jobs', dir], ['jobs', '--contexts', dir], ['jobs', '--format', 'json', dir]]) {
        const run = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
        expect(run.stderr).toBe('');
        expect(run.stdout).toBe(await inProcess(args));
        expect(run.stdout).toContain('build');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
