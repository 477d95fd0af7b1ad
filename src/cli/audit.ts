/**
 * `tierguard audit --gitlab-url URL --group PATH` (token from GITLAB_TOKEN): the org-wide runner
 * inventory and isolation rollout plan. Gathers through src/audit/run.ts and only renders.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { upsertAuditIssue } from '../audit/issue.js';
import { createProgress } from '../audit/progress.js';
import { renderAuditHtml } from '../audit/render-html.js';
import { renderAuditMarkdown } from '../audit/render-markdown.js';
import { renderProjectSarifs, sarifFileName } from '../audit/render-sarif.js';
import { runAudit } from '../audit/run.js';
import { AUDIT_SCHEMA, type AuditReport } from '../audit/types.js';
import { createGitLabOrgApi } from '../gitlab/org.js';
import { builtinPolicy } from '../policy/defaults.js';
import { loadPolicy } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import { allRuleMetas } from '../catalogue/catalogue.js';
import { EXIT, formatOption, UsageError, type CliIO } from './io.js';
import { toolVersion } from '../util/package-info.js';

const AUDIT_HELP = `Usage: tierguard audit --gitlab-url URL --group PATH [options]   (token: GITLAB_TOKEN)

  --format markdown|json|html   what to print on stdout (default markdown)
  --json FILE / --markdown FILE / --html FILE   also write these files
  --sarif-dir DIR               one SARIF file per project
  --issue PROJECT               create or update one issue with the Markdown report
  --include PATTERN / --exclude PATTERN   project paths (repeatable; * and ?)
  --runner-config FILE          runner config.toml / gitlab-runner Helm values (repeatable)
  --baseline FILE               a previous --json report: show the progress
  --state FILE                  resumable state (JSON Lines); an interrupted run resumes
  --policy DIR                  policy directory (team overrides per group)
  --concurrency N               projects audited at once (default 4)
  --rate N                      GitLab requests per minute for the run (default 1200)
  --fan-out                     judge the projects on the service replicas' audit workers
                                (BullMQ on REDIS_URL; the replicas need AUDIT_SCHEDULE set)
Exit codes: 0 no error-level problem, 1 error-level problems, 2 usage error.
`;

const FORMATS = ['markdown', 'json', 'html'] as const;

function positiveInt(name: string, v: string | undefined, def: number, min = 1): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer ≥ ${min} (got "${v}")`);
  return n;
}

export async function auditCommand(args: string[], io: CliIO & { stderr: { isTTY?: boolean; columns?: number } }): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'gitlab-url': { type: 'string' },
      group: { type: 'string' },
      format: { type: 'string' },
      json: { type: 'string' },
      markdown: { type: 'string' },
      html: { type: 'string' },
      'sarif-dir': { type: 'string' },
      issue: { type: 'string' },
      include: { type: 'string', multiple: true },
      exclude: { type: 'string', multiple: true },
      'runner-config': { type: 'string', multiple: true },
      baseline: { type: 'string' },
      state: { type: 'string' },
      policy: { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      'fan-out': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(AUDIT_HELP);
    return EXIT.ok;
  }
  const url = values['gitlab-url'];
  const group = values.group?.replace(/^\/+|\/+$/g, '');
  if (!url || !group) throw new UsageError('audit needs --gitlab-url URL and --group PATH');
  if (!/^https?:\/\//.test(url)) throw new UsageError('--gitlab-url must be an http(s) URL');
  const token = io.env.GITLAB_TOKEN;
  if (!token) throw new UsageError('audit reads the token from GITLAB_TOKEN, which is not set');
  const format = formatOption(values.format, FORMATS, 'markdown');
  const concurrency = positiveInt('--concurrency', values.concurrency, 4);
  if (values['fan-out'] && !io.env.REDIS_URL) throw new UsageError('--fan-out needs REDIS_URL (the Redis the tierguard replicas share)');
  const rate = positiveInt('--rate', values.rate, 1200, 0);

  const dir = path.resolve(io.cwd, values.policy ?? 'policies');
  const hasDir = values.policy !== undefined || existsSync(dir);
  const rules = allRuleMetas();
  const cache = new Map<string, Policy>();
  const policyFor = (ns: string): Policy => {
    let p = cache.get(ns);
    if (!p) cache.set(ns, (p = hasDir ? loadPolicy({ dir, group: ns || undefined, rules }) : builtinPolicy()));
    return p;
  };
  const policy = policyFor(group);

  const runnerConfigs = [];
  for (const f of values['runner-config'] ?? []) {
    try {
      runnerConfigs.push({ file: f, text: await readFile(path.resolve(io.cwd, f), 'utf8') });
    } catch {
      throw new UsageError(`--runner-config ${f}: no such file`);
    }
  }
  let baseline: AuditReport | null = null;
  if (values.baseline) {
    try {
      baseline = JSON.parse(await readFile(path.resolve(io.cwd, values.baseline), 'utf8')) as AuditReport | null;
    } catch {
      throw new UsageError(`--baseline ${values.baseline}: not a readable JSON report`);
    }
    // Any JSON parses: only the schema field says the file is a report.
    if ((baseline as { schema?: unknown } | null)?.schema !== AUDIT_SCHEMA) throw new UsageError(`--baseline ${values.baseline}: not a ${AUDIT_SCHEMA} report`);
  }

  const report = await runAudit({
    gitlabUrl: url,
    token,
    group,
    policy,
    policyFor,
    include: values.include,
    exclude: values.exclude,
    runnerConfigs,
    concurrency,
    ratePerMinute: rate,
    statePath: values.state ? path.resolve(io.cwd, values.state) : undefined,
    baseline,
    fanout: values['fan-out'] ? { redisUrl: io.env.REDIS_URL! } : undefined,
    progress: createProgress({ stream: io.stderr }),
    logger: { warn: (obj, msg) => io.stderr.write(`audit: ${msg ?? ''} ${JSON.stringify(obj)}\n`) },
    toolVersion: toolVersion(),
  });

  const json = JSON.stringify(report, null, 2) + '\n';
  const markdown = renderAuditMarkdown(report);
  const html = () => renderAuditHtml(report);
  if (values.json) await writeFile(path.resolve(io.cwd, values.json), json);
  if (values.markdown) await writeFile(path.resolve(io.cwd, values.markdown), markdown);
  if (values.html) await writeFile(path.resolve(io.cwd, values.html), html());
  if (values['sarif-dir']) {
    const out = path.resolve(io.cwd, values['sarif-dir']);
    await mkdir(out, { recursive: true });
    for (const [project, text] of renderProjectSarifs(report, rules)) await writeFile(path.join(out, sarifFileName(project)), text);
  }
  if (values.issue) {
    const org = createGitLabOrgApi({ url, token });
    const r = await upsertAuditIssue(org, values.issue, report, markdown);
    io.stderr.write(`audit: issue ${values.issue}#${r.iid} ${r.action}${r.webUrl ? ` (${r.webUrl})` : ''}\n`);
  }
  io.stdout.write(format === 'json' ? json : format === 'html' ? html() : markdown);
  return report.summary.problems.errors > 0 ? EXIT.blocking : EXIT.ok;
}
