import path from 'node:path';
import { parseArgs } from 'node:util';
import { str, toJS, type YNode } from '../model/node.js';
import { buildPipeline, keyOrigin, type Job } from '../model/pipeline.js';
import { DirectorySource } from '../model/source.js';
import { EXIT, UsageError, type CliIO } from './io.js';

/** The keywords `tierguard jobs` explains, in this order. */
const SHOWN_KEYS = ['stage', 'tags', 'image', 'environment', 'rules', 'only', 'except', 'when', 'needs', 'services', 'script', 'trigger', 'variables', 'id_tokens', 'secrets', 'cache'];

function imageName(n: YNode | undefined): string | undefined {
  if (!n) return undefined;
  return n.kind === 'map' ? str(n.entries.get('name')?.value) : str(n);
}

function jobJson(job: Job) {
  const origins: Record<string, { file: string; line: number; column: number; via: string }> = {};
  for (const k of SHOWN_KEYS) {
    const o = keyOrigin(job, k);
    if (o) origins[k] = { file: o.loc.file, line: o.loc.line, column: o.loc.column, via: o.explain };
  }
  return {
    name: job.name,
    kind: job.kind,
    file: job.file,
    line: job.keyLoc.line,
    stage: job.stage,
    tags: job.tags,
    image: imageName(job.node.entries.get('image')?.value) ?? null,
    environment: (toJS(job.node.entries.get('environment')?.value) as unknown) ?? null,
    origins,
  };
}

/** `tierguard jobs [PATH]`: what tierguard understood, job by job, with where each value came from. */
export async function jobsCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { format: { type: 'string' }, templates: { type: 'string' }, 'ci-file': { type: 'string' }, verbose: { type: 'boolean', short: 'v' } },
  });
  if (positionals.length > 1) throw new UsageError('jobs takes at most one PATH');
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json (got "${format}")`);
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
  const unresolved = pipeline.includes.filter((i) => i.status === 'unresolved');
  const invalid = pipeline.diagnostics.filter((d) => d.kind === 'invalid');

  if (format === 'json') {
    io.stdout.write(
      JSON.stringify(
        {
          jobs: pipeline.jobs.map(jobJson),
          hiddenJobs: pipeline.hiddenJobs,
          stages: pipeline.stages,
          files: pipeline.files.map((f) => f.name),
          unresolvedIncludes: unresolved.map((i) => ({ kind: i.kind, target: i.target, project: i.project ?? null, ref: i.ref ?? null, file: i.loc.file, line: i.loc.line, reason: i.reason ?? null })),
          errors: invalid.map((d) => ({ message: d.message, file: d.location.file, line: d.location.line, column: d.location.column })),
        },
        null,
        2,
      ) + '\n',
    );
    return invalid.length ? EXIT.blocking : EXIT.ok;
  }

  const rows = pipeline.jobs.map((j) => [
    j.name,
    j.stage,
    j.tags.join(',') || '-',
    imageName(j.node.entries.get('image')?.value) ?? '-',
    `${j.file}:${j.keyLoc.line}`,
  ]);
  const header = ['JOB', 'STAGE', 'TAGS', 'IMAGE', 'DEFINED AT'];
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  let out = fmt(header) + '\n' + rows.map(fmt).join('\n') + (rows.length ? '\n' : '');
  if (values.verbose) {
    for (const j of pipeline.jobs) {
      out += `\n${j.name}\n`;
      for (const k of SHOWN_KEYS) {
        const o = keyOrigin(j, k);
        if (o) out += `  ${k.padEnd(12)} ${o.explain}\n`;
      }
    }
  }
  out += `\n${pipeline.jobs.length} jobs, ${pipeline.hiddenJobs.length} hidden, from ${pipeline.files.length} files\n`;
  for (const i of unresolved) out += `not read offline: ${i.kind} ${i.project ? i.project + ' ' : ''}${i.target}${i.ref ? '@' + i.ref : ''} (${i.loc.file}:${i.loc.line})\n`;
  for (const d of invalid) out += `error: ${d.location.file}:${d.location.line}:${d.location.column}: ${d.message}\n`;
  io.stdout.write(out);
  return invalid.length ? EXIT.blocking : EXIT.ok;
}
