import { pipelineTrust } from '../contexts/trust.js';
import type { TrustFactory } from './engine.js';

/** The trust factory the engine uses by default: `src/contexts` evaluates every job under each context. */
export const defaultTrustFactory: TrustFactory = pipelineTrust;
