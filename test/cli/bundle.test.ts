import { execFile } from 'node:child_process';
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
});
