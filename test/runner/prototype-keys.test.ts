import { describe, expect, it } from 'vitest';
import { checkRunnerConfig, RunnerConfigError } from '../../src/runner/check.js';
import { testPolicy } from './helpers.js';

/**
 * Table and key names of a runner config that are Object.prototype members are names like any
 * other. The TOML parser used before looked them up through Object.prototype: `[runners.toString]`
 * made Object.prototype.toString the table and wrote `token = …` onto it (for the whole
 * process), so the token was not found, and judging the same file again failed with
 * "Can't redefine existing key". Each name is judged against a neutral name of the same length.
 */
const PROTO_NAMES = ['toString', 'constructor', '__proto__', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupGetter__'];

const config = (n: string) => `concurrent = 1
[[runners]]
  name = "${n}"
  executor = "docker"
  ${n} = 1
  ${n}.token = "glrt-abcdefghijklmnopqrstu1"
  [runners.${n}]
    token = "glrt-abcdefghijklmnopqrstu2"
  [runners.docker]
    privileged = true
    volumes = ["/var/run/docker.sock:/var/run/docker.sock"]
  [runners.docker.${n}]
    token = "glrt-abcdefghijklmnopqrstu3"
  [runners.cache.${n}]
    "${n}" = "glrt-abcdefghijklmnopqrstu4"
`.replace(`  ${n} = 1\n  ${n}.token`, `  x${n}.token`);

function judged(name: string, as: string) {
  const r = checkRunnerConfig('config.toml', config(name), testPolicy());
  return {
    findings: r.findings.map((f) => ({ rule: f.ruleId, line: f.location.line, column: f.location.column, message: f.message.replaceAll(name, as) })),
    runners: r.runners.map((x) => [x.name.replaceAll(name, as), x.tier, x.executor]),
  };
}

describe('runner config names that are Object.prototype members', () => {
  for (const name of PROTO_NAMES) {
    it(`judges \`${name}\` like any other name, twice`, () => {
      const neutral = 'q'.repeat(name.length);
      const want = judged(neutral, neutral);
      expect(want.findings.filter((f) => f.rule === 'runner-token-committed')).toHaveLength(4);
      expect(judged(name, neutral)).toEqual(want);
      // Nothing was left behind on the built-ins: the same file gives the same answer again.
      expect(judged(name, neutral)).toEqual(want);
      expect(Object.keys(Object.prototype.toString)).toEqual([]);
      expect(Object.keys(Object)).toEqual([]);
    });
  }

  it('a key written twice is still an error, whatever its name', () => {
    for (const name of ['constructor', 'qqqqqqqqqqq']) {
      expect(() => checkRunnerConfig('config.toml', `[[runners]]\n  ${name} = 1\n  ${name} = 2\n`, testPolicy())).toThrow(RunnerConfigError);
    }
  });
});

describe('what the TOML parser accepts', () => {
  it('a 64-bit integer is a value, not a parse error', () => {
    const r = checkRunnerConfig('config.toml', 'concurrent = 9223372036854775807\n[[runners]]\n  name = "r"\n  executor = "docker"\n  output_limit = 4096\n  [runners.docker]\n    privileged = true\n', testPolicy());
    expect(r.findings.map((f) => [f.ruleId, f.location.line])).toContainEqual(['runner-privileged', 7]);
  });

  it('an inline table keeps its positions whatever its keys are named, with or without a trailing comma', () => {
    for (const end of [' }', ', }']) {
      const r = checkRunnerConfig('config.toml', `[[runners]]\n  name = "r"\n  executor = "docker"\n  docker = { constructor = 1, privileged = true${end}\n`, testPolicy());
      expect(r.findings.map((f) => [f.ruleId, f.location.line, f.location.column])).toContainEqual(['runner-privileged', 4, 44]);
    }
  });
});
