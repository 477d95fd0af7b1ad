import { entry, get, str, strList, type YNode } from '../../model/node.js';
import type { Job, Pipeline } from '../../model/pipeline.js';
import { defineRule, type ContextId, type JobTrust } from '../types.js';
import { codeList, insertUnderJobKey } from './_trust-text.js';
import { flatMap } from '../../util/array.js';

/** The job names a job `needs:` (strings or `{ job: … }`), in this pipeline. */
function neededJobs(job: Job): string[] {
  const needs = get(job.node, 'needs');
  if (needs?.kind !== 'seq') return [];
  return flatMap(needs.items, (n) => (n.kind === 'map' ? (get(n, 'project') || get(n, 'pipeline') ? [] : strList(get(n, 'job'))) : strList(n)));
}

const isFalse = (n: YNode | undefined) => n?.kind === 'scalar' && n.value === false;

/**
 * Whether GitLab gives the manual job `allow_failure: true`: a job-level `when: manual` without
 * `allow_failure: false` makes the job "ignored" (`lib/gitlab/ci/config/entry/job.rb`,
 * `ignored?`: `allow_failure_defined? ? static_allow_failure : manual_action?`); a matching
 * rule's own `allow_failure` replaces it (`lib/gitlab/ci/build/rules.rb`, `build_attributes`).
 * Returns the `when: manual` value node when that is the case.
 */
function manualAllowedToFail(job: Job): YNode | undefined {
  const when = entry(job.node, 'when');
  if (str(when?.value) !== 'manual') return undefined;
  if (isFalse(get(job.node, 'allow_failure'))) return undefined;
  const af = get(job.node, 'allow_failure');
  if (af?.kind === 'map') return undefined; // `allow_failure: exit_codes:` fails on other codes
  const rules = get(job.node, 'rules');
  if (rules?.kind === 'seq') {
    const adding = rules.items.filter((r) => r.kind === 'map' && str(get(r, 'when')) !== 'never');
    if (adding.length > 0 && adding.every((r) => isFalse(get(r, 'allow_failure')))) return undefined;
  }
  return when!.value;
}

/** Contexts where a job may start without a person (on_success, always, delayed). */
function automaticIn(trust: JobTrust, c: ContextId): boolean {
  const o = trust.byContext[c];
  return o.runs !== 'no' && o.when !== 'manual' && o.when !== 'never';
}

/** Jobs that run after the deploy in a context where the deploy is manual: later stages, or `needs:` it. */
function dependents(p: Pipeline, job: Job, contexts: readonly ContextId[], trust: (j: Job) => JobTrust): Job[] {
  const stageIndex = (j: Job) => p.stages.indexOf(j.stage);
  const mine = stageIndex(job);
  return p.jobs.filter((j) => {
    if (j === job) return false;
    const needsIt = neededJobs(j).includes(job.name);
    if (!needsIt && !(stageIndex(j) > mine && mine >= 0)) return false;
    const envAction = str(get(j.node, 'environment', 'action'));
    if (envAction === 'stop') return false;
    const t = trust(j);
    return contexts.some((c) => automaticIn(t, c));
  });
}

/**
 * `when: manual` at job level gives a job `allow_failure: true`: the pipeline does not wait
 * for it, later stages run and the pipeline succeeds while the production deploy has not
 * happened (`doc/ci/yaml/_index.md`, `when: manual`; `doc/ci/jobs/job_control.md`, "Types of
 * manual jobs": optional vs blocking). Smoke tests, releases and notifications then run against
 * the old version, and a merge gated on the pipeline passes without it.
 */
export default defineRule({
  meta: {
    id: 'manual-deploy-not-blocking',
    kind: 'pipeline',
    title: 'Manual production deploy keeps the default `allow_failure: true`',
    defaultSeverity: 'warning',
    principle: 'What runs after a production deploy, and the pipeline status others rely on, must reflect whether the deploy happened.',
    fix: 'Add `allow_failure: false` to the manual deploy job, so the pipeline is blocked until someone runs it and later stages wait for it.',
    messages: {
      notBlocking: 'Production deploy job `{{job}}` is `when: manual`{{explicit}}: {{consequence}}; set `allow_failure: false`.',
    },
  },
  create(ctx) {
    return {
      job(job) {
        const deploy = ctx.deploy(job);
        if (deploy?.tier !== 'production') return;
        const whenNode = manualAllowedToFail(job);
        if (!whenNode) return;
        const trust = ctx.trust(job);
        const manualIn = [...trust.trusted, ...trust.untrusted].filter((c) => trust.byContext[c].when === 'manual');
        if (manualIn.length === 0) return;
        const after = dependents(ctx.pipeline, job, manualIn, ctx.trust);
        const mrGate = manualIn.filter((c) => c === 'mr' || c === 'mr-fork');
        if (after.length === 0 && mrGate.length === 0) return;
        const explicit = str(get(job.node, 'allow_failure')) === 'true' ? ' (`allow_failure: true`)' : " with GitLab's default `allow_failure: true`";
        const names = after.slice(0, 3).map((j) => j.name);
        const consequence = after.length
          ? `${codeList(names)}${after.length > 3 ? ` and ${after.length - 3} more` : ''} run${after.length === 1 ? 's' : ''} and the pipeline succeeds without the deploy having happened`
          : `the ${codeList(mrGate)} pipeline succeeds without it, so a merge gated on it passes`;
        const af = entry(job.node, 'allow_failure');
        const fix = af ? undefined : insertUnderJobKey(ctx, job, ['allow_failure: false'], 'Make the manual deploy blocking');
        ctx.report({
          at: whenNode.loc,
          job: job.name,
          keyPath: ['when'],
          fix,
          related: after.slice(0, 3).map((j) => ({ location: j.keyLoc, message: `\`${j.name}\` runs without waiting for the deploy` })),
          messageId: 'notBlocking', data: { job: job.name, explicit, consequence },
        });
      },
    };
  },
});
