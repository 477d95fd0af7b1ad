import { evaluatePipeline } from '../../rules/engine.js';
import { pipelineRules } from '../../rules/index.js';
import { defaultTrustFactory } from '../../rules/trust-provider.js';
import { PROTECTED_TAGS_NEED } from '../protected-refs.js';
import { defineLiveRule } from '../types.js';

/** A pattern GitLab protects covers the policy's pattern when it is the same or `*`. */
const covered = (pattern: string, real: readonly string[]): boolean => real.includes(pattern) || real.includes('*');

/**
 * The policy names the refs an organisation *means* to protect (`protected.branches`,
 * `protected.tags`, e.g. `v*`), and the trust contexts take them at their word. GitLab only
 * enforces what the project really protects. This check judges the pipeline a second time with
 * GitLab's protected refs alone: every blocking finding that appears only then is a place where
 * the pipeline relies on a ref being protected that GitLab does not protect — reported where
 * the first finding points (the rule line that lets the job run there).
 */
export default defineLiveRule({
  meta: {
    id: 'protected-ref-assumed',
    kind: 'live',
    title: 'The pipeline relies on a branch or tag being protected that GitLab does not protect',
    defaultSeverity: 'error',
    principle: 'Only GitLab decides which refs are protected; a deploy gated on a ref pattern is only as safe as the protection GitLab enforces on it.',
    fix: 'Protect the branch or tag pattern in Settings > Repository > Protected branches / Protected tags (`POST /projects/:id/protected_tags name=v*`), or gate the job on a ref GitLab already protects.',
    messages: {
      assumed: '{{who}} is safe only if {{assumed}} is protected, but GitLab does not protect it in this project: then {{rules}} applies; protect the ref in GitLab.',
    },
  },
  async run(ctx) {
    const refs = await ctx.load('protectedRefs');
    const policyProtected = ctx.policy.protected;
    const def = ctx.evaluation.defaultBranch;
    const realBranches = [...new Set([def, ...refs.branches])];
    const assumedBranches = policyProtected.branches.filter((b) => b !== def && !covered(b, refs.branches));
    let assumedTags: string[] = [];
    if (refs.tags === null) {
      if (policyProtected.tags.length > 0) {
        ctx.skipPart(PROTECTED_TAGS_NEED, `protected tag rules not readable with this token's role; whether GitLab protects ${policyProtected.tags.map((t) => `\`${t}\``).join(', ')} was not verified`);
      }
    } else {
      assumedTags = policyProtected.tags.filter((t) => !covered(t, refs.tags!));
    }
    if (assumedBranches.length === 0 && assumedTags.length === 0) return;

    const truth = evaluatePipeline(ctx.evaluation.pipeline, {
      policy: {
        ...ctx.policy,
        protected: {
          branches: realBranches,
          // Without the role the tag side stays as assumed (skipped above), not as unprotected.
          tags: refs.tags === null ? policyProtected.tags : refs.tags,
        },
      },
      rules: pipelineRules,
      trust: defaultTrustFactory,
      defaultBranch: def,
    });
    const before = new Set(ctx.evaluation.findings.filter((f) => f.blocking).map((f) => f.fingerprint));
    const assumed = [...assumedBranches.map((b) => `branch \`${b}\``), ...assumedTags.map((t) => `tag \`${t}\``)].join(', ');
    // One finding per job (or file): at the finding that says where the job may run, if any.
    const byJob = new Map<string, typeof truth.findings>();
    for (const f of truth.findings) {
      if (!f.blocking || before.has(f.fingerprint) || f.ruleId === 'ci-config-invalid') continue;
      const k = f.job ?? `\0${f.location.file}`;
      byJob.set(k, [...(byJob.get(k) ?? []), f]);
    }
    for (const group of byJob.values()) {
      const f = group.find((x) => x.ruleId === 'deploy-unprotected-ref') ?? group[0]!;
      const rules = [...new Set(group.map((x) => x.ruleId))].join(', ');
      const who = f.job ? `\`${f.job}\`` : 'This configuration';
      ctx.report({
        at: f.location,
        ...(f.job ? { job: f.job } : {}),
        keyPath: f.keyPath,
        discriminator: assumed,
        related: group.filter((x) => x !== f).map((x) => ({ location: x.location, message: x.message })),
        details: { finding: f.message },
        messageId: 'assumed',
        data: { who, assumed, rules },
      });
    }
  },
});
