/**
 * A small renderer for the subset of Go templates + Sprig that the tierguard Helm chart uses.
 *
 * There is no `helm` binary on the development machine, so the chart tests render the
 * templates with this instead; CI additionally runs the real `helm lint` / `helm template`.
 * Semantics follow text/template and Helm where the chart depends on them:
 *   - `{{-` / `-}}` trim all adjacent whitespace (text/template "Text and spaces");
 *   - truthiness: false, 0, nil, "" and empty lists/maps are false;
 *   - a missing map key yields nil and prints as "" (Helm renders with missingkey=zero and
 *     strips "<no value>"), but reading a field of nil is an error, as in Go;
 *   - `include` renders a `define`d template (or a template file by path) to a string;
 *   - `toYaml` emits keys sorted (sigs.k8s.io/yaml goes through encoding/json) without the
 *     trailing newline (helm's `toYAML` trims it);
 *   - ranging over a map visits keys in sorted order.
 * Anything outside the subset (an unknown function, a `template` action, …) is an error, so the
 * chart cannot quietly drift beyond what these tests can check.
 */
import { createHash } from 'node:crypto';
import YAML from 'yaml';

export class TemplateError extends Error {}

// ---------------------------------------------------------------------------------------------
// Lexing: text and actions
// ---------------------------------------------------------------------------------------------

type Token = { kind: 'text'; text: string } | { kind: 'action'; src: string; line: number; file: string };

