import type { GitLabVariable } from '../gitlab/types.js';
import { matchesNamePatterns } from '../util/glob.js';
import { NEEDS, SkipCheck, type LiveRuleContext } from './types.js';

export interface ScopedVariable {
  variable: GitLabVariable;
  /** `project` or the group's full path. */
  source: string;
}

/**
 * Project and ancestor-group variables, as a job would see them: a variable of the same key and
 * environment scope at a nearer level (project, then the nearest group) hides the farther one
 * (doc/ci/variables/_index.md "CI/CD variable precedence"). Group variables that cannot be
 * read are reported as a partial skip; project variables are required (SkipCheck).
 */
export async function visibleVariables(ctx: LiveRuleContext<unknown>): Promise<ScopedVariable[]> {
  const project = await ctx.load('projectVariables');
  const out: ScopedVariable[] = project.map((variable) => ({ variable, source: 'project' }));
  let groups: { group: string; variables: GitLabVariable[] }[] = [];
  try {
    const g = await ctx.load('groupVariables');
    groups = g.groups;
    for (const u of g.unreadable) ctx.skipPart(NEEDS.groupVariables, `variables of group \`${u.group}\` not checked: ${u.reason}`);
  } catch (err) {
    if (!(err instanceof SkipCheck)) throw err;
    ctx.skipPart(err.needs, `group variables not checked: ${err.reason}`);
  }
  const seen = new Set(project.map((v) => `${v.key}\u0000${v.environmentScope}`));
  for (const g of groups) {
    for (const variable of g.variables) {
      const k = `${variable.key}\u0000${variable.environmentScope}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ variable, source: g.group });
    }
  }
  return out;
}

export function isCredentialLike(key: string, patterns: readonly string[]): boolean {
  return matchesNamePatterns(key, patterns);
}

export function describeVariable(v: ScopedVariable): string {
  const where = v.source === 'project' ? 'project' : `group \`${v.source}\``;
  const scope = v.variable.environmentScope === '*' ? 'all environments' : `environment scope \`${v.variable.environmentScope}\``;
  return `CI/CD variable \`${v.variable.key}\` (${where}, ${scope})`;
}
