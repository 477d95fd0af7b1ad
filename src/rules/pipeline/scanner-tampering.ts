import { ruleOptions } from '../../findings/rule-meta.js';
import { get, str } from '../../model/node.js';
import { defineRule } from '../types.js';
import { variableSites } from './_shell.js';

const options = ruleOptions(
  {
    /** Registry prefixes `SECURE_ANALYZERS_PREFIX` may point at (a mirror the organisation runs). */
    allowedPrefixes: [] as string[],
  },
  (z) => z.object({ allowedPrefixes: z.array(z.string()) }),
);

/** GitLab's analyzer registry, as the templates write it. */
const GITLAB_PREFIX = /^(registry\.gitlab\.com\/(gitlab-org\/security-products|security-products)(\/|$)|\$\{?CI_TEMPLATE_REGISTRY_HOST\}?\/security-products(\/|$))/;

/** The variables the security templates read to skip their jobs (`lib/gitlab/ci/templates/Jobs/*.gitlab-ci.yml`, `Security/*`). */
const DISABLE_VARIABLES = new Map([
  ['SAST_DISABLED', 'SAST'],
  ['SECRET_DETECTION_DISABLED', 'secret detection'],
  ['DEPENDENCY_SCANNING_DISABLED', 'dependency scanning'],
  ['CONTAINER_SCANNING_DISABLED', 'container scanning'],
  ['DAST_DISABLED', 'DAST'],
  ['IAC_SCANNING_DISABLED', 'IaC scanning'],
]);
/** The templates test `== 'true' || == '1'` (older ones: any non-empty value). */
const TRUTHY = new Set(['true', '1', 'yes', 'True', 'TRUE']);

/** A registry prefix as quoted in messages: never with `user:password@`. */
function withoutUserinfo(v: string): string {
  return v.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@\s]*@/i, '$1');
}

/** Job names of GitLab's security templates (SAST analyzers, secret detection, dependency and container scanning, DAST). */
export function isSecurityJob(name: string): boolean {
  return /(^|-)sast$|^sast($|-)|^secret_detection|^secret-detection|dependency_scanning$|^dependency_scanning|^gemnasium|^container_scanning|^dast($|_)|^kics-iac-sast$|^semgrep-sast$|^iac-sast$/.test(name);
}

/**
 * Security scanning only protects while it runs the analyzers GitLab ships: an analyzer
 * prefix pointed at another registry runs whatever image that registry serves, with the job
 * token and source, and produces whatever report it likes; `*_DISABLED` in the root
 * configuration and a `rules: [{ when: never }]` override remove the scan from every pipeline
 * (`doc/user/application_security/sast/_index.md`, "Available CI/CD variables" and
 * "Overriding SAST jobs"; `doc/user/application_security/offline_deployments/_index.md`).
 */
export default defineRule({
  meta: {
    id: 'scanner-tampering',
    kind: 'pipeline',
    title: 'Security scanners redirected to another registry, disabled, or overridden to never run',
    defaultSeverity: 'warning',
    principle: "Checks that guard the trusted tier are not switched off or replaced by the code they check.",
    fix: 'Keep `SECURE_ANALYZERS_PREFIX` at GitLab\'s registry (or a mirror listed in the rule option `allowedPrefixes`), remove `*_DISABLED`, and exclude paths or analyzers with `SAST_EXCLUDED_PATHS`/`SAST_EXCLUDED_ANALYZERS` instead of disabling jobs.',
    options,
    messages: {
      analyzersPrefix: '{{where}} SECURE_ANALYZERS_PREFIX points the security analyzers at `{{registry}}`, not GitLab\'s registry: the scan runs whatever images that registry serves, with the job token and the source.',
      scanDisabled: 'Global variable {{variable}} is "{{value}}": {{scan}} is switched off in every pipeline of the project.',
      neverRuns: 'Security job `{{job}}` is overridden with an unconditional `rules: - when: never`: the scan never runs.',
    },
  },
  create(ctx) {
    return {
      pipeline(p) {
        const fromTemplate = (file: string) => file.startsWith('template:') || file.startsWith('component:');
        for (const site of variableSites(p)) {
          const { def } = site;
          if (fromTemplate(def.valueLoc.file)) continue;
          if (def.name === 'SECURE_ANALYZERS_PREFIX') {
            const v = def.value.trim();
            if (!v || GITLAB_PREFIX.test(v) || ctx.options.allowedPrefixes.some((a) => v === a || v.startsWith(a.replace(/\/?$/, '/')))) continue;
            ctx.report({
              at: def.valueLoc,
              job: site.job,
              keyPath: site.keyPath,
              messageId: 'analyzersPrefix', data: { where: site.where, registry: withoutUserinfo(v) },
            });
            continue;
          }
          const scan = DISABLE_VARIABLES.get(def.name);
          if (scan && site.where === 'global variable' && TRUTHY.has(def.value.trim())) {
            ctx.report({
              at: def.valueLoc,
              keyPath: site.keyPath,
              messageId: 'scanDisabled', data: { variable: def.name, value: def.value.trim(), scan },
            });
          }
        }
        for (const job of p.jobs) {
          if (!isSecurityJob(job.name)) continue;
          const rules = get(job.node, 'rules');
          const first = rules?.kind === 'seq' ? rules.items[0] : undefined;
          if (first?.kind !== 'map' || str(get(first, 'when')) !== 'never') continue;
          if (['if', 'changes', 'exists'].some((k) => first.entries.has(k))) continue;
          const whenNode = get(first, 'when')!;
          if (fromTemplate(whenNode.loc.file)) continue;
          // An override: the job's script comes from another file (the template) than its rules.
          // A job disabled where it is defined (GitLab's own stubs for removed analyzers) is not.
          const script = get(job.node, 'script');
          if (!script || script.loc.file === whenNode.loc.file) continue;
          ctx.report({
            at: whenNode.loc,
            job: job.name,
            keyPath: ['rules', '0', 'when'],
            messageId: 'neverRuns', data: { job: job.name },
          });
        }
      },
    };
  },
});
