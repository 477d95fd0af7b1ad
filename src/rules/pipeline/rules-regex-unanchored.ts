import { get, str } from '../../model/node.js';
import { parseExpression, type Expr } from '../../contexts/expression.js';
import { defineRule } from '../types.js';
import { credentialNames, jobUsesSecrets } from './_script-facts.js';
import { locateInScalar } from './_shell.js';

/** Ref names: a pattern on them must be anchored, or any branch/tag containing the text matches. */
const REF_VARIABLES = new Set([
  'CI_COMMIT_TAG', 'CI_COMMIT_BRANCH', 'CI_COMMIT_REF_NAME', 'CI_COMMIT_REF_SLUG', 'CI_MERGE_REQUEST_SOURCE_BRANCH_NAME',
  'CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME',
]);
/** Free text any pusher or MR author writes (`doc/ci/variables/predefined_variables.md`). */
const ATTACKER_TEXT = new Set([
  'CI_COMMIT_MESSAGE', 'CI_COMMIT_TITLE', 'CI_COMMIT_DESCRIPTION', 'CI_COMMIT_AUTHOR', 'CI_MERGE_REQUEST_TITLE', 'CI_MERGE_REQUEST_DESCRIPTION',
  'CI_COMMIT_TAG_MESSAGE', 'CI_MERGE_REQUEST_SOURCE_BRANCH_NAME', 'CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME',
]);

/** The top-level alternatives of a regex source (`|` outside groups and classes). */
export function alternatives(source: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inClass = false;
  let cur = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      cur += c + (source[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out;
}

/** Whether every alternative starts at the beginning of the text (`^`, `\A`, also inside a leading group). */
export function isStartAnchored(source: string): boolean {
  return alternatives(source).every((alt) => {
    const a = alt.replace(/^(\((\?:)?)+/, '');
    if (a.startsWith('^') || a.startsWith('\\A')) return true;
    // `(^v1|^v2)`: a leading group whose own alternatives are all anchored.
    const m = /^\((?:\?:)?(.*)\)$/.exec(alt);
    return !!m && m[1] !== alt && isStartAnchored(m[1]);
  });
}

export interface RegexGate {
  variable: string;
  kind: 'unanchored' | 'attacker-text';
  /** 1-based column of the reported token in the expression, and its text. */
  column: number;
  text: string;
}

/** Comparisons in an expression that a pusher or MR author can satisfy at will. */
export function weakGates(expr: Expr): RegexGate[] {
  const out: RegexGate[] = [];
  const walk = (e: Expr) => {
    if (e.kind === 'logic') {
      walk(e.left);
      walk(e.right);
      return;
    }
    if (e.kind === 'not') return; // a negated test only excludes
    if (e.kind !== 'compare' || (e.op !== '=~' && e.op !== '==')) return;
    const v = e.left.kind === 'variable' ? e.left : e.right.kind === 'variable' ? e.right : undefined;
    const other = v === e.left ? e.right : e.left;
    if (!v) return;
    if (ATTACKER_TEXT.has(v.name) && !REF_VARIABLES.has(v.name) && (other.kind === 'regex' || other.kind === 'string')) {
      // GitLab strings have no escapes: the token is the value in its quotes.
      const tok = other.kind === 'regex' ? other.text : `"${other.value}"`;
      out.push({ variable: v.name, kind: 'attacker-text', column: other.column, text: tok });
      return;
    }
    if (e.op === '=~' && REF_VARIABLES.has(v.name) && other.kind === 'regex' && !isStartAnchored(other.source)) {
      out.push({ variable: v.name, kind: 'unanchored', column: other.column, text: other.text });
    }
  };
  walk(expr);
  return out;
}

/**
 * `rules:if` decides which pipelines run a job. A pattern on a ref name without `^` matches any
 * branch or tag that merely contains it (`/v\d+/` matches `evil-v1`, which no `v*` protection
 * covers), and commit messages, MR titles and descriptions are written by whoever pushes
 * (`doc/ci/jobs/job_rules.md`, "Compare a variable to a regular expression": RE2 patterns are
 * unanchored unless they say otherwise). A deploy or secret-using job gated that way runs
 * whenever an attacker wants it to.
 */
export default defineRule({
  meta: {
    id: 'rules-regex-unanchored',
    kind: 'pipeline',
    title: '`rules:if` gates a deploy or secret-using job on an unanchored ref pattern or on attacker-written text',
    defaultSeverity: 'warning',
    principle: 'Trusted actions are gated on protected refs, not on names or text that anyone who pushes can choose.',
    fix: 'Anchor ref patterns at both ends (`$CI_COMMIT_TAG =~ /^v\\d+\\.\\d+\\.\\d+$/`) and protect the matching refs; gate on `$CI_COMMIT_REF_PROTECTED == "true"` or a protected branch, never on commit messages or MR titles.',
    messages: {
      unanchored: '`rules:{{i}}:if` of {{what}} matches `${{variable}}` against `{{text}}`, which is not anchored with `^`: any branch or tag that contains the text matches.',
      attackerText: '`rules:{{i}}:if` of {{what}} tests `${{variable}}`, which whoever pushes or opens the merge request writes: they decide when the job runs.',
    },
  },
  create(ctx) {
    const names = credentialNames(ctx.policy);
    const reported = new Set<string>();
    return {
      job(job) {
        const rules = get(job.node, 'rules');
        if (rules?.kind !== 'seq') return;
        const deploy = ctx.deploy(job);
        const secrets = deploy ? undefined : jobUsesSecrets(ctx, job, names);
        if (!deploy && !secrets) return;
        const what = deploy ? `deploy job \`${job.name}\`` : `job \`${job.name}\` (it uses ${secrets!.what})`;
        rules.items.forEach((r, i) => {
          if (r.kind !== 'map' || str(get(r, 'when')) === 'never') return;
          const ifNode = get(r, 'if');
          const text = str(ifNode);
          if (!ifNode || !text) return;
          const parsed = parseExpression(text);
          if (!parsed.ok) return;
          for (const g of weakGates(parsed.expr)) {
            const at = locateInScalar(ctx.pipeline, ifNode.loc, text, g.column - 1, g.text.length);
            const k = `${at.file}:${at.line}:${at.column}`;
            if (reported.has(k)) continue;
            reported.add(k);
            ctx.report({
              at,
              job: job.name,
              keyPath: ['rules', String(i), 'if'],
              discriminator: g.variable,
              ...(g.kind === 'unanchored' ? { messageId: 'unanchored', data: { i, what, variable: g.variable, text: g.text } } : { messageId: 'attackerText', data: { i, what, variable: g.variable } }),
            });
          }
        });
      },
    };
  },
});
