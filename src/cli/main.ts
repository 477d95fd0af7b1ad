// Synchronous reads: a command reads its few files in turn, and node:fs/promises (with the
// readline and watcher modules it loads) is not loaded at every start.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
// Each command loads what it needs when it runs (dynamic imports below): `tierguard rules` and
// `explain` start without the model, the rules, zod or yaml; types cost nothing at run time.
import type { RenderFormat } from '../findings/render/index.js';
import type { Policy } from '../policy/types.js';
import { EXIT, formatOption, UsageError, type CliIO } from './io.js';
import { PACKAGE_ROOT, toolVersion } from '../util/package-info.js';
import { ruleSummaries } from './rule-summaries.js';

const HELP = `tierguard — trust-tier guard for GitLab CI

Usage:
  tierguard lint [PATH…]           judge a checkout's CI configuration (and runner configs in it)
  tierguard jobs [PATH]            the resolved jobs and where each value came from
  tierguard check-runner FILE…     judge GitLab Runner config.toml / gitlab-runner Helm values
  tierguard serve                  run the webhook service (configured from the environment)
  tierguard audit --gitlab-url URL --group PATH
                                   org-wide runner inventory and isolation rollout plan
                                   (\`tierguard audit --help\` for its options)
  tierguard rules                  list the rule catalogue
  tierguard explain RULE           print one rule's documentation

Options (lint, jobs, check-runner):
  --format text|json|sarif|codequality   output format (default text; jobs: text|json)
  --policy DIR            policy directory (default ./policies if present, else the built-in baseline)
  --group PATH            GitLab group path whose team overrides apply (policies/teams/<path>.yaml)
  --default-branch NAME   lint, jobs: default branch offline (default main)
  --contexts              lint, jobs: print the job x trust-context table
  --templates DIR         lint, jobs: resolve include:template from a directory of GitLab templates
  --ci-file NAME          lint, jobs: root CI file inside a checkout (default .gitlab-ci.yml)
  -v, --verbose           jobs: where each value came from
  --strict                lint: configuration that could not be read (includes not fetched
                          offline) is a blocking ci-config-unverified finding, as in the service
  --gitlab-url URL --project PATH
                          lint: also run the live checks against the project's real runners,
                          protected environments, variables and settings (token: GITLAB_TOKEN)

Exit codes: 0 nothing blocks, 1 a blocking finding, 2 usage or policy error.
`;

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'lint':
        return await lintCommand(rest, io);
      case 'jobs': {
        const { jobsCommand } = await import('./jobs.js');
        return await jobsCommand(rest, io);
      }
      case 'check-runner':
        return await checkRunnerCommand(rest, io);
      case 'rules':
        return await rulesCommand(rest, io);
      case 'explain':
        return await explainCommand(rest, io);
      case 'audit': {
        const { auditCommand } = await import('./audit.js');
        return await auditCommand(rest, io);
      }
      case 'serve': {
        const { serveCommand } = await import('./serve.js');
        return await serveCommand(rest, io);
      }
      case '--version':
      case 'version':
        io.stdout.write(toolVersion() + '\n');
        return EXIT.ok;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout.write(HELP);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`tierguard: ${err.message}\n(run \`tierguard --help\` for usage)\n`);
      return EXIT.usage;
    }
    if (err instanceof Error && 'code' in err && typeof (err as { code?: unknown }).code === 'string' && (err as { code: string }).code.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`tierguard: ${err.message}\n(run \`tierguard --help\` for usage)\n`);
      return EXIT.usage;
    }
    // Only the commands that load these modules throw their errors: the name is asked first, so
    // no other command loads them (bin/tierguard.js runs `rules`, `explain`, `help` and `version`
    // from a build of this file that leaves every dynamic import out).
    if (err instanceof Error && (err.name === 'PolicyError' || err.name === 'RunnerConfigError')) {
      const [{ PolicyError }, { RunnerConfigError }] = await Promise.all([import('../policy/errors.js'), import('../runner/check.js')]);
      if (err instanceof PolicyError) {
        io.stderr.write(`tierguard: invalid policy: ${err.message}\n`);
        return EXIT.usage;
      }
      if (err instanceof RunnerConfigError) {
        io.stderr.write(`tierguard: ${err.message}\n`);
        return EXIT.usage;
      }
    }
    throw err;
  }
}

