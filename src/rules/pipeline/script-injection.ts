import { table } from '../../util/table.js';
import type { RelatedLocation, RuleReport } from '../../findings/finding.js';
import type { SourceLocation } from '../../model/location.js';
import { get, str, type YNode } from '../../model/node.js';
import type { Job } from '../../model/pipeline.js';
import type { VariableDef } from '../../model/variables.js';
import { type ContextId, defineRule } from '../types.js';
import { commandIndex, locateInScalar, onceAt, programName, quoteStates, scriptKeyPath, segments, unquote, varRefs, wordText, type Word } from './_shell.js';

/**
 * Predefined variables whose text an outsider chooses (`doc/ci/variables/predefined_variables.md`;
 * git ref names may contain `$ ( ) ; |` and backquotes). `CI_COMMIT_REF_SLUG` is excluded:
 * GitLab reduces it to `[a-z0-9-]`.
 */
export const ATTACKER_VARIABLES = table<string>({
  CI_MERGE_REQUEST_TITLE: 'the merge request title',
  CI_MERGE_REQUEST_DESCRIPTION: 'the merge request description',
  CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'the merge request source branch name',
  CI_MERGE_REQUEST_LABELS: 'the merge request labels',
  CI_MERGE_REQUEST_MILESTONE: 'the merge request milestone',
  CI_COMMIT_MESSAGE: 'the commit message',
  CI_COMMIT_TITLE: 'the commit title',
  CI_COMMIT_DESCRIPTION: 'the commit description',
  CI_COMMIT_AUTHOR: 'the commit author',
  CI_COMMIT_BRANCH: 'the branch name',
  CI_COMMIT_REF_NAME: 'the branch or tag name',
  CI_COMMIT_TAG: 'the tag name',
  CI_COMMIT_TAG_MESSAGE: 'the tag message',
  CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME: 'the external pull request source branch name',
  GITLAB_USER_NAME: "the triggering user's display name",
  TRIGGER_PAYLOAD: 'the trigger webhook payload',
  CHAT_INPUT: 'the ChatOps command arguments',
});

/**
 * Where a ref- or MR-derived variable is attacker-controlled: only in the untrusted contexts
 * that set it. On the default branch, a protected branch or a protected tag the name is fixed
 * by whoever may create those refs (maintainers); MR variables are empty outside MR pipelines.
 * Commit messages, authors, user names and payloads are not listed: a merged commit keeps the
 * MR author's message, so they are attacker-controlled everywhere.
 */
const CONTROLLED_IN = table<readonly ContextId[]>({
  CI_MERGE_REQUEST_TITLE: ['mr', 'mr-fork'],
  CI_MERGE_REQUEST_DESCRIPTION: ['mr', 'mr-fork'],
  CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: ['mr', 'mr-fork'],
  CI_MERGE_REQUEST_LABELS: ['mr', 'mr-fork'],
  CI_MERGE_REQUEST_MILESTONE: ['mr', 'mr-fork'],
  CI_COMMIT_BRANCH: ['branch', 'web-unprotected'],
  CI_COMMIT_REF_NAME: ['branch', 'unprotected-tag', 'mr', 'mr-fork', 'web-unprotected'],
  CI_COMMIT_TAG: ['unprotected-tag', 'web-unprotected'],
  CI_COMMIT_TAG_MESSAGE: ['unprotected-tag', 'web-unprotected'],
  CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME: ['branch', 'mr', 'mr-fork'],
});

const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'mksh', 'fish']);
const STDIN_INTERPRETERS = /^(sh|bash|zsh|dash|ksh|ash|mksh|python[0-9.]*|node|nodejs|perl|ruby|php|pwsh|powershell|iex|invoke-expression)$/i;

export interface InjectionHit {
  /** Offset of the variable reference in the analysed text. */
  index: number;
  length: number;
  name: string;
  /** What parses the text again: "`eval`", "`bash -c`", "`python3 -c`" … */
  sink: string;
}

