import { posix } from 'node:path';

/**
 * Values that stand for a secret without being one: what people commit in place of a real
 * runner token (`REDACTED`, `${RUNNER_TOKEN}`, `<token>`, `xxxx`, Helm `{{ … }}` templates).
 */
export function isPlaceholder(value: string): boolean {
  const v = value.trim();
  return (
    v === '' ||
    /^_*REDACTED_*$/i.test(v) ||
    /^\[?MASKED\]?$/i.test(v) ||
    /^\$\{[^}]*\}$/.test(v) ||
    /^\$[A-Za-z_][A-Za-z0-9_]*$/.test(v) ||
    /^<[^>]*>$/.test(v) ||
    /^x{3,}$/i.test(v) ||
    /^\*{3,}$/.test(v) ||
    /^\.{3,}$/.test(v) ||
    /^\{\{.*\}\}$/s.test(v)
  );
}

/** GitLab token prefixes (runner authentication `glrt-`, router `glrtr-`, legacy registration `GR1348941`, PATs). */
export const TOKEN_PATTERN = /(?:\bglrtr?-|\bGR1348941|\bglpat-|\bgldt-|\bglcbt-)[A-Za-z0-9_.-]{8,}/;

export interface DockerVolume {
  /** Host path for a bind mount, volume name for a named volume, undefined for an anonymous one. */
  source?: string;
  kind: 'bind' | 'named' | 'anonymous';
  /** Path inside the container. */
  target: string;
}

/**
 * `[runners.docker] volumes` entries: `/container`, `/host:/container[:ro]`, `name:/container`
 * (the runner hands them to Docker as binds/volumes — gitlab-runner
 * `executors/docker/internal/volumes/manager.go`).
 */
export function parseDockerVolume(spec: string): DockerVolume {
  const [source = '', target] = spec.split(':');
  if (target === undefined) return { kind: 'anonymous', target: source };
  const bind = source.startsWith('/') || source.startsWith('~') || source.startsWith('.');
  return { source, kind: bind ? 'bind' : 'named', target };
}

function normalizePath(p: string): string {
  const n = posix.normalize(p.trim() || '/');
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/**
 * The denied path a host path exposes: the path itself, a path below it (`/etc/ssl` is under
 * `/etc`), or a parent directory that contains it (`/var/run` contains `docker.sock`).
 */
export function deniedHostPathHit(hostPath: string, denied: readonly string[]): string | undefined {
  const host = normalizePath(hostPath);
  for (const raw of denied) {
    const d = normalizePath(raw);
    if (host === d) return d;
    if (d !== '/' && host.startsWith(d + '/')) return d;
    if (d.startsWith(host === '/' ? '/' : host + '/')) return d;
  }
  return undefined;
}

/** Directory under (or equal to) one of `dirs`. */
export function isUnder(path: string, dirs: readonly string[]): boolean {
  const p = normalizePath(path);
  return dirs.some((d) => {
    const n = normalizePath(d);
    return p === n || p.startsWith(n === '/' ? '/' : n + '/');
  });
}

export function asStringList(v: unknown): string[] | undefined {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  return undefined;
}