const COMMON_OPTIONS = {
  format: { type: 'string' },
  policy: { type: 'string' },
  group: { type: 'string' },
  'default-branch': { type: 'string' },
  color: { type: 'boolean' },
} as const;

async function parseFormat(v: string | undefined): Promise<RenderFormat> {
  const { RENDER_FORMATS } = await import('../findings/render/index.js');
  return formatOption(v, RENDER_FORMATS, 'text');
}

/**
 * `--policy DIR` (an explicit missing dir is an error), else `./policies` when present, else the
 * built-in baseline. `loadsRules`: the command loads every rule module anyway (`lint`).
 */
export async function policyFromArgs(values: { policy?: string; group?: string }, cwd: string, opts: { loadsRules?: boolean } = {}): Promise<Policy> {
  const dir = path.resolve(cwd, values.policy ?? 'policies');
  if (values.policy === undefined && !existsSync(dir)) {
    if (values.group !== undefined) throw new UsageError(`--group needs a policy directory (no ${dir}; use --policy DIR)`);
    const { builtinPolicy } = await import('../policy/defaults.js');
    return builtinPolicy();
  }
  const [{ loadPolicy }, { PolicyError }, { namesRules }] = await Promise.all([import('../policy/load.js'), import('../policy/errors.js'), import('../policy/merge.js')]);
  // The rule catalogue (every rule module: about 30-40 ms of a cold `jobs` or `check-runner`)
  // checks only what a policy says about rules. A command that does not load the rules reads
  // the policy without it first: a policy that names no rule (`rules: {}`, `exceptions: []`)
  // is then read. Any other policy, and any error (it may be one only the catalogue settles,
  // such as an options-only entry), is read again with the catalogue, whose answer counts.
  if (!opts.loadsRules) {
    try {
      const policy = loadPolicy({ dir, group: values.group });
      if (!namesRules(policy)) return policy;
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
    }
  }
  const { allRuleMetas } = await import('../catalogue/catalogue.js');
  return loadPolicy({ dir, group: values.group, rules: allRuleMetas() });
}

async function lintCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON_OPTIONS,
      contexts: { type: 'boolean' },
      templates: { type: 'string' },
      'ci-file': { type: 'string' },
      'gitlab-url': { type: 'string' },
      project: { type: 'string' },
      strict: { type: 'boolean' },
    },
  });
  const format = await parseFormat(values.format);
  // lint.ts imports the catalogue itself: the policy is read once, with it.
  const policy = await policyFromArgs(values, io.cwd, { loadsRules: true });
  const live = values['gitlab-url'] !== undefined || values.project !== undefined;
  if (live) {
    if (!values['gitlab-url'] || !values.project) throw new UsageError('live checks need both --gitlab-url URL and --project PATH');
    if (!/^https?:\/\//.test(values['gitlab-url'])) throw new UsageError('--gitlab-url must be an http(s) URL');
    if (!io.env.GITLAB_TOKEN) throw new UsageError('live checks read the token from GITLAB_TOKEN, which is not set');
    if (positionals.length > 1) throw new UsageError('live checks judge one checkout: give at most one PATH');
  }
  const [{ lintTargets, renderLint }, { summarize }] = await Promise.all([import('./lint.js'), import('../findings/finding.js')]);
  // Live checks go through judge() as the service's do: connect and resolve the project first
  // (never "0 errors" for checks that could not run: a rejected token or an invisible project is exit 2).
  let liveAccess: Awaited<ReturnType<typeof import('./live.js').connectLive>> | undefined;
  if (live) {
    const { connectLive, LiveLintError } = await import('./live.js');
    try {
      liveAccess = await connectLive({ gitlabUrl: values['gitlab-url']!, token: io.env.GITLAB_TOKEN!, project: values.project! });
    } catch (err) {
      if (!(err instanceof LiveLintError)) throw err;
      io.stderr.write(`tierguard: ${err.message}\n`);
      return EXIT.usage;
    }
  }
  // Live data decides whether YAML variables may be overridden (pipeline variables, CI/CD variables).
  // Read through the run's live cache: the live checks reuse these reads.
  const variables = liveAccess ? await (await import('../live/assumptions.js')).readLiveVariables(liveAccess.api, liveAccess.projectId, { cache: liveAccess.cache }) : undefined;
  const run = await lintTargets(positionals.length ? positionals : ['.'], io.cwd, {
    policy,
    variables,
    defaultBranch: values['default-branch'] ?? 'main',
    templatesDir: values.templates ? path.resolve(io.cwd, values.templates) : undefined,
    ciFile: values['ci-file'],
    strict: values.strict ?? false,
    ...(liveAccess ? { live: liveAccess } : {}),
  });
  if (run.liveError) {
    io.stderr.write(`tierguard: live checks could not run: ${run.liveError}\n`);
    return EXIT.usage;
  }
  io.stdout.write(renderLint(run, format, { contexts: values.contexts, color: values.color }));
  return summarize(run.findings).blocking > 0 ? EXIT.blocking : EXIT.ok;
}

