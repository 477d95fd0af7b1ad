import path from 'node:path';
import { parseArgs } from 'node:util';
import { str, toJS, type YNode } from '../model/node.js';
import type { IncludeRecord } from '../model/include.js';
import { buildPipeline, keyOrigin, keyUncertainty, type Job, type Pipeline } from '../model/pipeline.js';
import { DirectorySource } from '../model/source.js';
import type { Outcome } from '../contexts/reach.js';
import { renderContextTable } from './context-table.js';
import type { ContextId } from '../contexts/contexts.js';
import type { Evaluation } from '../rules/engine.js';
import { EXIT, formatOption, UsageError, type CliIO } from './io.js';

/** The keywords `tierguard jobs` explains, in this order. */
const SHOWN_KEYS = ['stage', 'tags', 'image', 'environment', 'rules', 'only', 'except', 'when', 'needs', 'services', 'script', 'trigger', 'variables', 'id_tokens', 'secrets', 'cache'];

function imageName(n: YNode | undefined): string | undefined {
  if (!n) return undefined;
  return n.kind === 'map' ? str(n.entries.get('name')?.value) : str(n);
}

/** How `jobs` names an include it could not read (a component address already carries its version). */
function unreadLine(i: IncludeRecord): string {
  if (i.kind === 'component') return `component ${i.target}`;
  return `${i.kind} ${i.project ? i.project + ' ' : ''}${i.target}${i.ref ? '@' + i.ref : ''}`;
}

function unreadJson(i: IncludeRecord) {
  return { kind: i.kind, target: i.target, project: i.project ?? null, ref: i.ref ?? null, file: i.loc.file, line: i.loc.line, reason: i.reason ?? null };
}

function jobJson(job: Job, ev: Evaluation): Record<string, unknown> {
  const origins: Record<string, { file: string; line: number; column: number; via: string }> = {};
  for (const k of SHOWN_KEYS) {
    const o = keyOrigin(job, k);
    if (o) origins[k] = { file: o.loc.file, line: o.loc.line, column: o.loc.column, via: o.explain };
  }
  const t = ev.trust.get(job.name);
  const uncertain = job.partial ? Object.fromEntries(SHOWN_KEYS.map((k) => [k, keyUncertainty(job, k)] as const).filter(([, v]) => v)) : undefined;
  const child = (ev.children ?? []).find((c) => c.trigger === job.name);
  return {
    name: job.name,
    kind: job.kind,
    file: job.file,
    line: job.keyLoc.line,
    stage: job.stage,
    tags: job.tags,
    image: imageName(job.node.entries.get('image')?.value) ?? null,
    environment: toJS(job.node.entries.get('environment')?.value) ?? null,
    origins,
    contexts: t ? { untrusted: t.untrusted, trusted: t.trusted, ...(t.attackerChosenTags ? { attackerChosenTags: t.attackerChosenTags } : {}) } : null,
    ...(uncertain ? { unreadParents: job.partial!.unreadParents, uncertain } : {}),
    ...(child
      ? {
          child: {
            jobs: child.evaluation.pipeline.jobs.map((j) => jobJson(j, child.evaluation)),
            files: child.evaluation.pipeline.files.map((f) => f.name),
            unresolvedIncludes: child.evaluation.pipeline.includes.filter((i) => i.status === 'unresolved').map(unreadJson),
          },
        }
      : {}),
  };
}

/** A pipeline with its child pipelines under their trigger jobs: what the listing walks. */
interface JobTree {
  pipeline: Pipeline;
  children: { trigger: string; tree: JobTree }[];
}

const treeOfEvaluation = (ev: Evaluation): JobTree => ({
  pipeline: ev.pipeline,
  children: (ev.children ?? []).map((c) => ({ trigger: c.trigger, tree: treeOfEvaluation(c.evaluation) })),
});

/** The same tree from the model alone: a child counts when its trigger job exists, as in evaluatePipeline. */
const treeOfPipeline = (p: Pipeline): JobTree => ({
  pipeline: p,
  children: (p.children ?? []).filter((c) => p.jobs.some((j) => j.name === c.trigger)).map((c) => ({ trigger: c.trigger, tree: treeOfPipeline(c.pipeline) })),
});

