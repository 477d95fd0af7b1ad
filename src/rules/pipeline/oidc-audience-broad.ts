import { ruleOptions } from '../../findings/rule-meta.js';
import type { SourceLocation } from '../../model/location.js';
import { get, str, type YNode } from '../../model/node.js';
import type { Job } from '../../model/pipeline.js';
import type { RuleReport } from '../../findings/finding.js';
import { defineRule } from '../types.js';
import { codeList } from './_trust-text.js';

const options = ruleOptions(
  {
    /** Audiences every job could equally use (besides the instance URL and `$CI_SERVER_*`). */
    genericAudiences: ['https://gitlab.com', 'gitlab.com', 'https://gitlab.com/'],
  },
  (z) => z.object({ genericAudiences: z.array(z.string()) }),
);

interface Audience {
  value: string;
  node: YNode;
  token: string;
  /** The token is given to every job through `default:`. */
  fromDefault: boolean;
}

/** The `aud` values of a job's `id_tokens:` (string or list), with where each is written. */
function audiencesOf(job: Job): Audience[] {
  const tokens = get(job.node, 'id_tokens');
  if (tokens?.kind !== 'map') return [];
  const out: Audience[] = [];
  for (const [token, e] of tokens.entries) {
    const aud = get(e.value, 'aud');
    const fromDefault = [tokens, e.value, aud].some((n) => n?.via?.some((v) => v.kind === 'default'));
    const items = aud?.kind === 'seq' ? aud.items : aud ? [aud] : [];
    for (const n of items) {
      const value = str(n);
      if (value) out.push({ value, node: n, token, fromDefault });
    }
  }
  return out;
}

/**
 * An ID token's `aud` tells the relying party (a cloud provider, Vault) which configuration
 * it is for; its `sub` (`project_path:…:ref_type:…:ref:…`) which pipeline asks
 * (`doc/ci/secrets/id_token_authentication.md`). When the audience is the instance URL or is
 * shared by every job, the role's trust policy has only `sub` left to separate an MR job from
 * a deploy — and many policies check only `aud`, or `sub` with a wildcard.
 */
export default defineRule({
  meta: {
    id: 'oidc-audience-broad',
    kind: 'pipeline',
    title: 'OIDC ID token audience shared with untrusted or deploy jobs',
    defaultSeverity: 'warning',
    principle: 'A credential issued to untrusted code must not be accepted where trusted code is: each trust level gets its own audience.',
    fix: 'Give each role its own audience (`aud: https://deploy.example.com/prod`), request ID tokens only in the jobs that need them, and pin the cloud-side trust policy to `sub` claims with protected refs or environments.',
    options,
    messages: {
      sharedWithDeploy: '{{where}} is also the audience of deploy job `{{job}}`{{untrusted}}: a cloud role that trusts this audience cannot tell the two apart by it.',
      generic: '{{where}} is {{why}}, and the job can run in {{contexts}}: only a `sub` condition on the cloud side keeps this token out of deploy roles.',
    },
  },
  create(ctx) {
    const generic = (v: string) => /^\$\{?CI_SERVER_(URL|HOST|FQDN)\}?\/?$/.test(v.trim()) || ctx.options.genericAudiences.includes(v.trim());
    return {
      pipeline(p) {
        const deployAud = new Map<string, { job: Job; at: SourceLocation }>();
        for (const job of p.jobs) {
          if (!ctx.deploy(job)) continue;
          for (const a of audiencesOf(job)) if (!deployAud.has(a.value)) deployAud.set(a.value, { job, at: a.node.loc });
        }
        const found = new Map<string, RuleReport>();
        for (const job of p.jobs) {
          const auds = audiencesOf(job);
          if (auds.length === 0) continue;
          const trust = ctx.trust(job);
          const untrusted = trust.untrusted;
          const isDeploy = !!ctx.deploy(job);
          for (const a of auds) {
            const k = `${a.node.loc.file}:${a.node.loc.line}:${a.node.loc.column}`;
            if (found.has(k)) continue;
            const where = `\`aud\` \`${a.value}\` of ID token \`${a.token}\` in job \`${job.name}\``;
            const shared = deployAud.get(a.value);
            if (!isDeploy && shared && shared.job !== job) {
              found.set(k, {
                at: a.node.loc,
                job: job.name,
                keyPath: ['id_tokens', a.token, 'aud'],
                discriminator: a.value,
                severity: untrusted.length ? 'error' : 'warning',
                related: [{ location: shared.at, message: `the same audience in deploy job \`${shared.job.name}\`` }],
                messageId: 'sharedWithDeploy', data: { where, job: shared.job.name, untrusted: untrusted.length ? `, and \`${job.name}\` can run in ${codeList(untrusted.slice(0, 3))}` : '' },
              });
              continue;
            }
            if (untrusted.length && (generic(a.value) || a.fromDefault)) {
              found.set(k, {
                at: a.node.loc,
                job: job.name,
                keyPath: ['id_tokens', a.token, 'aud'],
                discriminator: a.value,
                messageId: 'generic', data: { where, why: generic(a.value) ? 'the GitLab instance URL, an audience any job can request' : 'given to every job through `default:`', contexts: codeList(untrusted.slice(0, 3)) },
              });
            }
          }
        }
        for (const r of found.values()) ctx.report(r);
      },
    };
  },
});
