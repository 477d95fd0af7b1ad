import type { SourceLocation } from '../../model/location.js';
import { entry } from '../../model/node.js';
import { matchesNamePatterns } from '../../util/glob.js';
import { defineRule, type RuleContext } from '../types.js';
import { scriptAssignedNames, varRefs, type VarRef } from './_shell.js';
import { decidingLocation, untrustedPhrase } from './_trust-text.js';

/**
 * `$NAME`, `${NAME}`, PowerShell `$env:NAME` and cmd `%NAME%` references (the shell helpers'
 * scanner, memoised by text). `$$` is GitLab's escape for a literal `$` in `variables:`
 * (`doc/ci/variables/_index.md#use-the--character-in-cicd-variables`).
 */
export type VariableRef = VarRef;
export const variableRefs = varRefs;

/**
 * Masked/protected CI/CD variables are only exposed to pipelines on protected refs
 * (`doc/ci/variables/_index.md#protect-a-cicd-variable`); `id_tokens` and `secrets` are issued
 * to any job that declares them, whatever the ref (`doc/ci/secrets/id_token_authentication.md`,
 * `doc/ci/secrets/_index.md`).
 */
export default defineRule({
  meta: {
    id: 'secrets-in-untrusted-context',
    kind: 'pipeline',
    title: 'Job reachable from untrusted contexts requests secrets or uses credential-like variables',
    defaultSeverity: 'error',
    principle: 'Credentials belong to trusted code only: a job that runs for merge requests or unprotected refs runs code anyone with push or fork access wrote.',
    fix: 'Move the secret-using work into a job restricted to protected refs; mark the CI/CD variables Protected (and Masked) so unprotected pipelines never receive them.',
  },
  create(ctx) {
    const reported = new Set<string>();
    const key = (loc: SourceLocation) => `${loc.file}:${loc.line}:${loc.column}`;
    const credentialNames = new Map<string, boolean>();
    const isCredentialName = (name: string): boolean => {
      let v = credentialNames.get(name);
      if (v === undefined) {
        v = !name.startsWith('CI_') && matchesNamePatterns(name, ctx.policy.secretVariables);
        credentialNames.set(name, v);
      }
      return v;
    };

    return {
      job(job) {
        const trust = ctx.trust(job);
        if (trust.untrusted.length === 0) return;
        // Phrased only when there is something to report.
        let phrase: { where: string; related?: { location: SourceLocation; message: string }[] } | undefined;
        const describe = () => {
          if (!phrase) {
            const decider = decidingLocation(trust);
            phrase = { where: untrustedPhrase(trust), related: decider ? [{ location: decider, message: 'the rule that lets it run in an untrusted context' }] : undefined };
          }
          return phrase;
        };

        for (const k of ['id_tokens', 'secrets'] as const) {
          const e = entry(job.node, k);
          if (!e || (e.value.kind === 'scalar' && e.value.value === null)) continue;
          const what = k === 'id_tokens' ? 'OIDC ID tokens (`id_tokens:`)' : 'external secrets (`secrets:`)';
          ctx.report({
            at: e.keyLoc,
            job: job.name,
            keyPath: [k],
            related: describe().related,
            message: `Job \`${job.name}\` requests ${what} and ${describe().where}: code from an unprotected ref or merge request would receive them.`,
          });
        }

        // Credential-like variables referenced in scripts and variable values.
        const seen = new Set<string>();
        const warn = (name: string, at: SourceLocation, where2: string) => {
          if (seen.has(name) || reported.has(key(at) + name)) return;
          seen.add(name);
          reported.add(key(at) + name);
          ctx.report({
            at,
            job: job.name,
            keyPath: ['variables', name],
            discriminator: name,
            severity: 'warning',
            related: describe().related,
            message: `Job \`${job.name}\` uses the credential-like variable \`$${name}\` (${where2}) and ${describe().where}: make sure it is Protected (and Masked) so those pipelines never receive it.`,
          });
        };
        // Values defined in the YAML or computed by the script itself are not inputs.
        const assigned = scriptAssignedNames(ctx.scriptLines(job));
        const definedInYaml = (name: string) => job.variables.has(name) || assigned.has(name);
        for (const line of ctx.scriptLines(job)) {
          for (const r of variableRefs(line.text)) {
            if (!isCredentialName(r.name) || definedInYaml(r.name)) continue;
            warn(r.name, ctx.locateInScript(line, r.index, r.length), `in \`${line.key}\``);
          }
        }
        for (const def of job.variables.values()) {
          if (!def.expand) continue;
          for (const r of variableRefs(def.value)) {
            if (r.name === def.name || !isCredentialName(r.name) || definedInYaml(r.name)) continue;
            warn(r.name, locateInValue(ctx, def.valueLoc, def.value, r), `in variable \`${def.name}\``);
          }
        }
      },
    };
  },
});

/** The position of a reference inside a single-line variable value, else the value. */
function locateInValue(ctx: RuleContext<any>, loc: SourceLocation, value: string, r: VariableRef): SourceLocation {
  const text = ctx.sources.line(loc.file, loc.line);
  const needle = value.slice(r.index, r.index + r.length);
  if (text === undefined || !needle) return loc;
  const col = text.indexOf(needle, loc.column - 1);
  if (col < 0) return loc;
  return { file: loc.file, line: loc.line, column: col + 1, endLine: loc.line, endColumn: col + 1 + needle.length };
}
