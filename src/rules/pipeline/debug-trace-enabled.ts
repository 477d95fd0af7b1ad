import { defineRule } from '../types.js';
import type { SourceLocation } from '../../model/location.js';
import type { Pipeline } from '../../model/pipeline.js';
import type { VariableDef } from '../../model/variables.js';
import { credentialInputs, rawLines, variableSites } from './_shell.js';
import { codeList, nameList } from './_trust-text.js';
import { credentialNames } from './_script-facts.js';

const sameLoc = (a: SourceLocation | undefined, b: SourceLocation) => !!a && a.file === b.file && a.line === b.line && a.column === b.column;

/** The runner reads these with Go's `strconv.ParseBool` (`common/build.go` IsDebugTraceEnabled). */
const TRUE_VALUES = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const DEBUG_VARIABLES = new Set(['CI_DEBUG_TRACE', 'CI_DEBUG_SERVICES']);

/**
 * `CI_DEBUG_TRACE` makes the job log print every command with its expanded variables, and
 * `CI_DEBUG_SERVICES` prints service container logs: secrets end up in job logs that
 * everyone with access to the pipeline can read (`doc/ci/variables/variables_troubleshooting.md`).
 */
export default defineRule({
  meta: {
    id: 'debug-trace-enabled',
    kind: 'pipeline',
    title: '`CI_DEBUG_TRACE` / `CI_DEBUG_SERVICES` enabled in the configuration',
    defaultSeverity: 'warning',
    principle: 'Secrets stay in the trusted tier: job logs are readable far more widely than CI/CD variables.',
    fix: 'Remove the variable or set it to "false"; to debug one run, set it for a single manual pipeline run and delete that job log afterwards.',
    messages: {
      leaks: '{{where}} {{variable}} is set to true and job `{{job}}` reads {{names}} in untrusted contexts {{contexts}}: the trace prints their values where that code\'s author can read them.',
      enabled: '{{where}} {{variable}} is set to true: {{effect}}, so secrets leak to everyone who can read job logs.',
    },
  },
  create(ctx) {
    const isCredentialName = credentialNames(ctx.policy).secretLike;
    /**
     * The first job the setting reaches that runs on unprotected refs and reads credential-like
     * variables: the trace prints their values into a log the MR author can read.
     */
    const leakingJob = (p: Pipeline, def: VariableDef, job: string | undefined) => {
      const reached = job ? p.jobs.filter((j) => j.name === job) : p.jobs.filter((j) => sameLoc(j.variables.get(def.name)?.valueLoc, def.valueLoc));
      const jobs = reached.length || job ? reached : p.jobs;
      for (const j of jobs) {
        const trust = ctx.trust(j);
        if (trust.untrusted.length === 0) continue;
        const names = credentialInputs(j, ctx.scriptLines(j), isCredentialName);
        if (names.length) return { job: j, names, trust };
      }
      return undefined;
    };
    return {
      pipeline(p) {
        for (const site of variableSites(p)) {
          const { def } = site;
          if (!DEBUG_VARIABLES.has(def.name) || !TRUE_VALUES.has(def.value.trim())) continue;
          const leak = def.name === 'CI_DEBUG_TRACE' ? leakingJob(p, def, site.job) : undefined;
          const loc = def.valueLoc;
          let fix;
          if (loc.line === loc.endLine) {
            const line = rawLines(p, loc.file)[loc.line - 1] ?? '';
            fix = {
              description: `set ${def.name} to "false"`,
              location: { file: loc.file, line: loc.line, column: 1, endLine: loc.line, endColumn: line.length + 1 },
              replacement: line.slice(0, loc.column - 1) + '"false"' + line.slice(loc.endColumn - 1),
            };
          }
          ctx.report({
            at: loc,
            job: site.job,
            keyPath: site.keyPath,
            fix,
            severity: leak ? 'error' : undefined,
            details: leak ? { job: leak.job.name, variables: leak.names } : undefined,
            ...(leak ? { messageId: 'leaks', data: { where: site.where, variable: def.name, job: leak.job.name, names: nameList(leak.names.map((n) => '$' + n)), contexts: codeList(leak.trust.untrusted) } } : { messageId: 'enabled', data: { where: site.where, variable: def.name, effect: def.name === 'CI_DEBUG_TRACE' ? 'the job log shows every command with its expanded variables' : 'service containers log into the job log' } }),
          });
        }
      },
    };
  },
});
