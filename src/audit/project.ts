/**
 * One project of the audit: read its default-branch CI configuration through the API, judge it
 * with the same engine as the merge request review (`lintPipeline`), and keep what the runner
 * matching needs (each job's tags, trust contexts, deploy tier, secrets, privileged need) plus the
 * project state the plan depends on (project runners, protected environments and refs), read
 * lazily: a project without deploy jobs costs no protection reads.
 */
import { GitLabError } from '../gitlab/errors.js';
import { GitLabConfigSource, type FileCache } from '../gitlab/config-source.js';
import type { OrgProject, GitLabOrgApi } from '../gitlab/org.js';
import type { GitLabApi } from '../gitlab/types.js';
import { get, str, type YNode } from '../model/node.js';
import type { Job } from '../model/pipeline.js';
import { variableRefs, type VarRefOptions } from '../model/var-refs.js';
import type { ConfigSource, FileRef, ReadResult } from '../model/source.js';
import type { Policy } from '../policy/types.js';
import { judge } from '../judge/judge.js';
import { CONTEXT_IDS, TRUSTED_CONTEXTS } from '../rules/types.js';
import { matchesAny } from '../util/glob.js';
import type { AuditProject } from './types.js';

export interface ProjectAuditDeps {
  api: GitLabApi;
  org: GitLabOrgApi;
  policyFor(namespace: string): Policy;
  cache?: FileCache;
  /** Hosts include:remote may be fetched from (default: the policy's). */
  remoteHosts?: readonly string[];
}

/** 401/403/404: an answer about this token; anything else is thrown (the run retries or fails). */
export function denial(err: unknown): string | undefined {
  if (!(err instanceof GitLabError)) return undefined;
  if (err.status === 401) return 'the token was rejected (401)';
  if (err.status === 403) return 'the token lacks the role (403)';
  if (err.status === 404) return 'not found or not visible to the token (404)';
  return undefined;
}

/** Serve the already-read root file, everything else from the API source. */
class PrefetchedSource implements ConfigSource {
  constructor(
    private readonly inner: ConfigSource,
    private readonly root: string,
    private readonly text: string,
  ) {}
  read(ref: FileRef): Promise<ReadResult> {
    if (ref.kind === 'local' && !ref.project && ref.path.replace(/^\/+/, '') === this.root) return Promise.resolve({ status: 'ok', text: this.text });
    return this.inner.read(ref);
  }
  glob(pattern: string, project?: string, ref?: string): Promise<string[] | undefined> {
    return this.inner.glob(pattern, project, ref);
  }
}