/**
 * The notes evaluatePipeline (src/rules/engine.ts) gives without rules, from the model alone: the
 * diagnostics that are not errors, then the child pipelines' ones not already said.
 */
function modelNotes(t: JobTree): string[] {
  const notes = t.pipeline.diagnostics.filter((d) => d.kind !== 'invalid').map((d) => `${d.location.file}:${d.location.line}: ${d.message}`);
  for (const c of t.children) for (const n of modelNotes(c.tree)) if (!notes.includes(n)) notes.push(n);
  return notes;
}

/** Rows of the job listing: each job, and under a trigger job the jobs of its child pipeline. */
function jobRows(t: JobTree, depth = 0): string[][] {
  const pad = depth ? '  '.repeat(depth - 1) + '└ ' : '';
  const rows: string[][] = [];
  for (const j of t.pipeline.jobs) {
    rows.push([pad + j.name, j.stage, (j.tags.join(',') || '-') + (j.partial && keyUncertainty(j, 'tags') ? '?' : ''), imageName(j.node.entries.get('image')?.value) ?? '-', `${j.file}:${j.keyLoc.line}`]);
    for (const c of t.children) if (c.trigger === j.name) rows.push(...jobRows(c.tree, depth + 1));
  }
  return rows;
}

function contextRows(ev: Evaluation, depth = 0): { job: string; reach: Partial<Record<ContextId, Outcome>> }[] {
  const pad = depth ? '  '.repeat(depth - 1) + '└ ' : '';
  const rows: { job: string; reach: Partial<Record<ContextId, Outcome>> }[] = [];
  for (const j of ev.pipeline.jobs) {
    rows.push({ job: pad + j.name, reach: ev.trust.get(j.name)!.byContext });
    for (const c of ev.children ?? []) if (c.trigger === j.name) rows.push(...contextRows(c.evaluation, depth + 1));
  }
  return rows;
}

function childJobCount(t: JobTree): number {
  return t.children.reduce((n, c) => n + c.tree.pipeline.jobs.length + childJobCount(c.tree), 0);
}

function allUnread(p: Pipeline): IncludeRecord[] {
  const seen = new Set<string>();
  const out: IncludeRecord[] = [];
  const walk = (q: Pipeline) => {
    for (const i of q.includes) {
      const k = `${i.loc.file}:${i.loc.line}:${i.loc.column}`;
      if (i.status !== 'unresolved' || seen.has(k)) continue;
      seen.add(k);
      out.push(i);
    }
    for (const c of q.children ?? []) walk(c.pipeline);
  };
  walk(p);
  return out;
}

