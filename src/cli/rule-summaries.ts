import type { RuleMeta } from '../findings/rule-meta.js';

/** What `tierguard rules` and `tierguard explain` print of a rule: its metadata less the options schema and message templates. */
export type RuleSummary = Omit<RuleMeta, 'options' | 'messages'>;

/**
 * Every rule's summary, in catalogue order (`allRuleMetas`). The CLI bundle replaces this module
 * with the same list computed at build time from the compiled catalogue (scripts/build-cli.mjs),
 * so `rules` and `explain` start without loading the rule modules; test/cli/bundle.test.ts
 * checks that the bundle and the catalogue agree.
 */
export async function ruleSummaries(): Promise<RuleSummary[]> {
  const { allRuleMetas } = await import('../catalogue/catalogue.js');
  return allRuleMetas().map(({ id, kind, title, defaultSeverity, principle, fix }) => ({ id, kind, title, defaultSeverity, principle, fix }));
}
