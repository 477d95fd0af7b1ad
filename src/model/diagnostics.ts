import type { SourceLocation } from './location.js';

/**
 * Something GitLab itself would reject, or tierguard could not read. Becomes a
 * `ci-config-invalid` finding (or, for `unresolved`, an informational note).
 */
export interface Diagnostic {
  kind: 'invalid' | 'unresolved';
  message: string;
  location: SourceLocation;
  /** Key path for the fingerprint (e.g. ["include", "2"] or ["build", "extends"]). */
  keyPath: string[];
  job?: string;
}
