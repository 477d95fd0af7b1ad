import { z } from 'zod';
import type { RuleOptions } from '../findings/rule-meta.js';

/**
 * zod schemas for ONE policy file (a *layer*): `policies/default.yaml`,
 * `policies/teams/<group path>.yaml` or a project's `.gitlab/tierguard.yml`.
 *
 * Every key is optional in a layer: an absent key keeps the value of the earlier layers.
 * Every object is strict, so a misspelt key is an error naming the file, line and key path
 * instead of a setting that silently does nothing.
 *
 * How each key merges onto the earlier layers (see `merge.ts`, which implements exactly this):
 *
 * | key                              | merge                                                    |
 * |----------------------------------|----------------------------------------------------------|
 * | maps (`tiers`, `tiers.deploy`, `environments`, `protected`, `runners`, `runners.tiers`, `review`) | merge key by key |
 * | lists (every list of tags, patterns, hosts, paths) | REPLACE the earlier list as a whole     |
 * | `rules`                          | merge per rule id: a severity-only entry keeps the earlier options; an `options` map shallow-merges onto the earlier options |
 * | `exceptions`                     | APPEND to the exceptions of earlier layers               |
 */

/**
 * Built on first use, not when the module loads: `lint` without a policy file never validates
 * one, and constructing these zod schemas is a measurable part of a cold CLI start.
 */
function buildPolicyFileSchema() {
  const SEVERITY_SETTINGS = ['error', 'warning', 'off'] as const;
  const SeveritySetting = z.enum(SEVERITY_SETTINGS);

  /** Patterns, tags, hosts: non-empty strings. */
  const Str = z.string().min(1, { error: 'expected a non-empty string' });
  /** A list of strings; replaces the earlier layer's list. */
  const StrList = z.array(Str);

  /** Rule ids are kebab-case words (this also keeps `__proto__` and friends out of maps). */
  const RuleId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, { error: 'expected a rule id such as "untagged-job"' });

  /** `rules.<id>` in object form. */
  const RuleObject = z.strictObject({
    severity: SeveritySetting.optional(),
    /** Rule options; shallow-merged onto the options of earlier layers. */
    options: z.record(z.string(), z.unknown()).optional(),
  });

  /** `rules.<id>`: either a bare severity (keeps options) or `{ severity?, options? }`. */
  const RuleEntry = z.union([SeveritySetting, RuleObject]);

  const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

  /** True for a real calendar date written `YYYY-MM-DD`. */
  function isIsoDate(s: string): boolean {
    const m = ISO_DATE.exec(s);
    if (!m) return false;
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    return d.toISOString().slice(0, 10) === s;
  }

  const ExceptionEntry = z
    .strictObject({
      rule: RuleId,
      /** Exact job name. */
      job: Str.optional(),
      /** File glob (`*`, `?`), matched against the finding's file path. */
      file: Str.optional(),
      reason: z.string().trim().min(1, { error: 'an exception needs a reason' }),
      expires: z.string().refine(isIsoDate, { error: 'expected a calendar date written YYYY-MM-DD' }),
    })
    .refine((e) => e.job !== undefined || e.file !== undefined, {
      error: 'an exception needs a "job" and/or a "file"',
    });

  return z.strictObject({
    /** File format version; only 1 exists. */
    version: z.literal(1).optional(),
    tiers: z
      .strictObject({
        general: StrList.optional(),
        build: StrList.optional(),
        deploy: z.strictObject({ production: StrList.optional(), staging: StrList.optional() }).optional(),
      })
      .optional(),
    environments: z.strictObject({ production: StrList.optional(), staging: StrList.optional() }).optional(),
    protected: z.strictObject({ branches: StrList.optional(), tags: StrList.optional() }).optional(),
    secretVariables: StrList.optional(),
    /** Host names only (`gitlab.example.com`, optionally `:port`); a URL would never match. */
    remoteIncludeHosts: z
      .array(
        z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$/, {
          error: 'expected a host name such as "gitlab.example.com" (no scheme, path or wildcard)',
        }),
      )
      .optional(),
    rules: z.record(RuleId, RuleEntry).optional(),
    runners: z
      .strictObject({
        tiers: z.strictObject({ deploy: StrList.optional(), build: StrList.optional() }).optional(),
        privilegedAllowed: StrList.optional(),
        deniedHostPaths: StrList.optional(),
      })
      .optional(),
    review: z
      .strictObject({
        blockOn: z.enum(['new', 'all']).optional(),
        allowProjectOverrides: z.boolean().optional(),
        maxInlineDiscussions: z.number().int().min(0).max(1000).optional(),
      })
      .optional(),
    exceptions: z.array(ExceptionEntry).optional(),
  });
}

let schema: ReturnType<typeof buildPolicyFileSchema> | undefined;

/** The schema of one policy file (see the table above). */
export function policyFileSchema(): ReturnType<typeof buildPolicyFileSchema> {
  return (schema ??= buildPolicyFileSchema());
}

/**
 * What a policy may write under `rules.<id>.options` for a rule with these options: the rule's
 * schema with every key optional (a key left out keeps its default). Built once per rule.
 */
export function ruleOptionsSchema(options: RuleOptions<unknown>): z.ZodType {
  let s = optionSchemas.get(options);
  if (!s) optionSchemas.set(options, (s = options.schema(z).partial()));
  return s;
}
const optionSchemas = new WeakMap<RuleOptions<unknown>, z.ZodType>();

export type PolicyFile = z.infer<ReturnType<typeof buildPolicyFileSchema>>;
