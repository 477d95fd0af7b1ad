import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkRunnerConfig, RunnerConfigError } from '../../src/runner/check.js';
import { testPolicy } from './helpers.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/runner/${name}`, import.meta.url)), 'utf8');

/** Either a result or a RunnerConfigError naming a line inside the file — nothing else. */
function survives(file: string, text: string): void {
  try {
    const r = checkRunnerConfig(file, text, testPolicy());
    const lines = text.split('\n').length;
    for (const f of r.findings) {
      expect(f.location.line).toBeGreaterThanOrEqual(1);
      expect(f.location.line).toBeLessThanOrEqual(lines);
    }
  } catch (e) {
    if (!(e instanceof RunnerConfigError)) throw new Error(`unexpected ${String(e)} for ${JSON.stringify(text.slice(0, 200))}`, { cause: e });
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.message.startsWith(`${file}:`)).toBe(true);
  }
}

describe('untrusted runner config input', () => {
  it('deeply nested arrays and inline tables', () => {
    survives('config.toml', `[[runners]]\nname = "a"\nx = ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
    survives('config.toml', `[[runners]]\nx = ${'{a = '.repeat(3000)}1${'}'.repeat(3000)}\n`);
  });

  it('Helm values nested past 100 levels are refused unread, with the line and column', () => {
    const text = 'runners:\n  config: x\nextra: ' + '['.repeat(20000) + ']'.repeat(20000) + '\n';
    let err: unknown;
    try {
      checkRunnerConfig('values.yaml', text, testPolicy());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunnerConfigError);
    expect((err as RunnerConfigError).message).toMatch(/^values\.yaml:3:\d+: .*nested too deeply \(over 100 levels\)/);
    expect((err as RunnerConfigError).line).toBe(3);
  });

  it('wrong value types under known keys', () => {
    survives('config.toml', '[[runners]]\nname = 1\nexecutor = ["shell"]\ntoken = 42\n[runners.docker]\nprivileged = "true"\nvolumes = "/var/run/docker.sock:/x"\npull_policy = 3\n[runners.kubernetes]\nnamespace = []\n[[runners.kubernetes.volumes.host_path]]\nhost_path = 1\n');
    survives('config.toml', 'runners = [1, 2]\n');
    survives('config.toml', 'runners = []\n');
    survives('values.yaml', 'runners:\n  config: 42\n');
    survives('values.yaml', '- a\n- b\n');
    survives('values.yaml', 'runners:\n  config: "[[runners]]\\nexecutor = \\"shell\\"\\n"\n');
  });

  it('seeded mutations of the fixtures never crash', () => {
    let seed = 1234567;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = ['[', ']', '"', "'", '=', '\n', '#', '{', '}', ',', '.', ' ', '"""', '|', ':', '-', 'x'];
    for (const [name, file] of [
      ['realistic-bad.toml', 'config.toml'],
      ['prod-deploy-k8s.toml', 'config.toml'],
      ['prod-deploy-k8s.values.yaml', 'values.yaml'],
    ] as const) {
      const base = fixture(name);
      for (let n = 0; n < 150; n++) {
        let text = base;
        for (let k = 0; k < 1 + rand(3); k++) {
          const at = rand(text.length);
          const op = rand(3);
          if (op === 0) text = text.slice(0, at) + (alphabet[rand(alphabet.length)] ?? '') + text.slice(at);
          else if (op === 1) text = text.slice(0, at) + text.slice(at + 1 + rand(5));
          else text = text.slice(0, at) + text.slice(rand(text.length));
        }
        survives(file, text);
      }
    }
  });
});