function lex(src: string, file: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let trimNext = false;
  while (pos < src.length) {
    const open = src.indexOf('{{', pos);
    let text = open === -1 ? src.slice(pos) : src.slice(pos, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open === -1) {
      if (text) tokens.push({ kind: 'text', text });
      break;
    }
    let start = open + 2;
    // "{{- " trims the preceding text; the marker needs a following space (text/template).
    if (/^-[ \t\r\n]/.test(src.slice(start, start + 2))) {
      text = text.replace(/\s+$/, '');
      start += 2;
    }
    if (text) tokens.push({ kind: 'text', text });
    const line = src.slice(0, open).split('\n').length;
    // Find the closing "}}" outside string literals and comments.
    let i = start;
    let inStr: string | null = null;
    let close = -1;
    while (i < src.length) {
      const c = src[i];
      if (inStr) {
        if (c === '\\' && inStr === '"') i += 2;
        else {
          if (c === inStr) inStr = null;
          i += 1;
        }
        continue;
      }
      if (c === '"' || c === '`') {
        inStr = c;
        i += 1;
        continue;
      }
      if (src.startsWith('/*', i)) {
        const end = src.indexOf('*/', i + 2);
        if (end === -1) throw new TemplateError(`${file}:${line}: unclosed comment`);
        i = end + 2;
        continue;
      }
      if (src.startsWith('}}', i)) {
        close = i;
        break;
      }
      i += 1;
    }
    if (close === -1) throw new TemplateError(`${file}:${line}: unclosed action`);
    let body = src.slice(start, close);
    if (/[ \t\r\n]-$/.test(body)) {
      body = body.slice(0, -2);
      trimNext = true;
    }
    tokens.push({ kind: 'action', src: body.trim(), line, file });
    pos = close + 2;
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------

type Expr =
  | { t: 'lit'; v: unknown }
  | { t: 'field'; base: 'dot' | 'root' | { var: string }; path: string[] }
  | { t: 'call'; fn: string; args: Expr[] }
  | { t: 'pipe'; cmds: Expr[] };

interface Pipeline {
  decl?: string[];
  expr: Expr;
}

type ExprToken =
  | { k: 'str'; v: string }
  | { k: 'num'; v: number }
  | { k: 'word'; v: string }
  | { k: 'field'; v: string }
  | { k: 'var'; v: string }
  | { k: 'op'; v: '(' | ')' | '|' | ':=' | '=' | ',' };

function tokenizeExpr(s: string, where: string): ExprToken[] {
  const out: ExprToken[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) {
      i += 1;
    } else if (s.startsWith('/*', i)) {
      const end = s.indexOf('*/', i + 2);
      i = end + 2;
    } else if (c === '"') {
      let j = i + 1;
      let v = '';
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\') {
          const e = s[j + 1];
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          j += 2;
        } else {
          v += s[j];
          j += 1;
        }
      }
      if (j >= s.length) throw new TemplateError(`${where}: unterminated string`);
      out.push({ k: 'str', v });
      i = j + 1;
    } else if (c === '`') {
      const j = s.indexOf('`', i + 1);
      if (j === -1) throw new TemplateError(`${where}: unterminated raw string`);
      out.push({ k: 'str', v: s.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '(' || c === ')' || c === '|' || c === ',') {
      out.push({ k: 'op', v: c });
      i += 1;
    } else if (s.startsWith(':=', i)) {
      out.push({ k: 'op', v: ':=' });
      i += 2;
    } else if (c === '=') {
      out.push({ k: 'op', v: '=' });
      i += 1;
    } else {
      const m = /^(?:\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*|\.(?:[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)?|-?\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*)/.exec(s.slice(i));
      if (!m) throw new TemplateError(`${where}: unexpected character ${JSON.stringify(c)} in ${JSON.stringify(s)}`);
      const w = m[0];
      if (w.startsWith('$')) out.push({ k: 'var', v: w });
      else if (w.startsWith('.')) out.push({ k: 'field', v: w });
      else if (/^-?\d/.test(w)) out.push({ k: 'num', v: Number(w) });
      else out.push({ k: 'word', v: w });
      i += w.length;
    }
  }
  return out;
}

const FUNCTIONS = new Set([
  'include', 'quote', 'default', 'toYaml', 'nindent', 'indent', 'b64enc', 'trunc', 'trimSuffix',
  'required', 'and', 'or', 'not', 'eq', 'ne', 'gt', 'fail', 'print', 'printf', 'sha256sum', 'toString', 'int',
]);

function parsePipeline(src: string, where: string): Pipeline {
  const toks = tokenizeExpr(src, where);
  let p = 0;
  let decl: string[] | undefined;
  // `$a, $b :=` or `$a :=`
  const assign = toks.findIndex((t) => t.k === 'op' && (t.v === ':=' || t.v === '='));
  if (assign !== -1) {
    decl = [];
    for (let i = 0; i < assign; i += 1) {
      const t = toks[i];
      if (t.k === 'var') decl.push(t.v);
      else if (!(t.k === 'op' && t.v === ',')) throw new TemplateError(`${where}: bad declaration in ${JSON.stringify(src)}`);
    }
    p = assign + 1;
  }

  function operand(): Expr {
    const t = toks[p];
    if (!t) throw new TemplateError(`${where}: missing operand in ${JSON.stringify(src)}`);
    p += 1;
    switch (t.k) {
      case 'str':
        return { t: 'lit', v: t.v };
      case 'num':
        return { t: 'lit', v: t.v };
      case 'field':
        return { t: 'field', base: 'dot', path: t.v === '.' ? [] : t.v.slice(1).split('.') };
      case 'var': {
        const [name, ...path] = t.v.split('.');
        return { t: 'field', base: name === '$' ? 'root' : { var: name }, path };
      }
      case 'word':
        if (t.v === 'true') return { t: 'lit', v: true };
        if (t.v === 'false') return { t: 'lit', v: false };
        if (t.v === 'nil') return { t: 'lit', v: null };
        if (!FUNCTIONS.has(t.v)) throw new TemplateError(`${where}: function "${t.v}" not defined (outside the renderer subset)`);
        return { t: 'call', fn: t.v, args: [] };
      case 'op':
        if (t.v === '(') {
          const e = pipe();
          const close = toks[p];
          if (!close || close.k !== 'op' || close.v !== ')') throw new TemplateError(`${where}: missing ")" in ${JSON.stringify(src)}`);
          p += 1;
          return e;
        }
        throw new TemplateError(`${where}: unexpected "${t.v}" in ${JSON.stringify(src)}`);
    }
  }

  function command(): Expr {
    const first = operand();
    const args: Expr[] = [];
    while (p < toks.length) {
      const t = toks[p];
      if (t.k === 'op' && (t.v === '|' || t.v === ')')) break;
      args.push(operand());
    }
    if (first.t === 'call') return { t: 'call', fn: first.fn, args };
    if (args.length) throw new TemplateError(`${where}: can't give argument to non-function in ${JSON.stringify(src)}`);
    return first;
  }

  function pipe(): Expr {
    const cmds = [command()];
    while (p < toks.length && toks[p].k === 'op' && (toks[p] as { v: string }).v === '|') {
      p += 1;
      const c = command();
      if (c.t !== 'call') throw new TemplateError(`${where}: non-function in pipeline ${JSON.stringify(src)}`);
      cmds.push(c);
    }
    return cmds.length === 1 ? cmds[0] : { t: 'pipe', cmds };
  }

  const expr = pipe();
  if (p !== toks.length) throw new TemplateError(`${where}: unexpected tokens in ${JSON.stringify(src)}`);
  return { decl, expr };
}

// ---------------------------------------------------------------------------------------------
// Template tree
// ---------------------------------------------------------------------------------------------

type Node =
  | { n: 'text'; text: string }
  | { n: 'out'; pipe: Pipeline; where: string }
  | { n: 'if' | 'with'; pipe: Pipeline; body: Node[]; else: Node[]; where: string }
  | { n: 'range'; pipe: Pipeline; body: Node[]; else: Node[]; where: string };

function parseTemplate(src: string, file: string, defines: Map<string, Node[]>): Node[] {
  const tokens = lex(src, file);
  let i = 0;

  // Parses until {{ end }} / {{ else }}; returns the nodes and the terminator.
  function block(topLevel: boolean): { nodes: Node[]; term: 'end' | 'else' | 'elseif' | 'eof'; rest?: string } {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const tok = tokens[i];
      i += 1;
      if (tok.kind === 'text') {
        nodes.push({ n: 'text', text: tok.text });
        continue;
      }
      const where = `${tok.file}:${tok.line}`;
      const a = tok.src;
      if (a === '' || (a.startsWith('/*') && a.endsWith('*/'))) continue;
      const kw = /^([a-z]+)\b\s*([\s\S]*)$/.exec(a);
      const word = kw?.[1];
      const rest = kw?.[2] ?? '';
      if (word === 'end') {
        if (topLevel) throw new TemplateError(`${where}: unexpected {{ end }}`);
        return { nodes, term: 'end' };
      }
      if (word === 'else') {
        if (topLevel) throw new TemplateError(`${where}: unexpected {{ else }}`);
        if (/^if\b/.test(rest)) return { nodes, term: 'elseif', rest: rest.slice(2).trim() };
        if (rest) throw new TemplateError(`${where}: unsupported else form ${JSON.stringify(a)}`);
        return { nodes, term: 'else' };
      }
      if (word === 'if' || word === 'with' || word === 'range') {
        nodes.push(control(word, rest, where));
        continue;
      }
      if (word === 'define') {
        const m = /^"([^"]+)"$/.exec(rest);
        if (!m) throw new TemplateError(`${where}: bad define ${JSON.stringify(a)}`);
        const body = block(false);
        if (body.term !== 'end') throw new TemplateError(`${where}: define without end`);
        defines.set(m[1], body.nodes);
        continue;
      }
      if (word === 'template' || word === 'block' || word === 'break' || word === 'continue') {
        throw new TemplateError(`${where}: "${word}" is outside the renderer subset; use include`);
      }
      nodes.push({ n: 'out', pipe: parsePipeline(a, where), where });
    }
    if (!topLevel) throw new TemplateError(`${file}: unexpected end of template (missing {{ end }})`);
    return { nodes, term: 'eof' };
  }

  function control(word: 'if' | 'with' | 'range', cond: string, where: string): Node {
    const pipe = parsePipeline(cond, where);
    const body = block(false);
    let elseNodes: Node[] = [];
    if (body.term === 'else') {
      const e = block(false);
      if (e.term !== 'end') throw new TemplateError(`${where}: else without end`);
      elseNodes = e.nodes;
    } else if (body.term === 'elseif') {
      if (word !== 'if') throw new TemplateError(`${where}: else if inside ${word}`);
      // `{{ else if x }}…{{ end }}` is `{{ else }}{{ if x }}…{{ end }}{{ end }}` with one end.
      elseNodes = [control('if', body.rest ?? '', where)];
    } else if (body.term !== 'end') {
      throw new TemplateError(`${where}: ${word} without end`);
    }
    return { n: word, pipe, body: body.nodes, else: elseNodes, where } as Node;
  }

  return block(true).nodes;
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function toText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  // Go prints maps as map[k:v]: a template that does this is a bug in the chart.
  throw new TemplateError(`cannot print a ${Array.isArray(v) ? 'list' : 'map'} directly; use toYaml`);
}

