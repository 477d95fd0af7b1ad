// zod's functional build (`zod/mini`), imported by name: a bundler keeps only the functions
// named here, where the method-chaining `zod` keeps all of zod (scripts/build-cli.mjs bundles
// this module on its own, so a cold `tierguard lint --policy DIR` loads about 30 KB of zod,
// where it loaded a 190 KB chunk of it). The checks and messages are zod's own either way (`zod/v4/core`).
import {
  array,
  boolean,
  config,
  enum as zodEnum,
  int,
  literal,
  maximum,
  minimum,
  minLength,
  object,
  optional,
  partial,
  record,
  refine,
  regex,
  strictObject,
  string,
  trim,
  union,
  unknown,
  type output,
  type ZodMiniType,
} from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import type { OptionSchemaKit, RuleOptions } from '../findings/rule-meta.js';

// `zod` sets its English messages itself; `zod/mini` leaves that to the caller (the messages
// of the checks below that have no text of their own, e.g. "Too small: expected number to be >=0").
config(en());

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
 * Built on first use, not when the module loads: constructing the schemas is a measurable
 * part of a cold CLI start, and a policy file is parsed at most a few times per process.
 */
function buildPolicyFileSchema() {
  const SEVERITY_SETTINGS = ['error', 'warning', 'off'] as const;
  const SeveritySetting = zodEnum(SEVERITY_SETTINGS);

  /** Patterns, tags, hosts: non-empty strings. */
  const Str = string().check(minLength(1, { error: 'expected a non-empty string' }));
  /** A list of strings; replaces the earlier layer's list. */
  const StrList = optional(array(Str));

  /** Rule ids are kebab-case words (this also keeps `__proto__` and friends out of maps). */
  const RuleId = string().check(regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, { error: 'expected a rule id such as "untagged-job"' }));

  /** `rules.<id>` in object form. */
  const RuleObject = strictObject({
    severity: optional(SeveritySetting),
    /** Rule options; shallow-merged onto the options of earlier layers. */
    options: optional(record(string(), unknown())),
  });

  /** `rules.<id>`: either a bare severity (keeps options) or `{ severity?, options? }`. */
  const RuleEntry = union([SeveritySetting, RuleObject]);

  const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

  /** True for a real calendar date written `YYYY-MM-DD`. */
  function isIsoDate(s: string): boolean {
    const m = ISO_DATE.exec(s);
    if (!m) return false;
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    return d.toISOString().slice(0, 10) === s;
  }

  const ExceptionEntry = strictObject({
    rule: RuleId,
    /** Exact job name. */
    job: optional(Str),
    /** File glob (`*`, `?`), matched against the finding's file path. */
    file: optional(Str),
    reason: string().check(trim(), minLength(1, { error: 'an exception needs a reason' })),
    expires: string().check(refine(isIsoDate, { error: 'expected a calendar date written YYYY-MM-DD' })),
  }).check(
    refine((e) => e.job !== undefined || e.file !== undefined, {
      error: 'an exception needs a "job" and/or a "file"',
    }),
  );

  return strictObject({
    /** File format version; only 1 exists. */
    version: optional(literal(1)),
    tiers: optional(
      strictObject({
        general: StrList,
        build: StrList,
        deploy: optional(strictObject({ production: StrList, staging: StrList })),
      }),
    ),
    environments: optional(strictObject({ production: StrList, staging: StrList })),
    protected: optional(strictObject({ branches: StrList, tags: StrList })),
    secretVariables: StrList,
    /** Host names only (`gitlab.example.com`, optionally `:port`); a URL would never match. */
    remoteIncludeHosts: optional(
      array(
        string().check(
          regex(/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$/, {
            error: 'expected a host name such as "gitlab.example.com" (no scheme, path or wildcard)',
          }),
        ),
      ),
    ),
    rules: optional(record(RuleId, RuleEntry)),
    runners: optional(
      strictObject({
        tiers: optional(strictObject({ deploy: StrList, build: StrList })),
        privilegedAllowed: StrList,
        deniedHostPaths: StrList,
      }),
    ),
    review: optional(
      strictObject({
        blockOn: optional(zodEnum(['new', 'all'])),
        allowProjectOverrides: optional(boolean()),
        maxInlineDiscussions: optional(int().check(minimum(0), maximum(1000))),
      }),
    ),
    exceptions: optional(array(ExceptionEntry)),
  });
}

let schema: ReturnType<typeof buildPolicyFileSchema> | undefined;

/** The schema of one policy file (see the table above). */
export function policyFileSchema(): ReturnType<typeof buildPolicyFileSchema> {
  return (schema ??= buildPolicyFileSchema());
}

/** What a rule's `options.schema` builds its schema from (see `RuleOptions`). */
const optionKit: OptionSchemaKit = { object, strictObject, boolean, array, string, enum: zodEnum };

/**
 * What a policy may write under `rules.<id>.options` for a rule with these options: the rule's
 * schema with every key optional (a key left out keeps its default). Built once per rule.
 */
export function ruleOptionsSchema(options: RuleOptions<unknown>): ZodMiniType {
  let s = optionSchemas.get(options);
  if (!s) optionSchemas.set(options, (s = partial(options.schema(optionKit))));
  return s;
}
const optionSchemas = new WeakMap<RuleOptions<unknown>, ZodMiniType>();

export type PolicyFile = output<ReturnType<typeof buildPolicyFileSchema>>;
