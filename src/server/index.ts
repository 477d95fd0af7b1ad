/** Public surface of the webhook service. */
export { buildApp, type AppDeps, type TierguardApp } from './app.js';
export { loadConfig, ConfigError, type ServiceConfig } from './config.js';
export { createLogger } from './logger.js';
export { createMetrics, type Metrics } from './metrics.js';
export { createPolicyLoader, type PolicyLoader } from './policies.js';
export { MemoryQueue, type EnqueueResult, type MemoryQueueOptions, type ReviewJob, type WorkQueue } from './queue.js';
export { createReviewer, type Reviewer, type ReviewerOptions, type ReviewOutcome } from './review-mr.js';
export { startServer, type RunningServer, type StartServerOptions } from './server.js';
export { classify, tokenMatches, RECHECK } from './webhook.js';
