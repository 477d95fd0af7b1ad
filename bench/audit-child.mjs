// One audit run in its own process (so its peak memory is its own): node bench/audit-child.mjs URL GROUP WORKERS
// (token from GITLAB_TOKEN). Prints one JSON line with the run's figures.
import { runAudit } from '../dist/audit/run.js';
import { builtinPolicy } from '../dist/policy/defaults.js';

const [url, group, workers] = process.argv.slice(2);
const started = performance.now();
const report = await runAudit({
  gitlabUrl: url,
  token: process.env.GITLAB_TOKEN,
  group,
  policy: builtinPolicy(),
  concurrency: Number(workers),
  ratePerMinute: 0,
  toolVersion: 'bench',
});
const ms = performance.now() - started;
process.stdout.write(
  JSON.stringify({
    workers: Number(workers),
    projects: report.summary.projects.total,
    jobs: report.summary.jobs,
    problems: report.problems.length,
    ms,
    gitlabCalls: report.stats.gitlabCalls,
    callsPerProject: report.stats.callsPerProject,
    maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }) + '\n',
);
