/** Public surface of the review module: plan what tierguard says on an MR, then apply it. */
export { addedLines, changedLines, diffPaths, normalizePath } from './diff.js';
export {
  actionMarker,
  findingMarker,
  markerSafe,
  parseActionMarker,
  parseFindingMarker,
  parseSummaryState,
  readOwnState,
  stateMarker,
  SUMMARY_MARKER,
  type OwnDiscussion,
  type OwnState,
  type SummaryState,
} from './markers.js';
export {
  mdCode,
  mdInline,
  mermaidText,
  NOTE_MAX_LENGTH,
  renderInline,
  renderSummary,
  renderTrustGraph,
  sameNoteBody,
  suggestionFor,
  type Masker,
  type Placement,
  type SummaryInput,
  type SummaryRow,
} from './render.js';
export { combineMaskers, planReview, statusDescription } from './plan.js';
export { applyReview, type ApplyFailure, type ApplyLogger, type ApplyOptions, type ApplyResult } from './apply.js';
export type { PlannedDiscussion, ReviewInput, ReviewPlan } from './types.js';
