import { ruleOptions } from '../../findings/rule-meta.js';
import { globToRegExp } from '../../util/glob.js';
import type { RuleReport } from '../../findings/finding.js';
import { defineRule } from '../types.js';
import { artifactsOf, credentialNames, jobUsesSecrets } from './_script-facts.js';

const options = ruleOptions(
  {
    /**
     * The project is public: artifacts without `access:` are downloadable by anyone, so a
     * secret-using job's artifacts need `access: developer` (or `none`).
     */
    publicProject: false,
  },
  (z) => z.object({ publicProject: z.boolean() }),
);

/** File names that commonly hold credentials (basename patterns; `*` spans any characters). */
const CREDENTIAL_FILES = ['.env', '.env.*', '*.env', '*.pem', '*.key', '*.p12', '*.pfx', '*.jks', '*.keystore', '*kubeconfig*', '.kube', '.kube/*', '.npmrc', '.pypirc', '.netrc', '_netrc', '.git-credentials', '.docker', '.docker/config.json', 'config.json', 'id_rsa', 'id_ed25519', 'id_ecdsa', '.ssh', '.ssh/*', '*.tfstate', '*.tfstate.*', 'credentials', 'credentials.json', '*.credentials', '*.tfvars', '.vault-token', 'service-account*.json', '*-sa.json', 'gcloud-key*.json', '.aws', '.aws/*'];
const CREDENTIAL_RE = CREDENTIAL_FILES.map((p) => globToRegExp(p));

/**
 * Whether an artifact path names (or matches) a file that commonly holds credentials. `config.json`
 * only under `.docker/`; a directory path like `.ssh/` or `.docker/` counts.
 */
export function credentialPath(path: string): string | undefined {
  const p = path.replace(/^\.\//, '').replace(/\/+$/, '');
  const parts = p.split('/');
  const base = parts.at(-1) ?? '';
  const tail2 = parts.slice(-2).join('/');
  for (const [i, pat] of CREDENTIAL_FILES.entries()) {
    if (pat === 'config.json') {
      if (tail2 === '.docker/config.json') return '.docker/config.json';
      continue;
    }
    const re = CREDENTIAL_RE[i]!; // one per CREDENTIAL_FILES entry
    if (re.test(pat.includes('/') ? tail2 : base)) return pat;
  }
  // Globs (`**/*.pem`, `secrets/*.key`) are judged by their last segment, as a name.
  return undefined;
}

/**
 * Artifacts are downloadable by everyone who can see the pipeline (`artifacts:access: all`,
 * the default), for as long as they are kept (`doc/ci/yaml/_index.md#artifactsaccess`,
 * `#artifactsuntracked`). A job that handles credentials and uploads credential files, or
 * every untracked file of its working tree, hands them to all of them.
 */
export default defineRule({
  meta: {
    id: 'artifact-exposure',
    kind: 'pipeline',
    title: 'A job that uses secrets uploads credential files or its whole working tree as artifacts',
    defaultSeverity: 'warning',
    principle: 'Secrets stay in the trusted tier: artifacts are readable by everyone who can see the pipeline.',
    fix: 'List only the build outputs in `artifacts:paths` (write credential files outside the project directory or delete them in the script), drop `untracked: true`, and set `artifacts:access: developer` (or `none`) on jobs that handle credentials.',
    options,
    messages: {
      untracked: 'Job `{{job}}` {{uses}} and uploads every untracked file (`artifacts:untracked: true`): credential files it writes into the project directory go to {{who}}.',
      credentialFile: 'Job `{{job}}` {{uses}} and uploads `{{path}}`, a file that commonly holds credentials, as an artifact for {{who}}.',
      openAccess: 'Job `{{job}}` {{uses}} and its artifacts are open to everyone who can see the pipeline{{access}}: set `access: developer` or `none`.',
    },
  },
  create(ctx) {
    const names = credentialNames(ctx.policy);
    return {
      pipeline(p) {
        const found = new Map<string, RuleReport>();
        const add = (r: RuleReport) => {
          const k = `${r.at.file}:${r.at.line}:${r.at.column}`;
          if (!found.has(k)) found.set(k, r);
        };
        for (const job of p.jobs) {
          const a = artifactsOf(job);
          if (!a.node || (a.paths.length === 0 && !a.untracked)) continue;
          const secrets = jobUsesSecrets(ctx, job, names);
          if (!secrets) continue;
          const access = a.access?.value;
          if (access === 'none') continue;
          const who = access === 'developer' ? 'project members with the Developer role' : 'everyone who can see the pipeline';
          const uses = `uses ${secrets.what}`;
          const related = [{ location: secrets.at, message: `job \`${job.name}\` ${uses} here` }];
          if (a.untracked) {
            add({
              at: a.untracked.loc,
              job: job.name,
              keyPath: ['artifacts', 'untracked'],
              related,
              messageId: 'untracked', data: { job: job.name, uses, who },
            });
          }
          for (const item of a.paths) {
            const kind = credentialPath(item.path);
            if (!kind) continue;
            add({
              at: item.node.loc,
              job: job.name,
              keyPath: ['artifacts', 'paths', item.path],
              related,
              messageId: 'credentialFile', data: { job: job.name, uses, path: item.path, who },
            });
          }
          const explicitAll = access === 'all';
          if ((explicitAll || (!access && ctx.options.publicProject)) && a.paths.length > 0) {
            add({
              at: explicitAll ? a.access!.node.loc : a.node.loc,
              job: job.name,
              keyPath: ['artifacts', 'access'],
              related,
              messageId: 'openAccess', data: { job: job.name, uses, access: explicitAll ? ' (`artifacts:access: all`)' : ' of this public project (no `artifacts:access`)' },
            });
          }
        }
        for (const r of found.values()) ctx.report(r);
      },
    };
  },
});