/**
 * Find references to `isTainted` variables that the shell expands into text that is then
 * parsed again as code. A reference the outer shell leaves alone (inside single quotes) is
 * followed into the inner shell code (`sh -c '…'`, `eval '…'`), where it is data unless it
 * hits another sink. Unquoted use in a plain command is not reported: the shell does not
 * re-parse the result of an expansion.
 */
export function findInjections(text: string, isTainted: (name: string) => boolean, depth = 0): InjectionHit[] {
  if (depth > 4) return [];
  const out: InjectionHit[] = [];
  const q = quoteStates(text);
  const expanded = (from: number, to: number, sink: string, anyQuote = false) => {
    for (const r of varRefs(text.slice(from, to))) {
      const at = from + r.index;
      if ((anyQuote || q[at] !== 'single') && isTainted(r.name)) out.push({ index: at, length: r.length, name: r.name, sink });
    }
  };
  /** Shell code inside a single-quoted word: re-analysed as the inner shell sees it. */
  const inner = (w: Word) => {
    const u = w.raw;
    if (u.length >= 2 && u.startsWith("'") && u.endsWith("'") && !u.slice(1, -1).includes("'")) {
      for (const h of findInjections(u.slice(1, -1), isTainted, depth + 1)) out.push({ ...h, index: h.index + w.start + 1 });
    }
  };
  const segs = segments(text);
  segs.forEach((seg, si) => {
    const words = seg.words;
    const ci = commandIndex(words);
    const prog = programName(words[ci]);
    const lower = prog.toLowerCase();
    const optionArg = (isOpt: (o: string) => boolean): number | undefined => {
      for (let i = ci + 1; i < words.length; i++) {
        const o = wordText(words[i]);
        if (isOpt(o)) return i + 1 < words.length ? i + 1 : undefined;
        if (!o.startsWith('-')) return undefined;
      }
      return undefined;
    };
    let sinkWords: [number, number] | undefined;
    let sink = '';
    let shellLike = false;
    const next = words[ci + 1];
    if (prog === 'eval' && ci + 1 < words.length) {
      [sinkWords, sink, shellLike] = [[ci + 1, words.length - 1], '`eval`', true];
    } else if (SHELLS.has(prog)) {
      const a = optionArg((o) => /^-[a-zA-Z]*c[a-zA-Z]*$/.test(o));
      if (a !== undefined) [sinkWords, sink, shellLike] = [[a, a], `\`${prog} -c\``, true];
    } else if (/^python[0-9.]*$/.test(prog)) {
      const a = optionArg((o) => o === '-c');
      if (a !== undefined) [sinkWords, sink] = [[a, a], `\`${prog} -c\``];
    } else if (prog === 'node' || prog === 'nodejs' || prog === 'bun') {
      const a = optionArg((o) => o === '-e' || o === '--eval' || o === '-p' || o === '--print');
      if (a !== undefined) [sinkWords, sink] = [[a, a], `\`${prog} -e\``];
    } else if (prog === 'deno' && unquote(words[ci + 1]?.raw ?? '') === 'eval' && ci + 2 < words.length) {
      [sinkWords, sink] = [[ci + 2, ci + 2], '`deno eval`'];
    } else if (prog === 'perl') {
      const a = optionArg((o) => /^-[a-zA-Z]*[eE]$/.test(o));
      if (a !== undefined) [sinkWords, sink] = [[a, a], '`perl -e`'];
    } else if (prog === 'ruby') {
      const a = optionArg((o) => o === '-e');
      if (a !== undefined) [sinkWords, sink] = [[a, a], '`ruby -e`'];
    } else if (prog === 'php') {
      const a = optionArg((o) => o === '-r');
      if (a !== undefined) [sinkWords, sink] = [[a, a], '`php -r`'];
    } else if (lower === 'pwsh' || lower === 'powershell') {
      const a = optionArg((o) => /^-c(ommand)?$/i.test(o));
      if (a !== undefined) [sinkWords, sink] = [[a, words.length - 1], `\`${prog} -Command\``];
    } else if (lower === 'iex' || lower === 'invoke-expression') {
      if (ci + 1 < words.length) [sinkWords, sink] = [[ci + 1, words.length - 1], '`Invoke-Expression`'];
    } else if ((prog === 'source' || prog === '.') && next && /^<\(/.test(next.raw)) {
      for (const h of findInjections(next.raw.slice(2, -1), isTainted, depth + 1)) out.push({ ...h, index: h.index + next.start + 2 });
      expanded(next.start, next.end, `\`${prog} <(…)\``);
    }
    if (sinkWords) {
      const [a, b] = sinkWords;
      const span = words.slice(a, b + 1);
      const [first] = span;
      const last = span.at(-1);
      if (first && last) {
        expanded(first.start, last.end, sink);
        if (shellLike) for (const w of span) inner(w);
      }
    }
    // `echo "$X" | sh`, `envsubst '$X' < tpl | bash`: text piped into an interpreter.
    if (segs[si - 1]?.op === '|' && STDIN_INTERPRETERS.test(prog)) {
      const args = words.slice(ci + 1).map((w) => unquote(w.raw));
      const readsStdin = args.every((a) => a.startsWith('-')) || args.includes('-');
      if (readsStdin) {
        for (let k = si - 1; k >= 0; k--) {
          const prev = segs[k]!; // 0 <= k < si
          const pc = commandIndex(prev.words);
          const pp = programName(prev.words[pc]);
          if (pp === 'echo' || pp === 'printf') expanded(prev.start, prev.end, `\`${pp} … | ${prog}\``);
          else if (pp === 'envsubst') expanded(prev.start, prev.end, `\`envsubst … | ${prog}\``, true);
          if (segs[k - 1]?.op !== '|') break;
        }
      }
    }
    // Command substitutions are commands too: `x=$(eval "$X")`.
    for (const w of words) {
      for (let i = w.raw.indexOf('$('); i >= 0; i = w.raw.indexOf('$(', i + 2)) {
        if (q[w.start + i] === 'single') continue;
        let d = 0;
        let j = i + 1;
        for (; j < w.raw.length; j++) {
          if (w.raw[j] === '(') d++;
          else if (w.raw[j] === ')' && --d === 0) break;
        }
        for (const h of findInjections(w.raw.slice(i + 2, j), isTainted, depth + 1)) out.push({ ...h, index: h.index + w.start + i + 2 });
      }
    }
  });
  const seen = new Set<number>();
  return out.filter((h) => !seen.has(h.index) && seen.add(h.index)).sort((a, b) => a.index - b.index);
}

/** Keywords GitLab expands itself (before any shell runs), as paths in the job. */
function expandedKeywords(job: Job): { path: string[]; node: YNode; label: string }[] {
  const out: { path: string[]; node: YNode; label: string }[] = [];
  // Only values that reference a variable (`$X`, `%X%`) can carry one in.
  const add = (node: YNode | undefined, path: string[], label?: string) => {
    if (node?.kind === 'scalar' && typeof node.value === 'string' && /[$%]/.test(node.value)) out.push({ path, node, label: label ?? path.filter((p) => !/^\d+$/.test(p)).join(':') });
  };
  const n = job.node;
  const image = get(n, 'image');
  add(image?.kind === 'map' ? get(image, 'name') : image, image?.kind === 'map' ? ['image', 'name'] : ['image'], 'image');
  const services = get(n, 'services');
  if (services?.kind === 'seq') {
    services.items.forEach((s, i) => add(s.kind === 'map' ? get(s, 'name') : s, s.kind === 'map' ? ['services', String(i), 'name'] : ['services', String(i)], 'services'));
  }
  // `cache:key` (GitLab keeps protected and unprotected caches apart and forbids `/` in keys),
  // `artifacts:name` (an archive name) and `pages:path_prefix` (GitLab's documented
  // `$CI_COMMIT_BRANCH` pattern) only name things: not judged.
  const env = get(n, 'environment');
  if (env?.kind === 'map') {
    add(get(env, 'name'), ['environment', 'name']);
    // `environment:url` is only a link on the environment page: not judged (noise).
  } else add(env, ['environment'], 'environment:name');
  const trigger = get(n, 'trigger');
  if (trigger?.kind === 'map') {
    add(get(trigger, 'project'), ['trigger', 'project']);
    add(get(trigger, 'branch'), ['trigger', 'branch']);
  } else add(trigger, ['trigger'], 'trigger:project');
  add(get(n, 'resource_group'), ['resource_group']);
  const needs = get(n, 'needs');
  if (needs?.kind === 'seq') {
    needs.items.forEach((x, i) => {
      add(get(x, 'project'), ['needs', String(i), 'project'], 'needs:project');
      add(get(x, 'ref'), ['needs', String(i), 'ref'], 'needs:ref');
    });
  }
  // `release:` fields are passed to the release API as data (`tag_name: $CI_COMMIT_TAG` is
  // GitLab's documented pattern): not judged.
  return out;
}

/**
 * Attacker-controlled text (commit messages, branch names, MR titles …) must stay data. It
 * becomes code when the shell expands it into something that is parsed again (`eval`,
 * `sh -c "…"`, `python -c "…"`, …), or when GitLab itself substitutes it into keywords such as
 * `image:`, `environment:` or `trigger:` before any shell runs.
 */
export default defineRule({
  meta: {
    id: 'script-injection',
    kind: 'pipeline',
    title: 'Attacker-controlled text is interpolated into code or into keywords GitLab expands',
    defaultSeverity: 'error',
    principle:
      'Whoever can name a branch, write a commit message or open a merge request must not be able to choose the commands, images or targets of a job: their text stays data.',
    fix: 'Pass the value as data: reference it quoted ("$CI_COMMIT_MESSAGE") in a plain command, or let the inner program read it from the environment (sh -c \'echo "$CI_COMMIT_TITLE"\', os.environ in Python); in keywords use a sanitised value such as $CI_COMMIT_REF_SLUG or a fixed name.',
    messages: {
      include: '`include:{{key}}` contains ${{name}} ({{source}}), which GitLab expands while building the pipeline: whoever chooses it chooses which configuration the pipeline runs.',
      keyword: 'Job `{{job}}`: `{{keyword}}` contains {{variable}}, which GitLab expands itself before the job starts, so that person chooses the {{what}}.',
      script: 'Job `{{job}}`: {{variable}} is expanded into code that {{sink}} parses again, so a crafted value runs arbitrary commands in the job.',
    },
  },
  create(ctx) {
    const once = onceAt();
    const taintCache = new Map<string, Map<string, { def: VariableDef; source: string }>>();
    /** Job variables whose value carries an attacker variable (GitLab expands them). */
    const taintedVars = (job: Job) => {
      let t = taintCache.get(job.name);
      if (t) return t;
      t = new Map();
      taintCache.set(job.name, t);
      // Only a value that references a variable can carry an attacker's text (most jobs: none).
      let refs = false;
      for (const def of job.variables.values()) {
        if (def.expand && /[$%]/.test(def.value)) {
          refs = true;
          break;
        }
      }
      if (!refs) return t;
      for (let pass = 0; pass < 3; pass++) {
        for (const def of job.variables.values()) {
          if (!def.expand || t.has(def.name) || ATTACKER_VARIABLES[def.name]) continue;
          const src = varRefs(def.value).find((r) => ATTACKER_VARIABLES[r.name] || t.has(r.name));
          if (src) t.set(def.name, { def, source: ATTACKER_VARIABLES[src.name] ? src.name : t.get(src.name)!.source });
        }
      }
      return t;
    };
    const describe = (job: Job, name: string): { text: string; related?: RelatedLocation[] } => {
      if (ATTACKER_VARIABLES[name]) return { text: `$${name} (${ATTACKER_VARIABLES[name]}, chosen by whoever pushes or opens the merge request)` };
      const t = taintedVars(job).get(name)!;
      const at = t.def.valueLoc;
      return {
        text: `$${name} (set from $${t.source}, ${ATTACKER_VARIABLES[t.source]}, in \`variables:\` at ${at.file}:${at.line})`,
        related: [{ location: at, message: `${name} takes its value from $${t.source}` }],
      };
    };
    /** Tainted, and attacker-controlled in some context where the job runs. */
    const isTainted = (job: Job) => (name: string) => {
      const source = ATTACKER_VARIABLES[name] ? name : taintedVars(job).get(name)?.source;
      if (!source) return false;
      const where = CONTROLLED_IN[source];
      if (!where) return true;
      const untrusted = ctx.trust(job).untrusted;
      return where.some((c) => untrusted.includes(c));
    };
    const report = (job: Job | undefined, at: SourceLocation, keyPath: string[], name: string, message: Pick<RuleReport, 'messageId' | 'data'>, related?: RelatedLocation[]) => {
      if (!once(at, name)) return;
      ctx.report({ at, job: job?.name, keyPath, discriminator: name, ...message, related });
    };
    return {
      include(inc) {
        const fields: { node: YNode | undefined; key: string }[] =
          inc.node.kind === 'map'
            ? ['local', 'remote', 'project', 'ref', 'component', 'template'].map((k) => ({ node: get(inc.node, k), key: k }))
            : [{ node: inc.node, key: inc.kind }];
        const file = inc.node.kind === 'map' ? get(inc.node, 'file') : undefined;
        for (const f of file?.kind === 'seq' ? file.items : file ? [file] : []) fields.push({ node: f, key: 'file' });
        for (const { node, key } of fields) {
          const value = str(node);
          if (!node || value === undefined) continue;
          for (const r of varRefs(value)) {
            const source = ATTACKER_VARIABLES[r.name];
            if (!source) continue;
            report(
              undefined,
              locateInScalar(ctx.pipeline, node.loc, value, r.index, r.length),
              ['include', key],
              r.name,
              { messageId: 'include', data: { key, name: r.name, source } },
            );
          }
        }
      },
      job(job) {
        for (const k of expandedKeywords(job)) {
          const value = String((k.node as { value: unknown }).value);
          for (const r of varRefs(value)) {
            if (!isTainted(job)(r.name)) continue;
            // `environment: review/$CI_COMMIT_REF_NAME`: a fixed namespace cannot reach `production`.
            if (k.label === 'environment:name' && value.slice(0, r.index).includes('/')) continue;
            const d = describe(job, r.name);
            report(
              job,
              locateInScalar(ctx.pipeline, k.node.loc, value, r.index, r.length),
              k.path,
              r.name,
              { messageId: 'keyword', data: { job: job.name, keyword: k.label, variable: d.text, what: k.label.replace(/:/g, ' ') } },
              d.related,
            );
          }
        }
      },
      scriptLine(line, job) {
        // Cheap pre-check before tokenising: most lines name no attacker-controlled variable.
        if (!line.text.includes('$') && !line.text.includes('%')) return;
        const tainted = isTainted(job);
        if (!varRefs.of(line).some((r) => tainted(r.name))) return;
        for (const h of findInjections(line.text, tainted)) {
          const d = describe(job, h.name);
          report(
            job,
            locateInScalar(ctx.pipeline, line.loc, line.text, h.index, h.length),
            scriptKeyPath(line),
            h.name,
            { messageId: 'script', data: { job: job.name, variable: d.text, sink: h.sink } },
            d.related,
          );
        }
      },
    };
  },
});
