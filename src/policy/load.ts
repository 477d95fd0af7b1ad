import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { builtinPolicy } from './defaults.js';
import { PolicyError } from './errors.js';
import { mergeLayer, parseLayer, type RuleCatalogue } from './merge.js';
import type { Policy } from './types.js';

export interface LoadPolicyOptions extends RuleCatalogue {
  /** Policy directory; default `./policies` (missing → the built-in baseline). An explicitly
   *  given directory that does not exist is a PolicyError. */
  dir?: string;
  /** GitLab group path (`acme/platform/payments`): selects `teams/acme.yaml`,
   *  `teams/acme/platform.yaml`, `teams/acme/platform/payments.yaml`, in that order. */
  group?: string;
}

/** Policy files are written by administrators; anything this large is a mistake. */
const MAX_POLICY_BYTES = 1024 * 1024;

/** GitLab namespace path segment (letters, digits, `_`, `-`, `.`; not `.`/`..`). */
const GROUP_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Loads the effective policy: built-in baseline ← `default.yaml` ← `teams/<group>.yaml` ←
 * `teams/<group>/<subgroup>.yaml` … (most specific last). Synchronous; throws PolicyError
 * (file, line, column, key path) on any invalid file. A project's `.gitlab/tierguard.yml`
 * is NOT read here: see `applyProjectOverride`.
 */
export function loadPolicy(opts: LoadPolicyOptions = {}): Policy {
  const explicit = opts.dir !== undefined;
  const dir = normalize(opts.dir ?? './policies').replace(/[\\/]+$/, '') || '.';
  const segments = opts.group !== undefined ? groupSegments(opts.group) : [];

  let policy = builtinPolicy();
  const kind = statKind(dir);
  if (kind === 'missing') {
    if (explicit) throw PolicyError.at(dir, 0, 0, '', 'policy directory not found');
    return policy;
  }
  if (kind !== 'dir') throw PolicyError.at(dir, 0, 0, '', 'the policy path is not a directory');

  const sources: string[] = [];
  const def = findYaml(dir, 'default');
  if (def) {
    policy = applyFile(policy, def, opts);
    sources.push(def);
  } else {
    sources.push('<built-in>');
  }

  let teamDir: string | undefined = findDir(dir, 'teams');
  for (const segment of segments) {
    if (!teamDir) break;
    const file = findYaml(teamDir, segment);
    if (file) {
      policy = applyFile(policy, file, opts);
      sources.push(file);
    }
    teamDir = findDir(teamDir, segment);
  }
  policy.sources = sources;
  return policy;
}

/** Parses one more layer from text and merges it on top of `base` (which is not modified). */
export function layerPolicy(base: Policy, file: string, text: string, catalogue: RuleCatalogue = {}): Policy {
  const next = mergeLayer(base, parseLayer(file, text, catalogue), catalogue);
  next.sources = [...base.sources, file];
  return next;
}

function applyFile(base: Policy, file: string, catalogue: RuleCatalogue): Policy {
  return mergeLayer(base, parseLayer(file, readPolicyFile(file), catalogue), catalogue);
}

function readPolicyFile(file: string): string {
  let buf: Buffer;
  try {
    if (statSync(file).size > MAX_POLICY_BYTES) throw PolicyError.at(file, 0, 0, '', `policy file larger than ${MAX_POLICY_BYTES} bytes`);
    buf = readFileSync(file);
  } catch (e) {
    if (e instanceof PolicyError) throw e;
    throw PolicyError.at(file, 0, 0, '', `cannot read policy file: ${(e as Error).message}`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw PolicyError.at(file, 0, 0, '', 'policy file is not valid UTF-8');
  }
}

function groupSegments(group: string): string[] {
  const segments = group.replace(/^\/+|\/+$/g, '').split('/');
  for (const s of segments) {
    if (!GROUP_SEGMENT.test(s) || s === '.' || s === '..') {
      throw PolicyError.at('--group', 0, 0, '', `invalid GitLab group path ${JSON.stringify(group)} (segments of letters, digits, "_", "-", ".")`);
    }
  }
  return segments;
}

function statKind(p: string): 'missing' | 'dir' | 'other' {
  try {
    return statSync(p).isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * `name.yaml` in `dir`, matched case-insensitively (GitLab group paths are case-insensitive).
 * A `.yml` twin or two names differing only in case are errors, never silently skipped.
 */
function findYaml(dir: string, name: string): string | undefined {
  const want = name.toLowerCase();
  const all = entries(dir);
  const yml = all.find((e) => e.toLowerCase() === `${want}.yml`);
  if (yml) throw PolicyError.at(join(dir, yml), 0, 0, '', `policy files must end in ".yaml": rename to ${name}.yaml`);
  const hits = all.filter((e) => e.toLowerCase() === `${want}.yaml`);
  const [hit] = hits;
  if (hit === undefined) return undefined;
  if (hits.length > 1) throw PolicyError.at(join(dir, hit), 0, 0, '', `ambiguous policy files: ${hits.join(', ')} differ only in case`);
  const file = join(dir, hit);
  if (statKind(file) !== 'other') throw PolicyError.at(file, 0, 0, '', 'expected a policy file, found a directory');
  return file;
}

function findDir(dir: string, name: string): string | undefined {
  const want = name.toLowerCase();
  const hit = entries(dir).find((e) => e.toLowerCase() === want);
  if (!hit) return undefined;
  const p = join(dir, hit);
  return statKind(p) === 'dir' ? p : undefined;
}
