/** Trust-context engine: expressions, contexts, and where each job can run. */
export * from './expression.js';
export * from './contexts.js';
export * from './reach.js';