async function checkRunnerCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: COMMON_OPTIONS });
  if (positionals.length === 0) throw new UsageError('check-runner needs at least one FILE');
  const format = await parseFormat(values.format);
  const policy = await policyFromArgs(values, io.cwd);
  const [{ checkRunnerConfig }, { SourceFiles }, { suppress }, { renderFindings, listsRules }, { summarize }] = await Promise.all([
    import('../runner/check.js'),
    import('../findings/sources.js'),
    import('../policy/reporter.js'),
    import('../findings/render/index.js'),
    import('../findings/finding.js'),
  ]);
  // The catalogue (every rule module) is loaded only for a format that lists it.
  const rules = listsRules(format) ? (await import('../catalogue/catalogue.js')).allRuleMetas() : [];
  const today = new Date();
  const sources = new SourceFiles();
  const findings = [];
  for (const file of positionals) {
    let text: string;
    try {
      text = readFileSync(path.resolve(io.cwd, file), 'utf8');
    } catch {
      throw new UsageError(`${file}: no such file`);
    }
    const r = checkRunnerConfig(file, text, policy, { today });
    sources.absorb(r.sources);
    findings.push(...r.findings);
  }
  const judged = suppress(findings, policy, { today });
  io.stdout.write(renderFindings(format, { findings: judged, sources, rules, toolVersion: toolVersion(), color: values.color }));
  return summarize(judged).blocking > 0 ? EXIT.blocking : EXIT.ok;
}

async function rulesCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args, options: { format: { type: 'string' } } });
  const format = formatOption(values.format, ['text', 'json'], 'text');
  const metas = await ruleSummaries();
  if (format === 'json') {
    io.stdout.write(JSON.stringify(metas.map(({ id, kind, title, defaultSeverity, principle, fix }) => ({ id, kind, title, defaultSeverity, principle, fix })), null, 2) + '\n');
    return EXIT.ok;
  }
  const w = Math.max(...metas.map((m) => m.id.length));
  // One write: each write to a file or pipe is a system call of its own.
  let kind = '';
  let out = '';
  for (const m of metas) {
    if (m.kind !== kind) {
      kind = m.kind;
      out += `\n${kind} rules\n`;
    }
    out += `  ${m.id.padEnd(w)}  ${m.defaultSeverity.padEnd(7)}  ${m.title}\n`;
  }
  io.stdout.write(out + `\n\`tierguard explain RULE\` prints a rule's documentation.\n`);
  return EXIT.ok;
}

async function explainCommand(args: string[], io: CliIO): Promise<number> {
  const id = args[0];
  if (!id) throw new UsageError('explain needs a RULE id (see `tierguard rules`)');
  const meta = (await ruleSummaries()).find((m) => m.id === id);
  if (!meta) throw new UsageError(`unknown rule "${id}" (see \`tierguard rules\`)`);
  try {
    io.stdout.write(readFileSync(path.join(PACKAGE_ROOT, 'docs', 'rules', `${id}.md`), 'utf8'));
  } catch {
    io.stdout.write(`# ${meta.id}\n\nSeverity: ${meta.defaultSeverity}\n\n${meta.title}\n\n## Why\n\n${meta.principle}\n\n## How to fix\n\n${meta.fix}\n`);
  }
  return EXIT.ok;
}
