/** Public surface of the GitLab adapter: talk to `GitLabApi`, build one with `createGitLabApi`. */
export { createGitLabApi, type GitLabApiOptions } from './client.js';
export { GitLabError, PositionRejectedError, isTransient, redact } from './errors.js';
export type { GitLabLogger } from './requester.js';
export type { RetryOptions } from './retry.js';
export type * from './types.js';