export function toYaml(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  const s = YAML.stringify(v, { sortMapEntries: true, lineWidth: 0 });
  return s.replace(/\n$/, '');
}

function indentText(n: number, s: string): string {
  const pad = ' '.repeat(n);
  return pad + s.replace(/\n/g, `\n${pad}`);
}

interface Scope {
  dot: unknown;
  root: unknown;
  vars: Map<string, unknown>;
}

export class Renderer {
  private readonly defines = new Map<string, Node[]>();
  private readonly files = new Map<string, Node[]>();

  /** Adds a template file (path like `tierguard/templates/deployment.yaml`); its defines are registered. */
  addFile(path: string, src: string): void {
    this.files.set(path, parseTemplate(src, path, this.defines));
  }

  renderFile(path: string, data: unknown): string {
    const nodes = this.files.get(path);
    if (!nodes) throw new TemplateError(`no template file ${path}`);
    return this.exec(nodes, { dot: data, root: data, vars: new Map([['$', data]]) });
  }

  include(name: string, data: unknown): string {
    const nodes = this.defines.get(name) ?? this.files.get(name);
    if (!nodes) throw new TemplateError(`no template "${name}" associated with template`);
    return this.exec(nodes, { dot: data, root: data, vars: new Map([['$', data]]) });
  }

