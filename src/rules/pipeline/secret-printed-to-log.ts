import { ruleOptions } from '../../findings/rule-meta.js';
import type { RuleReport, Severity } from '../../findings/finding.js';
import type { SourceLocation } from '../../model/location.js';
import type { Job } from '../../model/pipeline.js';
import { defineRule, type ScriptLine } from '../types.js';
import { locateInLine, artifactsOf, credentialNames, expandedRefs, followOutput, inArtifactPath, uploadedPaths, type CredentialNames } from './_script-facts.js';
import { commandIndex, memoByText, programName, segments, unquote, wordText, type Segment } from './_shell.js';
import { codeList } from './_trust-text.js';
import { flatMap } from '../../util/array.js';

const PRINTERS = new Set(['echo', 'printf', 'print', 'write-host', 'write-output', 'echo.']);
const FILE_READERS = new Set(['cat', 'head', 'tail', 'more', 'less', 'base64', 'xxd', 'od', 'hexdump', 'strings', 'get-content', 'type']);

const options = ruleOptions(
  {
    /**
     * The project's job logs are public (GitLab project setting `public_jobs`, read live by the
     * service): every printed secret is an error, wherever the job runs.
     */
    publicLogs: false,
  },
  (z) => z.object({ publicLogs: z.boolean() }),
);

export interface PrintHit {
  /** Offset and length in the script text of the token to report. */
  index: number;
  length: number;
  kind: 'print' | 'dump' | 'read-file' | 'xtrace' | 'artifact';
  /** The variable (or `every variable`) and the command. */
  what: string;
  command: string;
  /** For `artifact`: the artifact path that uploads the file. */
  artifact?: string;
  /** For `xtrace`: where the traced use of a secret is. */
  tracedIndex?: number;
  tracedLength?: number;
  /** For `xtrace`: the `set -x` (its line is filled in by the caller, who knows the script line). */
  origin?: TraceOrigin;
}

interface TraceOrigin {
  index: number;
  length: number;
  line?: ScriptLine;
}

export interface Tracing {
  on: boolean;
  at?: TraceOrigin;
}

/** `set -x`, `set -ex`, `set -o xtrace` turn tracing on; `set +x`, `set +o xtrace` off. */
function xtraceChange(seg: Segment, ci: number): boolean | undefined {
  let change: boolean | undefined;
  const args = seg.words.slice(ci + 1).map((w) => unquote(w.raw));
  for (const [i, a] of args.entries()) {
    if (/^[-+][a-wyzA-Z]*x[a-zA-Z]*$/.test(a)) change = a.startsWith('-');
    else if (/^[-+]o$/.test(a) && args[i + 1] === 'xtrace') change = a === '-o';
  }
  return change;
}

