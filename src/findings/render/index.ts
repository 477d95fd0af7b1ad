import { renderCodeQuality } from './codequality.js';
import { renderJson } from './json.js';
import { renderSarif } from './sarif.js';
import { renderText } from './text.js';
import { RENDER_FORMATS, type RenderFormat, type RenderInput } from './types.js';

export { RENDER_FORMATS, type RenderFormat, type RenderInput } from './types.js';
export { renderText } from './text.js';
export { renderJson } from './json.js';
export { renderSarif } from './sarif.js';
export { renderCodeQuality } from './codequality.js';

/** Whether the format reads `RenderInput.rules` (SARIF's rule descriptors); the others ignore it. */
export function listsRules(format: RenderFormat): boolean {
  return format === 'sarif';
}

/** Render findings for the CLI (`tierguard lint`, `tierguard check-runner`). */
export function renderFindings(format: RenderFormat, input: RenderInput): string {
  switch (format) {
    case 'text':
      return renderText(input);
    case 'json':
      return renderJson(input);
    case 'sarif':
      return renderSarif(input);
    case 'codequality':
      return renderCodeQuality(input);
    default: {
      const never: never = format;
      throw new Error(`unknown output format "${String(never)}" (expected ${RENDER_FORMATS.join(', ')})`);
    }
  }
}