  private exec(nodes: Node[], scope: Scope): string {
    let out = '';
    for (const node of nodes) {
      switch (node.n) {
        case 'text':
          out += node.text;
          break;
        case 'out': {
          const v = this.evalPipe(node.pipe, scope, node.where);
          if (!node.pipe.decl) out += toText(v);
          break;
        }
        case 'if': {
          const v = this.eval(node.pipe.expr, scope, node.where);
          out += this.exec(truthy(v) ? node.body : node.else, { ...scope, vars: new Map(scope.vars) });
          break;
        }
        case 'with': {
          const v = this.eval(node.pipe.expr, scope, node.where);
          out += truthy(v)
            ? this.exec(node.body, { ...scope, dot: v, vars: new Map(scope.vars) })
            : this.exec(node.else, { ...scope, vars: new Map(scope.vars) });
          break;
        }
        case 'range': {
          const v = this.eval(node.pipe.expr, scope, node.where);
          const entries: Array<[unknown, unknown]> = Array.isArray(v)
            ? v.map((x, i) => [i, x])
            : v && typeof v === 'object'
              ? Object.keys(v as object).sort().map((k) => [k, (v as Record<string, unknown>)[k]])
              : [];
          if (v !== null && v !== undefined && typeof v !== 'object') {
            throw new TemplateError(`${node.where}: range can't iterate over ${String(v)}`);
          }
          if (!entries.length) {
            out += this.exec(node.else, { ...scope, vars: new Map(scope.vars) });
            break;
          }
          const decl = node.pipe.decl ?? [];
          for (const [k, x] of entries) {
            const vars = new Map(scope.vars);
            if (decl.length === 1) vars.set(decl[0], x);
            if (decl.length === 2) {
              vars.set(decl[0], k);
              vars.set(decl[1], x);
            }
            out += this.exec(node.body, { ...scope, dot: x, vars });
          }
          break;
        }
      }
    }
    return out;
  }

  private evalPipe(p: Pipeline, scope: Scope, where: string): unknown {
    const v = this.eval(p.expr, scope, where);
    if (p.decl) {
      if (p.decl.length !== 1) throw new TemplateError(`${where}: only "$x := …" outside range`);
      scope.vars.set(p.decl[0], v);
    }
    return v;
  }

  private eval(e: Expr, scope: Scope, where: string, piped?: { v: unknown }): unknown {
    switch (e.t) {
      case 'lit':
        return e.v;
      case 'field': {
        let cur: unknown;
        let label: string;
        if (e.base === 'dot') {
          cur = scope.dot;
          label = '';
        } else if (e.base === 'root') {
          cur = scope.root;
          label = '$';
        } else {
          if (!scope.vars.has(e.base.var)) throw new TemplateError(`${where}: undefined variable "${e.base.var}"`);
          cur = scope.vars.get(e.base.var);
          label = e.base.var;
        }
        for (const key of e.path) {
          if (cur === null || cur === undefined) {
            throw new TemplateError(`${where}: nil pointer evaluating ${label}.${key}`);
          }
          if (typeof cur !== 'object' || Array.isArray(cur)) {
            throw new TemplateError(`${where}: can't evaluate field ${key} in ${label}`);
          }
          cur = (cur as Record<string, unknown>)[key];
          label += `.${key}`;
        }
        return cur === undefined ? null : cur;
      }
      case 'pipe': {
        let v: { v: unknown } | undefined;
        for (const c of e.cmds) v = { v: this.eval(c, scope, where, v) };
        return v?.v;
      }
      case 'call': {
        const args = e.args.map((a) => this.eval(a, scope, where));
        if (piped) args.push(piped.v);
        return this.call(e.fn, args, where);
      }
    }
  }

