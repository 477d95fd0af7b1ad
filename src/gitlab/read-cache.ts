/**
 * A per-run read cache over `GitLabApi` for the configuration reads (`getRawFile`, `getProject`,
 * `listRepositoryTree`, `getCiTemplate`): an audit of thousands of projects that include the
 * same shared templates (`include:project`, `include:template`, components) reads each such
 * file once per run, whatever ref name it is read at. Only for one run: a ref moves between runs.
 * Failures are not kept (the next reader asks again); 404s are answers (null / []) and are kept.
 */
import type { GitLabApi } from './types.js';

export function withReadCache(api: GitLabApi): GitLabApi {
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    let p = memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      memo.set(key, p);
      p.catch(() => memo.delete(key));
    }
    return p;
  };
  return {
    ...api,
    getRawFile: (project, path, ref) => once(`raw\0${project}\0${ref}\0${path}`, () => api.getRawFile(project, path, ref)),
    getProject: (project) => once(`project\0${project}`, () => api.getProject(project)),
    listRepositoryTree: (project, ref, options) => once(`tree\0${project}\0${ref}\0${options?.recursive ?? false}`, () => api.listRepositoryTree(project, ref, options)),
    getCiTemplate: (name) => once(`template\0${name}`, () => api.getCiTemplate(name)),
  };
}
