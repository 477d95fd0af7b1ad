import type { SourceLocation } from './location.js';

/**
 * Something GitLab itself would reject, or tierguard could not read. Becomes a
 * `ci-config-invalid` finding (or, for `unresolved`, an informational note). `note` is a plain
 * informational note about something judged elsewhere (a multi-project trigger), never a part
 * of the configuration left unread.
 */
export interface Diagnostic {
  kind: 'invalid' | 'unresolved' | 'note';
  message: string;
  location: SourceLocation;
  /** Key path for the fingerprint (e.g. ["include", "2"] or ["build", "extends"]). */
  keyPath: string[];
  job?: string;
}
