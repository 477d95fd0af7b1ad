import { matchesNamePatterns } from '../../util/glob.js';
import { defineRule } from '../types.js';
import { findKnownTokens, findPrivateKeys, findUrlPasswords, looksLikeSecretValue, type SecretHit } from './_secrets.js';
import { locateInScalar, scriptSites, variableSites } from './_shell.js';

/** `export NAME=value`, `NAME="value"`, `NAME='value'` in a script. */
const ASSIGNMENT = /(^|[\s;&|(])(?:export\s+|declare\s+(?:-x\s+)?|local\s+)?([A-Za-z_]\w*)=(?:"([^"$`\\\n]*)"|'([^'\n]*)'|([^\s;&|'"`$()]+))/g;
/** Credential-carrying options and headers: `--password X`, `--token=X`, `PRIVATE-TOKEN: X`, `Authorization: Bearer X`. */
const OPTION = /(?:--(?:password|passwd|token|api-key|apikey|secret|client-secret|access-token)(?:=|\s+)|\b(?:PRIVATE-TOKEN|JOB-TOKEN|X-API-Key|Authorization):\s*(?:Bearer\s+|token\s+|Basic\s+)?)(["']?)([^\s"'$;|&()]+)/gi;
/** `docker login … -p X`. */
const DOCKER_LOGIN_P = /\bdocker\s+login\b[^\n;|&]*?\s-p\s*(["']?)([^\s"'$;|&()]+)/g;

function overlaps(hits: readonly SecretHit[], index: number, length: number): boolean {
  return hits.some((h) => index < h.index + h.length && h.index < index + length);
}

/** Known formats, key blocks and URL passwords anywhere in `text`. */
function formatHits(text: string): SecretHit[] {
  const hits: SecretHit[] = [...findPrivateKeys(text)];
  for (const h of [...findKnownTokens(text), ...findUrlPasswords(text)]) if (!overlaps(hits, h.index, h.length)) hits.push(h);
  return hits;
}

/**
 * A literal credential written in the CI configuration is readable by everyone who can read
 * the repository, its forks and every MR's diff, and it stays in git history. The value is
 * never echoed: findings point at its exact range and register it as a secret so every output
 * masks it.
 */
export default defineRule({
  meta: {
    id: 'hardcoded-credential',
    kind: 'pipeline',
    title: 'A literal credential is written in the CI configuration',
    defaultSeverity: 'error',
    principle:
      'Credentials belong to the trusted tier: stored as masked, protected CI/CD variables or in a secrets manager, never in a file every branch, fork and MR author can read.',
    fix: 'Revoke and rotate the credential now (it stays in git history), store the new one as a masked and protected CI/CD variable (or fetch it with `secrets:`), and reference it by name.',
  },
  create(ctx) {
    const secretName = (name: string) => matchesNamePatterns(name, ctx.policy.secretVariables);
    return {
      pipeline(p) {
        for (const site of variableSites(p)) {
          const { def } = site;
          if (!def.value) continue;
          let hits = formatHits(def.value);
          if (hits.length === 0 && secretName(def.name) && looksLikeSecretValue(def.value)) {
            const start = def.value.length - def.value.trimStart().length;
            hits = [{ index: start, length: def.value.trim().length, label: 'high-entropy value under a secret-looking name' }];
          }
          hits.forEach((h, i) => {
            const at = locateInScalar(p, def.valueLoc, def.value, h.index, h.length);
            ctx.report({
              at,
              secret: at,
              job: site.job,
              keyPath: site.keyPath,
              discriminator: String(i),
              message: `${site.where} ${def.name} holds a literal ${h.label}; everyone who can read the repository has it (value masked)`,
            });
          });
        }
        for (const site of scriptSites(p)) {
          const text = site.line.text;
          const hits = formatHits(text);
          const named = (index: number, length: number, label: string) => {
            if (!overlaps(hits, index, length)) hits.push({ index, length, label });
          };
          ASSIGNMENT.lastIndex = 0;
          for (let m = ASSIGNMENT.exec(text); m; m = ASSIGNMENT.exec(text)) {
            const value = m[3] ?? m[4] ?? m[5] ?? '';
            if (!secretName(m[2]) || !looksLikeSecretValue(value)) continue;
            const index = m.index + m[0].length - value.length - (m[5] === undefined ? 1 : 0);
            named(index, value.length, `high-entropy value assigned to ${m[2]}`);
          }
          for (const re of [OPTION, DOCKER_LOGIN_P]) {
            re.lastIndex = 0;
            for (let m = re.exec(text); m; m = re.exec(text)) {
              const value = m[2];
              if (!looksLikeSecretValue(value)) continue;
              named(m.index + m[0].length - value.length, value.length, 'high-entropy credential passed on the command line');
            }
          }
          hits.sort((a, b) => a.index - b.index);
          hits.forEach((h, i) => {
            // Raw positions (ctx.locateInScript reads masked lines: a second secret on the same
            // line would shift), same result otherwise.
            const at = locateInScalar(p, site.line.loc, text, h.index, h.length);
            ctx.report({
              at,
              secret: at,
              job: site.job,
              keyPath: site.keyPath,
              discriminator: String(i),
              message: `\`${site.line.key}\`${site.job ? ` of job \`${site.job}\`` : ''} contains a literal ${h.label}; it is visible in the repository and in job logs (value masked)`,
            });
          });
        }
      },
    };
  },
});
