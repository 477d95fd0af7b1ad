import { expect } from 'vitest';
import type { Finding } from '../../src/findings/finding.js';
import { buildPipeline } from '../../src/model/pipeline.js';
import { MemorySource } from '../../src/model/source.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import type { Policy } from '../../src/policy/types.js';
import { evaluatePipeline, type Evaluation } from '../../src/rules/engine.js';
import { defaultTrustFactory } from '../../src/rules/trust-provider.js';
import type { PipelineRule } from '../../src/rules/types.js';

export interface CaseOptions {
  /** Other files of the checkout (local includes). */
  files?: Record<string, string>;
  policy?: Partial<Policy> | ((p: Policy) => Policy);
  defaultBranch?: string;
  today?: Date;
  /** As the service judges: unread configuration is a `ci-config-unverified` finding. */
  strict?: boolean;
}

export function policyWith(opts: CaseOptions['policy']): Policy {
  const base = builtinPolicy();
  if (!opts) return base;
  return typeof opts === 'function' ? opts(base) : { ...base, ...opts };
}

/** Run one rule (or the given rules) on a `.gitlab-ci.yml` text. */
export async function runRules(rules: PipelineRule<any>[], yaml: string, opts: CaseOptions = {}): Promise<Evaluation> {
  const source = new MemorySource({ '.gitlab-ci.yml': yaml, ...(opts.files ?? {}) });
  const pipeline = await buildPipeline(source, '.gitlab-ci.yml');
  return evaluatePipeline(pipeline, {
    policy: policyWith(opts.policy),
    rules,
    trust: defaultTrustFactory,
    defaultBranch: opts.defaultBranch ?? 'main',
    today: opts.today ?? new Date('2026-11-25T12:00:00Z'),
    strict: opts.strict ?? false,
  });
}

export interface Expected {
  line: number;
  column: number;
  job?: string;
  file?: string;
  severity?: 'error' | 'warning';
  message?: RegExp;
  /** The rule's `meta.messages` id the finding was built from. */
  messageId?: string;
}

export interface RuleCases {
  valid: (string | { name?: string; code: string; options?: CaseOptions })[];
  invalid: { name?: string; code: string; options?: CaseOptions; errors: Expected[] }[];
}

/**
 * ESLint-RuleTester-style table: `valid` snippets must give no finding of the rule, each
 * `invalid` snippet exactly the expected findings (rule id, line, column …), in order.
 */
export async function checkRule(rule: PipelineRule<any>, cases: RuleCases): Promise<void> {
  for (const v of cases.valid) {
    const c = typeof v === 'string' ? { code: v } : v;
    const r = await runRules([rule], c.code, c.options);
    const mine = r.findings.filter((f) => f.ruleId === rule.meta.id);
    expect(mine.map(describe), `valid case should give no ${rule.meta.id}:\n${c.code}`).toEqual([]);
  }
  for (const inv of cases.invalid) {
    expect(inv.errors.length, 'an invalid case must expect at least one finding').toBeGreaterThan(0);
    const r = await runRules([rule], inv.code, inv.options);
    const mine = r.findings.filter((f) => f.ruleId === rule.meta.id);
    expect(mine.map(describe), `invalid case:\n${inv.code}`).toEqual(
      inv.errors.map((e, i) => {
        const f = mine[i];
        return describe({
          ...(f ?? ({} as Finding)),
          ruleId: rule.meta.id,
          location: { ...(f?.location ?? { endLine: 0, endColumn: 0 }), file: e.file ?? f?.location.file ?? '.gitlab-ci.yml', line: e.line, column: e.column },
          job: e.job ?? f?.job,
          severity: e.severity ?? f?.severity ?? rule.meta.defaultSeverity,
          message: f && e.message && !e.message.test(f.message) ? `<message not matching ${e.message}>` : (f?.message ?? ''),
          messageId: e.messageId ?? f?.messageId,
        } as Finding);
      }),
    );
  }
}

function describe(f: Finding): string {
  return `${f.ruleId}${f.messageId ? `/${f.messageId}` : ''} ${f.location.file}:${f.location.line}:${f.location.column} job=${f.job ?? '-'} ${f.severity} ${f.message}`;
}
