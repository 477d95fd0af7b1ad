import { builtinPolicy } from '../../src/policy/defaults.js';
import type { Policy } from '../../src/policy/types.js';
import { checkRunnerConfig } from '../../src/runner/check.js';

/** The built-in policy, with the group build runners allowed `privileged = true`. */
export function testPolicy(patch: (p: Policy) => void = () => {}): Policy {
  const p = builtinPolicy();
  p.runners.privilegedAllowed = ['group-build-*'];
  patch(p);
  return p;
}

export interface Hit {
  rule: string;
  line: number;
  column: number;
}

export function hits(text: string, file = 'config.toml', policy = testPolicy()): Hit[] {
  return checkRunnerConfig(file, text, policy).findings.map((f) => ({
    rule: f.ruleId,
    line: f.location.line,
    column: f.location.column,
  }));
}

export function hitsOf(rule: string, text: string, file?: string, policy?: Policy): Hit[] {
  return hits(text, file, policy).filter((h) => h.rule === rule);
}
