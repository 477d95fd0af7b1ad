import type { SourceLocation } from '../../model/location.js';
import { entry, get, str } from '../../model/node.js';
import type { Job } from '../../model/pipeline.js';
import { defineRule, type ScriptLine } from '../types.js';
import { credentialNames } from './_script-facts.js';
import { credentialInputs, locateInScalar, onceAt, scriptAssignedNames, segments, unquote, varRefs } from './_shell.js';
import { codeList, decidingLocation, nameList, untrustedPhrase } from './_trust-text.js';

/**
 * `$NAME`, `${NAME}`, PowerShell `$env:NAME` and cmd `%NAME%` references (the shell helpers'
 * scanner, memoised by text). `$$` is GitLab's escape for a literal `$` in `variables:`
 * (`doc/ci/variables/_index.md#use-the--character-in-cicd-variables`).
 */
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
    messages: {
      reviewProductionContext: 'Review job `{{job}}` (environment `{{name}}`) runs in {{list}} pipelines with the production Kubernetes context `{{value}}` (of `{{prodJob}}`): MR code gets cluster access.',
      reviewProductionCredentials: 'Review job `{{job}}` (environment `{{name}}`) runs in {{list}} pipelines with production credentials {{nameList}}: merge request code would receive them.',
      requested: 'Job `{{job}}` requests {{what}} and {{where}}: code from an unprotected ref or merge request would receive them.',
      credentialVariable: 'Job `{{job}}` uses the credential-like variable `${{name}}` ({{where2}}) and {{where}}: make it Protected (and Masked) so those pipelines never get it.',
    },
  },
  create(ctx) {
    // A place is reported once per name (a `default:` or inherited line is met by every job).
    const firstAt = onceAt();
    const isCredentialName = credentialNames(ctx.policy).named;

    // Kubernetes contexts of the production deploy jobs (`KUBE_CONTEXT`, `--kube-context`).
    let prodContexts: Map<string, string> | undefined;
    const productionContexts = () => {
      if (!prodContexts) {
        prodContexts = new Map();
        for (const j of ctx.pipeline.jobs) {
          if (ctx.deploy(j)?.tier !== 'production') continue;
          for (const c of kubeContexts(j, ctx.scriptLines(j), ctx.locateInScript)) if (!prodContexts.has(c.value)) prodContexts.set(c.value, j.name);
        }
      }
      return prodContexts;
    };
    /**
     * A review app (an environment of no production/staging tier) that runs for merge requests
     * with the production cluster context or production-named credentials: the MR's code
     * deploys with production access.
     */
    const reviewReusesProduction = (job: Job) => {
      const env = get(job.node, 'environment');
      if (!env || ctx.deploy(job)) return;
      const name = str(env.kind === 'map' ? get(env, 'name') : env);
      const action = env.kind === 'map' ? (str(get(env, 'action')) ?? 'start') : 'start';
      if (!name || action !== 'start') return;
      // What the review app would reuse first, then whether it runs for merge requests: the
      // job's trust is asked only for one that reuses something (most review apps name no
      // Kubernetes context and no production variable).
      const lines = ctx.scriptLines(job);
      const contexts = kubeContexts(job, lines, ctx.locateInScript);
      const prod = contexts.length > 0 ? productionContexts() : undefined;
      const reused = prod ? contexts.find((c) => prod.has(c.value)) : undefined;
      const prodCreds = reused ? [] : credentialInputs(job, lines, (n) => PRODUCTION_NAME.test(n) && isCredentialName(n));
      const [first] = prodCreds;
      if (!reused && first === undefined) return;
      const mr = ctx.trust(job).untrusted.filter((c) => c === 'mr' || c === 'mr-fork');
      if (mr.length === 0) return;
      if (reused) {
        ctx.report({
          at: reused.at,
          job: job.name,
          keyPath: ['kube-context'],
          discriminator: reused.value,
          messageId: 'reviewProductionContext', data: { job: job.name, name, list: codeList(mr), value: reused.value, prodJob: prod!.get(reused.value)! },
        });
        return;
      }
      if (first === undefined) return;
      const line = ctx.scriptLines(job).find((l) => varRefs.of(l).some((r) => r.name === first));
      const ref = line ? varRefs.of(line).find((r) => r.name === first)! : undefined;
      ctx.report({
        at: line && ref ? ctx.locateInScript(line, ref.index, ref.length) : ((get(job.node, 'variables') ?? env).loc),
        job: job.name,
        keyPath: ['variables', first],
        discriminator: 'prod:' + first,
        details: prodCreds.length > 5 ? { variables: prodCreds } : undefined,
        messageId: 'reviewProductionCredentials', data: { job: job.name, name, list: codeList(mr), nameList: nameList(prodCreds.map((n) => '$' + n)) },
      });
    };

    return {
      job(job) {
        // The job's trust (the engine keeps it), asked once the job has something to report (most
        // jobs have nothing): every report below is for a job that can run in an untrusted context.
        const untrusted = () => ctx.trust(job).untrusted.length > 0;
        // Phrased only when there is something to report.
        let phrase: { where: string; related?: { location: SourceLocation; message: string }[] } | undefined;
        const describe = () => {
          if (!phrase) {
            const t = ctx.trust(job);
            const decider = decidingLocation(t);
            phrase = { where: untrustedPhrase(t, t.untrusted, decider), related: decider ? [{ location: decider, message: 'the rule that lets it run in an untrusted context' }] : undefined };
          }
          return phrase;
        };

        for (const k of ['id_tokens', 'secrets'] as const) {
          const e = entry(job.node, k);
          if (!e || (e.value.kind === 'scalar' && e.value.value === null) || !untrusted()) continue;
          const what = k === 'id_tokens' ? 'OIDC ID tokens (`id_tokens:`)' : 'external secrets (`secrets:`)';
          ctx.report({
            at: e.keyLoc,
            job: job.name,
            keyPath: [k],
            related: describe().related,
            messageId: 'requested', data: { job: job.name, what, where: describe().where },
          });
        }

        reviewReusesProduction(job);

        // Credential-like variables referenced in scripts and variable values.
        const seen = new Set<string>();
        const warn = (name: string, at: SourceLocation, where2: string) => {
          if (seen.has(name) || !untrusted() || !firstAt(at, name)) return;
          seen.add(name);
          ctx.report({
            at,
            job: job.name,
            keyPath: ['variables', name],
            discriminator: name,
            severity: 'warning',
            related: describe().related,
            messageId: 'credentialVariable', data: { job: job.name, name, where2, where: describe().where },
          });
        };
        // Values defined in the YAML or computed by the script itself are not inputs.
        let assigned: ReadonlySet<string> | undefined;
        const definedInYaml = (name: string) => job.variables.has(name) || (assigned ??= scriptAssignedNames(ctx.scriptLines(job))).has(name);
        for (const line of ctx.scriptLines(job)) {
          for (const r of varRefs.of(line)) {
            if (!isCredentialName(r.name) || !untrusted() || definedInYaml(r.name)) continue;
            warn(r.name, ctx.locateInScript(line, r.index, r.length), `in \`${line.key}\``);
          }
        }
        for (const def of job.variables.values()) {
          if (!def.expand) continue;
          for (const r of variableRefs(def.value)) {
            if (r.name === def.name || !isCredentialName(r.name) || !untrusted() || definedInYaml(r.name)) continue;
            warn(r.name, locateInScalar(ctx.pipeline, def.valueLoc, def.value, r.index, r.length), `in variable \`${def.name}\``);
          }
        }
      },
    };
  },
});

