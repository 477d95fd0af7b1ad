/**
 * Minimal Dockerfile and .dockerignore readers for the packaging tests (no Docker engine here).
 * Dockerfile: line continuations, comment lines (also inside continuations, as BuildKit
 * does), stages, global ARG defaults substituted into FROM. .dockerignore: moby's
 * patternmatcher rules — a path is excluded when it or a parent matches, the last matching
 * pattern wins, `!` re-includes.
 */

export interface Instruction {
  cmd: string; // upper case
  args: string; // raw argument text, continuations joined with a space
  line: number;
}

export interface Stage {
  index: number;
  name?: string;
  /** Image after ARG substitution. */
  image: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  globalArgs: Map<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.split(/\r?\n/);
  const instructions: Instruction[] = [];
  let buf = '';
  let startLine = 0;
  for (let i = 0; i < lines.length; i += 1) {
    const raw = lines[i];
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && !buf)) continue;
    if (!buf) startLine = i + 1;
    const cont = /\\\s*$/.test(raw);
    buf += (buf ? ' ' : '') + (cont ? raw.replace(/\\\s*$/, '') : raw).trim();
    if (!cont) {
      const m = /^(\S+)\s*([\s\S]*)$/.exec(buf);
      if (m) instructions.push({ cmd: m[1].toUpperCase(), args: m[2].trim(), line: startLine });
      buf = '';
    }
  }
  if (buf) throw new Error('Dockerfile ends inside a line continuation');

  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.cmd === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: cannot parse FROM ${ins.args}`);
      const image = m[1].replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, n: string) => globalArgs.get(n) ?? '');
      stages.push({ index: stages.length, name: m[2], image, instructions: [] });
    } else if (!stages.length) {
      if (ins.cmd !== 'ARG') throw new Error(`line ${ins.line}: ${ins.cmd} before the first FROM`);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.args);
      if (m) globalArgs.set(m[1], (m[2] ?? '').replace(/^"|"$/g, ''));
    } else {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** Splits an image reference into name, tag and digest. */
export function imageRef(image: string): { name: string; tag?: string; digest?: string } {
  const [withTag, digest] = image.split('@');
  const slash = withTag.lastIndexOf('/');
  const colon = withTag.lastIndexOf(':');
  if (colon > slash) return { name: withTag.slice(0, colon), tag: withTag.slice(colon + 1), digest };
  return { name: withTag, digest };
}

/** Parses `KEY=value KEY2="v 2"` (ENV/LABEL) into a map. */
export function parseKeyValues(args: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (const m of args.matchAll(re)) out.set(m[1], m[2].startsWith('"') ? JSON.parse(m[2]) : m[2]);
  return out;
}

/** `--from=x --chown=y src… dest` (shell form only; the Dockerfile uses no JSON-form COPY). */
export function parseCopy(args: string): { from?: string; sources: string[]; dest: string } {
  const parts = args.split(/\s+/);
  let from: string | undefined;
  const rest: string[] = [];
  for (const p of parts) {
    if (p.startsWith('--from=')) from = p.slice('--from='.length);
    else if (!p.startsWith('--')) rest.push(p);
  }
  const dest = rest.pop();
  if (!dest || !rest.length) throw new Error(`cannot parse COPY ${args}`);
  return { from, sources: rest, dest };
}

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        // `**/` matches any number of directories, including none.
        if (pattern[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Whether `.dockerignore` keeps `path` (relative, `/`-separated) out of the build context. */
export function isIgnored(dockerignore: string, path: string): boolean {
  const patterns = dockerignore
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const p = (negate ? l.slice(1) : l).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, re: globToRegExp(p) };
    });
  const segs = path.replace(/^\.\//, '').replace(/\/+$/, '').split('/');
  const candidates = segs.map((_, i) => segs.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const p of patterns) {
    if (candidates.some((c) => p.re.test(c))) ignored = !p.negate;
  }
  return ignored;
}