/** `tierguard jobs [PATH]`: what tierguard understood, job by job, with where each value came from. */
export async function jobsCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      templates: { type: 'string' },
      'ci-file': { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      // the `lint` options that change what the model says (contexts need the policy's protected refs)
      'default-branch': { type: 'string' },
      policy: { type: 'string' },
      group: { type: 'string' },
      contexts: { type: 'boolean' },
      color: { type: 'boolean' },
    },
  });
  if (positionals.length > 1) throw new UsageError('jobs takes at most one PATH');
  const format = formatOption(values.format, ['text', 'json'], 'text');
  const defaultBranch = values['default-branch'] ?? 'main';
  const target = path.resolve(io.cwd, positionals[0] ?? '.');
  const { statSync } = await import('node:fs');
  let dir = target;
  let root = values['ci-file'] ?? '.gitlab-ci.yml';
  try {
    if (statSync(target).isFile()) {
      dir = path.dirname(target);
      root = path.basename(target);
    }
  } catch {
    throw new UsageError(`${positionals[0]}: no such file or directory`);
  }
  const pipeline = await buildPipeline(new DirectorySource(dir, values.templates ? path.resolve(io.cwd, values.templates) : undefined), root);
  // Trust only (no rules): the same contexts `lint` uses, child pipelines under their trigger jobs.
  // The plain listing shows no context, so it skips them (a fifth of the run on a large pipeline).
  const needsTrust = format === 'json' || values.contexts === true;
  // The policy (protected refs) matters to the contexts alone; one named on the command line is
  // still loaded, so a bad one is still an error.
  const { policyFromArgs } = await import('./main.js');
  const policy = needsTrust || values.policy !== undefined || values.group !== undefined ? await policyFromArgs(values, io.cwd) : undefined;
  // Loaded only then: the plain listing runs no trust or engine code (the bundle's model chunk
  // keeps to the model).
  let ev: Evaluation | undefined;
  if (needsTrust && policy) {
    const [{ evaluatePipeline }, { defaultTrustFactory }] = await Promise.all([import('../rules/engine.js'), import('../rules/trust-provider.js')]);
    ev = evaluatePipeline(pipeline, { policy, rules: [], trust: defaultTrustFactory, defaultBranch });
  }
  const tree = ev ? treeOfEvaluation(ev) : treeOfPipeline(pipeline);
  const notes = ev ? ev.notes : modelNotes(tree);
  const unresolved = allUnread(pipeline);
  const invalid: Pipeline['diagnostics'] = [];
  const collect = (p: Pipeline) => {
    invalid.push(...p.diagnostics.filter((d) => d.kind === 'invalid'));
    for (const c of p.children ?? []) collect(c.pipeline);
  };
  collect(pipeline);

  if (format === 'json' && ev) {
    io.stdout.write(
      JSON.stringify(
        {
          defaultBranch,
          jobs: pipeline.jobs.map((j) => jobJson(j, ev)),
          hiddenJobs: pipeline.hiddenJobs,
          stages: pipeline.stages,
          files: pipeline.files.map((f) => f.name),
          unresolvedIncludes: unresolved.map(unreadJson),
          notes,
          errors: invalid.map((d) => ({ message: d.message, file: d.location.file, line: d.location.line, column: d.location.column })),
        },
        null,
        2,
      ) + '\n',
    );
    return invalid.length ? EXIT.blocking : EXIT.ok;
  }

  const rows = jobRows(tree);
  const header = ['JOB', 'STAGE', 'TAGS', 'IMAGE', 'DEFINED AT'];
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0))));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  let out = fmt(header) + '\n' + rows.map(fmt).join('\n') + (rows.length ? '\n' : '');
  if (values.verbose) {
    const explain = (e: JobTree, prefix: string) => {
      for (const j of e.pipeline.jobs) {
        out += `\n${prefix}${j.name}\n`;
        for (const k of SHOWN_KEYS) {
          const o = keyOrigin(j, k);
          if (o) out += `  ${k.padEnd(12)} ${o.explain}\n`;
          const u = o && keyUncertainty(j, k);
          if (u) out += `  ${''.padEnd(12)} ${u}\n`;
        }
        if (j.partial) out += `  ${''.padEnd(12)} ${keyUncertainty(j, '*')!.replace('`*` may be set', 'any other keyword may be set')}\n`;
        for (const c of e.children) if (c.trigger === j.name) explain(c.tree, `${prefix}${j.name} › `);
      }
    };
    explain(tree, '');
  }
  if (ev && values.contexts) out += `\nTrust contexts (default branch ${defaultBranch}):\n` + renderContextTable(contextRows(ev));
  const children = childJobCount(tree);
  out += `\n${pipeline.jobs.length} jobs${children ? ` (+${children} in child pipelines)` : ''}, ${pipeline.hiddenJobs.length} hidden, from ${pipeline.files.length} files\n`;
  for (const i of unresolved) out += `not read offline: ${unreadLine(i)} (${i.loc.file}:${i.loc.line})${i.reason && i.kind === 'artifact' ? `: ${i.reason}` : ''}\n`;
  for (const d of notes) if (!/ was not read \(/.test(d)) out += `note: ${d}\n`;
  for (const d of invalid) out += `error: ${d.location.file}:${d.location.line}:${d.location.column}: ${d.message}\n`;
  io.stdout.write(out);
  return invalid.length ? EXIT.blocking : EXIT.ok;
}