  private call(fn: string, a: unknown[], where: string): unknown {
    const need = (n: number): void => {
      if (a.length !== n) throw new TemplateError(`${where}: wrong number of args for ${fn}: want ${n} got ${a.length}`);
    };
    const str = (v: unknown): string => (typeof v === 'string' ? v : toText(v));
    const num = (v: unknown): number => {
      if (typeof v !== 'number') throw new TemplateError(`${where}: ${fn}: expected a number, got ${JSON.stringify(v)}`);
      return v;
    };
    switch (fn) {
      case 'include':
        need(2);
        return this.include(str(a[0]), a[1]);
      case 'quote':
        return a.map((v) => JSON.stringify(v === null || v === undefined ? '' : str(v))).join(' ');
      case 'default':
        need(2);
        return truthy(a[1]) ? a[1] : a[0];
      case 'toYaml':
        need(1);
        return toYaml(a[0]);
      case 'nindent':
        need(2);
        return `\n${indentText(num(a[0]), str(a[1]))}`;
      case 'indent':
        need(2);
        return indentText(num(a[0]), str(a[1]));
      case 'b64enc':
        need(1);
        return Buffer.from(str(a[0]), 'utf8').toString('base64');
      case 'trunc':
        need(2);
        return str(a[1]).slice(0, num(a[0]));
      case 'trimSuffix': {
        need(2);
        const s = str(a[1]);
        const suf = str(a[0]);
        return suf && s.endsWith(suf) ? s.slice(0, -suf.length) : s;
      }
      case 'required':
        need(2);
        if (a[1] === null || a[1] === undefined || a[1] === '') throw new TemplateError(`execution error at (${where}): ${str(a[0])}`);
        return a[1];
      case 'fail':
        need(1);
        throw new TemplateError(`execution error at (${where}): ${str(a[0])}`);
      case 'and': {
        for (const v of a) if (!truthy(v)) return v;
        return a[a.length - 1];
      }
      case 'or': {
        for (const v of a) if (truthy(v)) return v;
        return a[a.length - 1];
      }
      case 'not':
        need(1);
        return !truthy(a[0]);
      case 'eq':
        if (a.length < 2) throw new TemplateError(`${where}: eq needs two arguments`);
        return a.slice(1).some((v) => v === a[0]);
      case 'ne':
        need(2);
        return a[0] !== a[1];
      case 'gt':
        need(2);
        return num(a[0]) > num(a[1]);
      case 'print':
        return a.map(str).join('');
      case 'printf': {
        const [format, ...rest] = a;
        let k = 0;
        return str(format).replace(/%[sdv%]/g, (m) => (m === '%%' ? '%' : str(rest[k++])));
      }
      case 'sha256sum':
        need(1);
        return createHash('sha256').update(str(a[0])).digest('hex');
      case 'int': {
        need(1);
        // Sprig's toInt (cast.ToInt): values from YAML are float64 in Helm, --set gives int64.
        const n = typeof a[0] === 'string' ? Number.parseInt(a[0], 10) : Number(a[0] ?? 0);
        return Number.isFinite(n) ? Math.trunc(n) : 0;
      }
      case 'toString':
        need(1);
        return str(a[0]);
      default:
        throw new TemplateError(`${where}: function "${fn}" not defined`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Chart loading: values merge and rendering of every template like `helm template`
// ---------------------------------------------------------------------------------------------

export interface ChartMeta {
  name: string;
  version: string;
  appVersion?: string;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Helm's values coalescing: maps merge deeply, everything else (lists too) is replaced; null deletes. */
export function mergeValues(base: unknown, over: unknown): unknown {
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = mergeValues(base[k], v);
  }
  return out;
}

export interface RenderOptions {
  releaseName?: string;
  namespace?: string;
}

/**
 * Renders every file in `templates` (name → source) like `helm template`: files starting
 * with `_` only contribute defines, NOTES.txt is rendered as text. Returns name → output.
 */
export function renderChart(
  chart: ChartMeta,
  templates: Record<string, string>,
  values: unknown,
  opts: RenderOptions = {},
): Record<string, string> {
  const r = new Renderer();
  const base = `${chart.name}/templates`;
  // Helpers first, so their defines exist whichever order the files come in.
  const names = Object.keys(templates).sort((x, y) => Number(!x.startsWith('_')) - Number(!y.startsWith('_')) || x.localeCompare(y));
  for (const name of names) r.addFile(`${base}/${name}`, templates[name]);
  const data = {
    Values: values,
    Release: { Name: opts.releaseName ?? 'tg', Namespace: opts.namespace ?? 'ci', Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion ?? '' },
    Template: { BasePath: base, Name: '' },
  };
  const out: Record<string, string> = {};
  for (const name of names) {
    if (name.startsWith('_')) continue;
    out[name] = r.renderFile(`${base}/${name}`, { ...data, Template: { ...data.Template, Name: `${base}/${name}` } });
  }
  return out;
}