/** The arguments of a command without redirections (`> f`, `2>&1`, `>>f`) and their targets. */
function plainArgs(seg: Segment, from: number): string[] {
  const out: string[] = [];
  for (let i = from; i < seg.words.length; i++) {
    const a = wordText(seg.words[i]);
    const m = /^(\d|&)?(>>?|<)(.*)$/.exec(a);
    if (m) {
      if (!m[3]) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/** What `findPrints` needs of a job to scan its lines, and the dotenv reports it uploads. */
interface PrintScan {
  definedInYaml: (name: string) => boolean;
  artifactPaths: readonly string[];
  tracing: Tracing;
  dotenv: ReadonlySet<string>;
}

function printScan(job: Job, tracing: Tracing): PrintScan {
  const a = artifactsOf(job);
  return { definedInYaml: (n) => job.variables.has(n), artifactPaths: uploadedPaths(a), tracing, dotenv: new Set(a.dotenv.map((x) => x.path)) };
}

/** What a command is, as far as printing goes (see findPrints). */
interface CommandShape {
  ci: number;
  /** The first word that is not an assignment, and its program name (`env` of `env -i cmd`). */
  first: number;
  head: string;
  /** The command's program name, lower case. */
  prog: string;
  kind: 'set' | 'dump' | 'printenv' | 'print' | 'read-file' | 'other';
  /** For `set`: whether it turns tracing on or off (undefined: neither). */
  xtrace?: boolean;
}

/** Each command's shape, once per text (jobs repeat lines through anchors and `extends`). */
const shapesOf = memoByText((text: string): readonly CommandShape[] =>
  segments(text).map((seg) => {
    const ci = commandIndex(seg.words);
    const first = seg.words.findIndex((w) => !/^[A-Za-z_]\w*=/.test(unquote(w.raw)));
    const head = programName(seg.words[first]).toLowerCase();
    const prog = programName(seg.words[ci]).toLowerCase();
    const shape: CommandShape = { ci, first, head, prog, kind: 'other' };
    if (prog === 'set') {
      shape.kind = 'set';
      shape.xtrace = xtraceChange(seg, ci);
    } else if (seg.words[first] && (head === 'env' || head === 'printenv') && plainArgs(seg, first + 1).every((a) => a.startsWith('-'))) shape.kind = 'dump';
    else if (prog === 'printenv') shape.kind = 'printenv';
    else if (PRINTERS.has(prog)) shape.kind = 'print';
    else if (FILE_READERS.has(prog)) shape.kind = 'read-file';
    return shape;
  }),
);

/** Whether every command of a text is of no interest here (kind `other`) unless tracing is on. */
const quietText = memoByText((text: string): boolean => shapesOf(text).every((s) => s.kind === 'other'));

/**
 * Scan one shell (the lines of `before_script` + `script`, or `after_script`) for credentials
 * that reach the log or an artifact file. `tracing` carries `set -x` across lines.
 */
export function findPrints(
  text: string,
  names: CredentialNames,
  opts: { definedInYaml?: (name: string) => boolean; artifactPaths?: readonly string[]; tracing?: Tracing } = {},
): PrintHit[] {
  const out: PrintHit[] = [];
  const defined = opts.definedInYaml ?? (() => false);
  const tracing: Tracing = opts.tracing ?? { on: false };
  const artifactPaths = opts.artifactPaths ?? [];
  // Most lines print nothing of interest and change no tracing: nothing to look at without `set -x`.
  if (!tracing.on && quietText(text)) return out;
  const segs = segments(text);
  const shapes = shapesOf(text);
  segs.forEach((seg, i) => {
    const shape = shapes[i]!; // one per segment
    // Most commands print nothing of interest: passed over unless `set -x` is on.
    if (shape.kind === 'other' && !tracing.on) return;
    const { ci, first, head, prog } = shape;
    const headWord = seg.words[first];
    const cmd = seg.words[ci];
    const secretRefs = (from: number, file = false) =>
      flatMap(seg.words.slice(from), (w) => expandedRefs(w.raw).filter((r) => (file ? names.file(r.name) || names.value(r.name) : names.value(r.name)) && !defined(r.name)).map((r) => ({ ...r, index: w.start + r.index })));
    const where = (kind: PrintHit['kind'], index: number, length: number, what: string, command: string) => {
      const o = followOutput(segs, i);
      if (o.log) out.push({ index, length, kind, what, command });
      for (const f of o.files) {
        const artifact = inArtifactPath(f.target, artifactPaths);
        if (artifact) out.push({ index, length, kind: 'artifact', what, command, artifact });
      }
    };

    if (shape.kind === 'set') {
      const change = shape.xtrace;
      const lastWord = seg.words.at(-1);
      if (change !== undefined && cmd && lastWord) {
        tracing.on = change;
        tracing.at = change ? { index: cmd.start, length: lastWord.end - cmd.start } : undefined;
      }
      return;
    }
    if (tracing.on) {
      const r = secretRefs(0)[0];
      if (r) {
        const origin = tracing.at ?? { index: r.index, length: r.length };
        out.push({ index: origin.index, length: origin.length, origin, kind: 'xtrace', what: `$${r.name}`, command: 'set -x', tracedIndex: r.index, tracedLength: r.length });
        // One finding per `set -x`: stop tracing in this scan so later lines do not repeat it.
        tracing.on = false;
        return;
      }
    }
    // `env`, `printenv` without names: every variable.
    if (headWord && shape.kind === 'dump') {
      where('dump', headWord.start, headWord.end - headWord.start, 'every variable', head);
      return;
    }
    if (shape.kind === 'printenv') {
      for (const w of seg.words.slice(ci + 1)) {
        const n = unquote(w.raw);
        if (names.value(n) && !defined(n)) where('print', w.start, w.end - w.start, `$${n}`, 'printenv');
      }
      return;
    }
    if (shape.kind === 'print') {
      const r = secretRefs(ci + 1)[0];
      if (r) where('print', r.index, r.length, `$${r.name}`, prog);
      return;
    }
    if (shape.kind === 'read-file') {
      const r = secretRefs(ci + 1, true)[0];
      if (r) where('read-file', r.index, r.length, `$${r.name}`, prog);
    }
  });
  return out;
}

/**
 * Job logs are read by far more people than CI/CD variables (everyone with Reporter access,
 * or everyone on a project with public pipelines), and they are kept for months. A secret
 * printed there, or written into an artifact or dotenv report, leaves the trusted tier.
 * GitLab masks only variables marked Masked, and only their exact value: `base64`, `set -x`
 * of a derived string or a multi-line value are printed as they are
 * (`doc/ci/variables/_index.md#mask-a-cicd-variable`).
 */
export default defineRule({
  meta: {
    id: 'secret-printed-to-log',
    kind: 'pipeline',
    title: 'A credential-like variable is printed to the job log or written to an artifact',
    defaultSeverity: 'error',
    principle: 'Secrets stay in the trusted tier: job logs and artifacts are readable far more widely than CI/CD variables.',
    fix: 'Do not print secrets: pass them on stdin (`printf %s "$TOKEN" | docker login --password-stdin …`) or in files outside artifact paths, turn `set -x` off around commands that use them, and never `env`/`printenv` in a job that has credentials.',
    options,
    messages: {
      print: '{{where}} prints the credential-like variable `{{what}}` to the job log (`{{command}}`): everyone who can read the log reads it{{tail}}.',
      readFile: '{{where}} prints the contents of the credential file `{{what}}` to the job log (`{{command}}`): everyone who can read the log reads it{{tail}}.',
      dump: '{{where}} prints every variable to the job log (`{{command}}`), unmasked credentials included{{tail}}.',
      xtrace: '{{where}} turns on shell tracing (`set -x`) before a command that uses `{{what}}`: the trace prints it to the job log{{tail}}.',
      artifact: '{{where}} writes `{{what}}` into `{{artifact}}`, which the job uploads as {{upload}}{{tail}}.',
    },
  },
  create(ctx) {
    const names = credentialNames(ctx.policy);
    return {
      pipeline(p) {
        const found = new Map<string, RuleReport & { severity: Severity }>();
        const keyOf = (l: SourceLocation, extra: string) => `${l.file}:${l.line}:${l.column}:${extra}`;
        for (const job of p.jobs) {
          let shell = '';
          const tracing: Tracing = { on: false };
          // The job's artifacts matter only to a line that prints (most jobs have none): read
          // the first time one does.
          let scan: PrintScan | undefined;
          for (const line of ctx.scriptLines(job)) {
            const s = line.key === 'before_script' || line.key === 'script' ? 'main' : line.key;
            if (s !== shell) {
              shell = s;
              tracing.on = false;
            }
            // Most lines print nothing of interest (known per text): nothing to scan unless tracing is on.
            if (!tracing.on && quietText.of(line)) continue;
            const scanned = (scan ??= printScan(job, tracing));
            const hits = findPrints(line.text, names, scanned);
            if (tracing.at && !tracing.at.line) tracing.at.line = line;
            for (const h of hits) {
              // The job's trust (the engine keeps it) decides the severity: asked once it prints something.
              const { untrusted } = ctx.trust(job);
              const severity: Severity = untrusted.length > 0 || ctx.options.publicLogs ? 'error' : 'warning';
              const at = locateInLine(ctx, h.origin?.line ?? line, h.index, h.length);
              const k = keyOf(at, h.kind + h.what);
              const prev = found.get(k);
              if (prev) {
                if (severity === 'error' && prev.severity === 'warning') found.set(k, report(job, h.origin?.line ?? line, line, h, at, severity, untrusted, scanned.dotenv));
                continue;
              }
              found.set(k, report(job, h.origin?.line ?? line, line, h, at, severity, untrusted, scanned.dotenv));
            }
          }
        }
        for (const r of found.values()) ctx.report(r);

        function report(job: Job, line: ScriptLine, usedIn: ScriptLine, h: PrintHit, at: SourceLocation, severity: Severity, untrusted: readonly string[], dotenv: ReadonlySet<string>): RuleReport & { severity: Severity } {
          const where = `\`${line.key}\` of job \`${job.name}\``;
          const tail = untrusted.length ? ` (the job can run in ${codeList(untrusted.slice(0, 3))}${untrusted.length > 3 ? ' …' : ''})` : ctx.options.publicLogs ? ' (the project\'s job logs are public)' : '';
          const command = h.command;
          const message: Pick<RuleReport, 'messageId' | 'data'> =
            h.kind === 'print'
              ? { messageId: 'print', data: { where, what: h.what, command, tail } }
              : h.kind === 'read-file'
                ? { messageId: 'readFile', data: { where, what: h.what, command, tail } }
                : h.kind === 'dump'
                  ? { messageId: 'dump', data: { where, command, tail } }
                  : h.kind === 'xtrace'
                    ? { messageId: 'xtrace', data: { where, what: h.what, tail } }
                    : {
                        messageId: 'artifact',
                        data: { where, what: h.what, artifact: h.artifact ?? '', upload: dotenv.has(h.artifact ?? '') ? 'a dotenv report (later jobs and the pipeline page see it)' : 'an artifact', tail },
                      };
          const related =
            h.kind === 'xtrace' && h.tracedIndex !== undefined ? [{ location: locateInLine(ctx, usedIn, h.tracedIndex, h.tracedLength ?? 1), message: `the traced use of ${h.what}` }] : undefined;
          return { at, job: job.name, keyPath: [line.key, String(line.index)], discriminator: `${h.kind}|${h.what}`, ...message, related, severity };
        }
      },
    };
  },
});
