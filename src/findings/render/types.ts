import type { Finding } from '../finding.js';
import type { SourceFiles } from '../sources.js';
import type { RuleMeta } from '../rule-meta.js';

export type RenderFormat = 'text' | 'json' | 'sarif' | 'codequality';

export const RENDER_FORMATS: readonly RenderFormat[] = ['text', 'json', 'sarif', 'codequality'];

export interface RenderInput {
  findings: Finding[];
  /** Source text with secret ranges registered: snippets come from here, masked. */
  sources: SourceFiles;
  /** The rule catalogue (SARIF rule descriptors); read only where `listsRules(format)`. */
  rules: readonly RuleMeta<unknown>[];
  toolVersion: string;
  /** ANSI colour in the text format (default off). */
  color?: boolean;
  /** Notes such as unresolved external includes; shown by the text format only. */
  diagnostics?: string[];
  /** Absolute URL of the tool's home page for SARIF `tool.driver.informationUri` (omitted when unset). */
  informationUri?: string;
}