export async function auditProject(p: OrgProject, deps: ProjectAuditDeps): Promise<AuditProject> {
  const policy = deps.policyFor(p.namespaceFullPath);
  const ciFile = p.ciConfigPath ?? '.gitlab-ci.yml';
  const out: AuditProject = {
    id: p.id,
    path: p.pathWithNamespace,
    namespace: p.namespaceFullPath,
    webUrl: p.webUrl,
    defaultBranch: p.defaultBranch,
    ciFile,
    status: 'audited',
    sharedRunnersEnabled: p.sharedRunnersEnabled,
    groupRunnersEnabled: p.groupRunnersEnabled,
    runnerIds: null,
    protectedEnvironments: null,
    protectedBranches: null,
    protectedTags: null,
    jobs: [],
    findings: [],
    notes: [],
    skipped: [],
  };
  if (!p.defaultBranch) {
    out.status = 'no-ci';
    out.notes.push('empty repository (no default branch)');
    return out;
  }
  if (/@|^https?:\/\//.test(ciFile)) {
    out.status = 'no-ci';
    out.notes.push(`the CI configuration lives elsewhere (${ciFile}); audit that project instead`);
    return out;
  }
  try {
    const text = await deps.api.getRawFile(p.id, ciFile, p.defaultBranch);
    if (text === null) {
      out.status = 'no-ci';
      return out;
    }
    const inner = new GitLabConfigSource({
      api: deps.api,
      projectId: p.id,
      sha: p.defaultBranch,
      cache: deps.cache,
      remote: { allowedHosts: deps.remoteHosts ?? policy.remoteIncludeHosts },
    });
    const { evaluation, jobs } = await judge({ policy, ci: { source: new PrefetchedSource(inner, ciFile, text), rootFile: ciFile }, defaultBranch: p.defaultBranch });
    out.notes.push(...evaluation.notes);
    for (const f of evaluation.findings) {
      if (f.suppressed) continue;
      out.findings.push({
        ruleId: f.ruleId,
        severity: f.severity,
        message: evaluation.sources.maskText(f.message),
        file: f.location.file,
        line: f.location.line,
        column: f.location.column,
        job: f.job ?? null,
        fingerprint: f.fingerprint,
      });
    }
    // The pipeline's own jobs, with the trust and deploy info the judgment holds.
    for (const { job, trust, deploy: info, trigger } of jobs) {
      if (job.kind === 'bridge' || trigger !== undefined) continue;
      const contexts = CONTEXT_IDS.filter((c) => trust.byContext[c].runs !== 'no');
      out.jobs.push({
        name: job.name,
        file: job.keyLoc.file,
        line: job.keyLoc.line,
        column: job.keyLoc.column,
        tags: [...job.tags],
        contexts,
        deploy: info?.tier ? { tier: info.tier, environment: info.environmentName ?? null } : null,
        secrets: secretsOf(job, policy),
        privileged: needsPrivileged(job),
      });
    }
  } catch (err) {
    const why = denial(err);
    if (!why) throw err;
    out.status = 'error';
    out.error = `the CI configuration could not be read: ${why}`;
    return out;
  }

  // Project runners (Maintainer).
  try {
    out.runnerIds = await deps.org.listProjectRunnerIds(p.id);
  } catch (err) {
    const why = denial(err);
    if (!why) throw err;
    out.skipped.push({ what: `project runners of ${p.pathWithNamespace} (GET /projects/:id/runners, Maintainer)`, reason: why });
  }

  const deploys = out.jobs.filter((j) => j.deploy);
  if (deploys.some((j) => j.deploy!.environment)) {
    try {
      out.protectedEnvironments = (await deps.api.listProtectedEnvironments(p.id)).map((e) => e.name);
    } catch (err) {
      const why = denial(err);
      if (!why) throw err;
      out.skipped.push({ what: `protected environments of ${p.pathWithNamespace} (GET /projects/:id/protected_environments, Maintainer)`, reason: why });
    }
  }
  const trustedRefs = new Set(deploys.flatMap((j) => j.contexts.filter((c) => TRUSTED_CONTEXTS.includes(c))));
  if (trustedRefs.has('default-branch') || trustedRefs.has('protected-branch') || trustedRefs.has('schedule')) {
    try {
      out.protectedBranches = (await deps.api.listProtectedBranches(p.id)).map((b) => b.name);
    } catch (err) {
      const why = denial(err);
      if (!why) throw err;
      out.skipped.push({ what: `protected branches of ${p.pathWithNamespace} (GET /projects/:id/protected_branches, Reporter)`, reason: why });
    }
  }
  if (trustedRefs.has('protected-tag')) {
    try {
      out.protectedTags = (await deps.api.listProtectedTags(p.id)).map((b) => b.name);
    } catch (err) {
      const why = denial(err);
      if (!why) throw err;
      out.skipped.push({ what: `protected tags of ${p.pathWithNamespace} (GET /projects/:id/protected_tags, Maintainer)`, reason: why });
    }
  }
  return out;
}

/** Any `$NAME` or `${NAME` (conservative: `$$` not treated as an escape, rule expressions included). */
const ANY_DOLLAR_REFS: VarRefOptions = { dollarEscape: false, powershell: false, percent: false, openBrace: true };

/** `$NAME` / `${NAME}` references in the job's resolved keywords and inherited variables that look like credentials. */
function secretsOf(job: Job, policy: Policy): string[] {
  const names = new Set<string>();
  const scan = (text: string) => {
    for (const r of variableRefs(text, ANY_DOLLAR_REFS)) names.add(r.name);
  };
  const walk = (n: YNode | undefined, depth = 0): void => {
    if (!n || depth > 64) return;
    if (n.kind === 'scalar') {
      if (typeof n.value === 'string' && n.value.includes('$')) scan(n.value);
    } else if (n.kind === 'seq') for (const it of n.items) walk(it, depth + 1);
    else if (n.kind === 'map') for (const e of n.entries.values()) walk(e.value, depth + 1);
  };
  walk(job.node);
  for (const v of job.variables.values()) if (v.value.includes('$')) scan(v.value);
  return [...names].filter((n) => !n.startsWith('CI_') && matchesAny(n, policy.secretVariables)).sort();
}

/**
 * A Docker-in-Docker service needs a privileged runner. The official `docker:<version>` tags
 * without a suffix are the dind variant (GITLAB-FACTS).
 */
function needsPrivileged(job: Job): boolean {
  const services = get(job.node, 'services');
  if (!services || services.kind !== 'seq') return false;
  return services.items.some((s) => {
    const name = s.kind === 'map' ? str(get(s, 'name')) : str(s);
    if (!name) return false;
    const image = name.replace(/^.*\//, '');
    return /^docker(:|$)/.test(image) && (/dind/.test(image) || /^docker(:\d[\w.]*)?$/.test(image));
  });
}

