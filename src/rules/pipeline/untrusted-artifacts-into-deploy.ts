import type { SourceLocation } from '../../model/location.js';
import { get, str, type YNode } from '../../model/node.js';
import type { Job } from '../../model/pipeline.js';
import { defineRule } from '../types.js';
import { codeList, isProtectedRef, isVariableRef } from './_trust-text.js';

/** Variables that always name a protected ref. */
const PROTECTED_REF_VARIABLES = /^(\$CI_DEFAULT_BRANCH|\$\{CI_DEFAULT_BRANCH\})$/;

/**
 * API artifact downloads (`lib/api/ci/job_artifacts.rb`):
 * `GET /projects/:id/jobs/artifacts/:ref_name/download?job=…`, `…/:ref_name/raw/*path`, and
 * `GET /projects/:id/jobs/:job_id/artifacts`; and the `glab job artifact <ref> <job>` CLI.
 */
const BY_REF = /\/jobs\/artifacts\/([^/\s"'?]+)\/(?:download|raw)\b/g;
const BY_JOB_ID = /\/jobs\/([^/\s"'?]+)\/artifacts\b/g;
const GLAB = /\bglab\s+(?:job\s+artifact|ci\s+artifact)\s+(?:-\S+\s+\S+\s+)*(["']?)([^\s"']+)\1/g;

/**
 * `needs:project` (`doc/ci/yaml/_index.md#needsproject`) downloads the artifacts of the latest
 * successful pipeline on `ref`; `needs:pipeline` (`#needspipelinejob`) those of another
 * pipeline by id. Neither checks that the producing ref was protected.
 */
export default defineRule({
  meta: {
    id: 'untrusted-artifacts-into-deploy',
    kind: 'pipeline',
    title: 'Deploy job or trusted job takes artifacts from another pipeline whose ref is not protected',
    defaultSeverity: 'error',
    principle: 'What is deployed must be built from protected code: artifacts produced by an unprotected ref are attacker-controlled input to the deploy.',
    fix: 'Take artifacts from a protected ref (the default branch or a protected tag) with a literal `ref:`, or build them in the same pipeline with `needs:`/`dependencies:`.',
    messages: {
      trustedNeedsUntrusted: 'Job `{{job}}` runs in trusted contexts {{where}} and takes artifacts of job `{{jobName}}` {{why}} (`needs:`): untrusted code produced what a trusted job runs with its secrets.',
      deployFromUntrusted: 'Deploy job `{{job}}` {{message}}: a pipeline on an unprotected ref could have produced what it deploys.',
    },
  },
  create(ctx) {
    /**
     * A job that is no deploy but runs in trusted contexts (default branch, protected refs,
     * schedules) with their secrets and caches: artifacts an outsider controls are reported
     * when the source is attacker-chosen for sure — a merge request's source branch or
     * project, or a literal unprotected ref. (Run-time refs such as `$CI_COMMIT_REF_NAME` name
     * the protected ref itself there.)
     */
    const trustedConsumer = (job: Job) => {
      // Only a `needs` item that names a pipeline, project or ref can be reported: the job's
      // trust is asked for a job that has one.
      const needs = get(job.node, 'needs');
      if (needs?.kind !== 'seq' || !needs.items.some((it) => it.kind === 'map' && (get(it, 'pipeline') || get(it, 'project') || get(it, 'ref')))) return;
      const trust = ctx.trust(job);
      if (trust.trusted.length === 0) return;
      const where = codeList(trust.trusted);
      for (const it of needs.items) {
        if (it.kind !== 'map') continue;
        const jobName = str(get(it, 'job')) ?? '?';
        const pipelineNode = get(it, 'pipeline');
        const projectNode = get(it, 'project');
        const refNode = get(it, 'ref');
        const fromMr = (n: YNode | undefined) => {
          const v = str(n);
          return v !== undefined && /\$\{?CI_MERGE_REQUEST_(SOURCE_BRANCH_NAME|SOURCE_PROJECT_ID|SOURCE_PROJECT_PATH|SOURCE_BRANCH_SHA|REF_PATH)\}?/.test(v) ? v : undefined;
        };
        const bad = [pipelineNode, projectNode, refNode].find((n) => fromMr(n));
        let why: string | undefined;
        if (bad) why = `from \`${fromMr(bad)}\`, which the merge request author chooses`;
        else if (projectNode && refNode && str(refNode) !== undefined && !isVariableRef(str(refNode)!)) {
          const ref = str(refNode)!;
          if (!isProtectedRef(ref, ctx.policy, ctx.defaultBranch)) why = `from \`${ref}\`, a ref that is not protected by policy`;
        }
        if (!why) continue;
        const at = (bad ?? refNode ?? it).loc;
        ctx.report({
          at,
          job: job.name,
          keyPath: ['needs', bad === pipelineNode ? 'pipeline' : bad === projectNode ? 'project' : 'ref'],
          discriminator: `trusted:${jobName}`,
          messageId: 'trustedNeedsUntrusted', data: { job: job.name, where, jobName, why },
        });
      }
    };
    const refVerdict = (ref: string): string | undefined => {
      if (PROTECTED_REF_VARIABLES.test(ref)) return undefined;
      if (isVariableRef(ref)) return `a ref chosen at run time (\`${ref}\`)`;
      let name = ref;
      try {
        name = decodeURIComponent(ref);
      } catch {
        /* keep as written */
      }
      if (isProtectedRef(name, ctx.policy, ctx.defaultBranch)) return undefined;
      return `\`${name}\`, a ref that is not protected by policy`;
    };
    return {
      job(job) {
        const deploy = ctx.deploy(job);
        if (!deploy) {
          trustedConsumer(job);
          return;
        }
        const report = (at: SourceLocation, keyPath: string[], discriminator: string, message: string) =>
          ctx.report({ at, job: job.name, keyPath, discriminator, messageId: 'deployFromUntrusted', data: { job: job.name, message } });

        const needs = get(job.node, 'needs');
        if (needs?.kind === 'seq') {
          needs.items.forEach((it) => {
            if (it.kind !== 'map') return;
            const pipelineNode = get(it, 'pipeline');
            const jobName = str(get(it, 'job')) ?? '?';
            if (pipelineNode) {
              const p = str(pipelineNode) ?? '?';
              report(pipelineNode.loc, ['needs', 'pipeline'], `pipeline:${p}:${jobName}`, `takes artifacts of job \`${jobName}\` from pipeline \`${p}\` (\`needs:pipeline\`), whose ref tierguard cannot verify is protected`);
              return;
            }
            const project = str(get(it, 'project'));
            const refNode = get(it, 'ref');
            const ref = str(refNode);
            if (!project || !refNode || ref === undefined) return;
            const verdict = refVerdict(ref);
            if (verdict) {
              report(refNode.loc, ['needs', 'ref'], `project:${project}:${jobName}`, `takes artifacts of job \`${jobName}\` in \`${project}\` from ${verdict} (\`needs:project\`)`);
            }
          });
        }

        for (const line of ctx.scriptLines(job)) {
          // The groups read below are required ones of their patterns.
          for (const m of line.text.matchAll(BY_REF)) {
            const ref = m[1]!;
            const verdict = refVerdict(ref);
            if (!verdict) continue;
            const index = m.index + m[0].indexOf(ref, '/jobs/artifacts/'.length - 1);
            report(ctx.locateInScript(line, index, ref.length), [line.key], `api-ref:${ref}`, `downloads artifacts by API from ${verdict}`);
          }
          for (const m of line.text.matchAll(BY_JOB_ID)) {
            const id = m[1]!;
            if (id === 'artifacts' || !isVariableRef(id)) continue;
            const index = m.index + '/jobs/'.length;
            report(ctx.locateInScript(line, index, id.length), [line.key], `api-job:${id}`, `downloads artifacts by API from job \`${id}\`, a job chosen at run time on any ref`);
          }
          for (const m of line.text.matchAll(GLAB)) {
            const ref = m[2]!;
            const verdict = refVerdict(ref);
            if (!verdict) continue;
            const index = m.index + m[0].lastIndexOf(ref);
            report(ctx.locateInScript(line, index, ref.length), [line.key], `glab:${ref}`, `downloads artifacts with \`glab\` from ${verdict}`);
          }
        }
      },
    };
  },
});