/** Kubernetes contexts a job selects: `KUBE_CONTEXT`, `--kube-context`/`--context`, `kubectl config use-context`. */
function kubeContexts(job: Job, lines: readonly ScriptLine[], locate: (line: ScriptLine, index: number, length: number) => SourceLocation): { value: string; at: SourceLocation }[] {
  const out: { value: string; at: SourceLocation }[] = [];
  const v = job.variables.get('KUBE_CONTEXT');
  if (v && v.value && !v.value.startsWith('$')) out.push({ value: v.value, at: v.valueLoc });
  for (const line of lines) {
    // Every form below has `context` in the word, hence in the line (most lines have none).
    if (!line.text.includes('context')) continue;
    for (const seg of segments.of(line)) {
      const w = seg.words;
      for (const [i, word] of w.entries()) {
        const x = unquote(word.raw);
        const next = w[i + 1];
        let value: string | undefined;
        let at = word;
        if ((x === '--kube-context' || x === '--context' || x === 'use-context') && next) {
          value = unquote(next.raw);
          at = next;
        } else if (/^--(kube-)?context=/.test(x)) value = x.slice(x.indexOf('=') + 1);
        if (value && !value.startsWith('$')) out.push({ value, at: locate(line, at.start, at.end - at.start) });
      }
    }
  }
  return out;
}

/** A production-named variable (`PROD_KUBECONFIG`, `AWS_PRODUCTION_KEY`). */
const PRODUCTION_NAME = /(^|_)PROD(UCTION)?(_|$)/i;
