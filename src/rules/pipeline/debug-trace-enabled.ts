import { defineRule } from '../types.js';
import { rawLines, variableSites } from './_shell.js';

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
  },
  create(ctx) {
    return {
      pipeline(p) {
        for (const site of variableSites(p)) {
          const { def } = site;
          if (!DEBUG_VARIABLES.has(def.name) || !TRUE_VALUES.has(def.value.trim())) continue;
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
            message: `${site.where} ${def.name} is set to true: ${def.name === 'CI_DEBUG_TRACE' ? 'the job log shows every command with its expanded variables' : 'service containers log into the job log'}, so secrets leak to everyone who can read job logs`,
          });
        }
      },
    };
  },
});
