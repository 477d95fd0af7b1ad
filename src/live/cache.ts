/** The live checks cache their reads in the per-project TTL cache the GitLab adapter keeps. */
export { ProjectCache as LiveCache, type ProjectCacheOptions as LiveCacheOptions } from '../gitlab/project-cache.js';
