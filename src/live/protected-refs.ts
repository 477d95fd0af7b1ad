/**
 * What GitLab really protects in a project: protected branches (readable with read access to
 * the code, Reporter+; lib/api/protected_branches.rb) and protected tags. `GET
 * /projects/:id/protected_tags` needs `read_protected_tags`, which only `manage_protected_tags`
 * enables (app/policies/project_policy.rb: Maintainer). A Developer token falls back to the
 * repository tags API (lib/api/tags.rb, Reporter+), whose entries carry `protected` per
 * existing tag: the tag *rules* stay unknown, so the policy's tag patterns are used with them
 * and the summary says so.
 */
import { GitLabError } from '../gitlab/errors.js';
import type { GitLabApi } from '../gitlab/types.js';

export interface ProtectedRefs {
  /** Protected branch names and wildcard patterns, as GitLab has them. */
  branches: string[];
  /**
   * Protected tag names and patterns as GitLab has them; null when this token cannot read the
   * protected tag rules (see `existingProtectedTags`).
   */
  tags: string[] | null;
  /** Fallback without the role: existing tags that GitLab reports as protected. */
  existingProtectedTags: string[];
  /** Why `tags` is null (shown in the summary). */
  tagsUnreadable?: string;
}

export const PROTECTED_TAGS_NEED = 'Maintainer role on the project (GET /projects/:id/protected_tags: read_protected_tags)';

export async function readProtectedRefs(api: GitLabApi, projectId: number | string): Promise<ProtectedRefs> {
  // Both lists at once (two round trips become one); both settle before either answer is used.
  const [branchList, tagList] = await Promise.allSettled([api.listProtectedBranches(projectId), api.listProtectedTags(projectId)]);
  if (branchList.status === 'rejected') throw branchList.reason;
  const branches = branchList.value.map((b) => b.name);
  if (tagList.status === 'fulfilled') return { branches, tags: tagList.value.map((t) => t.name), existingProtectedTags: [] };
  const err: unknown = tagList.reason;
  if (!(err instanceof GitLabError) || (err.status !== 403 && err.status !== 404)) throw err;
  const existing = (await api.listRepositoryTags(projectId)).filter((t) => t.protected).map((t) => t.name);
  return {
    branches,
    tags: null,
    existingProtectedTags: existing,
    tagsUnreadable: `the token lacks the role to read protected tag rules (${err.status} from GET /projects/:id/protected_tags)`,
  };
}

/** The summary line when the protected tag rules could not be read. */
export function protectedTagsFallbackNote(refs: ProtectedRefs, policyTags: readonly string[]): string | undefined {
  if (refs.tags !== null) return undefined;
  const existing = refs.existingProtectedTags.length ? refs.existingProtectedTags.map((t) => `\`${t}\``).join(', ') : 'none';
  const patterns = policyTags.length ? policyTags.map((t) => `\`${t}\``).join(', ') : 'none';
  return `Protected tag rules not readable with this token's role (needs ${PROTECTED_TAGS_NEED}); used the policy's tag patterns (${patterns}) and the existing tags GitLab reports as protected (${existing}); whether GitLab protects those patterns was not verified.`;
}

/** The policy's protected refs joined with what GitLab protects (trust contexts use this). */
export function withProtectedRefs<P extends { protected: { branches: string[]; tags: string[] } }>(policy: P, refs: ProtectedRefs): P {
  return {
    ...policy,
    protected: {
      branches: [...new Set([...policy.protected.branches, ...refs.branches])],
      tags: [...new Set([...policy.protected.tags, ...(refs.tags ?? refs.existingProtectedTags)])],
    },
  };
}
