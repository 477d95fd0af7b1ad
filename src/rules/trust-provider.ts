import type { TrustFactory } from './engine.js';
import { unknownTrust } from './engine.js';

/**
 * The trust factory the engine uses by default. (Wired to `src/contexts` — see there.)
 */
export const defaultTrustFactory: TrustFactory = () => () => unknownTrust('trust contexts not evaluated');
