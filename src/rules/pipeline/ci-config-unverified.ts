import type { IncludeRecord } from '../../model/include.js';
import { defineRule } from '../types.js';

/** At most this many dependent jobs are named in the message; the rest are counted. */
const MAX_NAMED = 3;

/**
 * Part of the configuration could not be read (an `include:remote` host that is not
 * allowlisted, a project/template/component include that answered 403/404 or timed out, a file
 * over the size limit, an artifact-generated child pipeline): tierguard cannot vouch for what
 * that part defines — jobs, `extends` parents, `!reference` targets, `workflow:rules` — so the
 * verdict is *unverified*. Reported in the service and with `tierguard lint --strict`; offline
 * the CLI keeps these as notes.
 */
export default defineRule({
  meta: {
    id: 'ci-config-unverified',
    kind: 'pipeline',
    title: 'Part of the CI configuration could not be read, so the verdict is unverified',
    defaultSeverity: 'error',
    principle: 'A gate that cannot read part of the pipeline must not pass it: what it did not read may define or change the jobs that reach deploy runners and secrets.',
    fix: 'Make the include readable for tierguard (allowlist the remote host in the policy, give the token access to the project, pin the include to a file that exists) or inline the configuration; lower the rule in the policy only if you accept unverified verdicts.',
    messages: {
      unread: '`include:{{kind}}` `{{target}}` could not be read ({{reason}}): tierguard cannot vouch for what it defines{{jobs}}.',
    },
  },
  create(ctx) {
    if (!ctx.strict) return {};
    // Jobs whose `extends` parents could not be found while an include was unread (the model
    // keeps them as partial jobs), or whose `!reference` targets are missing: they may live there.
    const dependents = new Set<string>();
    for (const j of ctx.pipeline.jobs) if (j.partial) dependents.add(j.name);
    for (const d of ctx.pipeline.diagnostics) if (d.kind === 'unresolved' && d.job) dependents.add(d.job);
    return {
      include(inc: IncludeRecord) {
        if (inc.status !== 'unresolved') return;
        const names = [...dependents];
        const jobs =
          names.length === 0
            ? ''
            : `; ${names
                .slice(0, MAX_NAMED)
                .map((n) => `\`${n}\``)
                .join(', ')}${names.length > MAX_NAMED ? ` and ${names.length - MAX_NAMED} more` : ''} use templates that may live there`;
        ctx.report({
          at: inc.loc,
          messageId: 'unread', data: { kind: inc.kind, target: inc.target, reason: inc.reason ?? 'unavailable', jobs },
          keyPath: ['include', inc.kind, inc.target],
          discriminator: `${inc.from}:${inc.target}`,
        });
      },
    };
  },
});
