import type { array, boolean, enum as zodEnum, object, strictObject, string, ZodMiniObject, ZodMiniType } from 'zod/mini';
import type { Severity } from './finding.js';

type RuleKind = 'pipeline' | 'runner' | 'live';

/**
 * Metadata every rule module carries next to its logic (ESLint / zizmor style). The rule
 * table in the README, `tierguard rules` and `tierguard explain` are generated from it.
 */
export interface RuleMeta<O = Record<string, unknown>> {
  /** Kebab-case id; the module file and docs page are named after it. */
  id: string;
  kind: RuleKind;
  /** One-line title. */
  title: string;
  defaultSeverity: Severity;
  /** The trust principle the rule protects. */
  principle: string;
  /** How to fix a finding. */
  fix: string;
  /**
   * The rule's messages by id (ESLint style): one sentence-case line each — what is wrong, why
   * it matters, the short fix — with `{{name}}` placeholders that a report fills with `data`.
   */
  messages: Readonly<Record<string, string>>;
  /** The rule's options: their defaults, and their schema for policy files. */
  options?: RuleOptions<O>;
}

/**
 * A rule's options. `defaults` is what the rule gets where no policy sets them; a policy's
 * `rules.<id>.options` is checked against `schema` when the policy file is parsed (every key
 * optional: the ones it leaves out keep their defaults) and shallow-merged onto the defaults.
 *
 * The schema is built from the functions the policy loader hands in (`zod/mini`'s, see
 * `OptionSchemaKit`), and the rule modules import zod's types only: judging with the built-in
 * policy (`tierguard lint` without a policy directory) does not load zod, which was about 40 ms
 * of a cold `lint` on Node 20.
 */
export interface RuleOptions<O> {
  defaults: O;
  schema(zod: OptionSchemaKit): ZodMiniObject<{ [K in keyof O]-?: ZodMiniType<O[K]> }>;
}

/** The zod functions a rule's options schema is written with (`zod/mini`'s, named as there). */
export interface OptionSchemaKit {
  object: typeof object;
  strictObject: typeof strictObject;
  boolean: typeof boolean;
  array: typeof array;
  string: typeof string;
  enum: typeof zodEnum;
}

/** Identity helper that ties a rule's options schema to its defaults' type. */
export function ruleOptions<O>(defaults: O, schema: RuleOptions<O>['schema']): RuleOptions<O> {
  return { defaults, schema };
}

export function docsPath(id: string): string {
  return `docs/rules/${id}.md`;
}
