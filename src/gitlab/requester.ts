/**
 * The HTTP layer under @gitbeaker/rest. gitbeaker's own requester (packages/rest/src/index.ts
 * `defaultRequestHandler`) retries 429/502 ten times with a 0.25–128 ms backoff, ignores
 * Retry-After, does not retry 500 or timeouts, and shares one AbortSignal.timeout across all
 * pages of a list. `new Gitlab({ requesterFn })` replaces it entirely (createPresetConstructor
 * spreads the caller's config over the preset), so this module owns: per-attempt timeouts,
 * backoff with full jitter on 5xx/timeouts/network errors, Retry-After on 429, no blind retry
 * of non-idempotent creates, same-origin only (no redirects, no foreign `Link: rel="next"`),
 * typed errors without the token, and a metrics hook per attempt.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { GitLabError, redact } from './errors.js';
import { backoffMs, parseRetryAfter, type RetryOptions } from './retry.js';

/**
 * read: GET. write: a write that is safe to repeat (PUT, commit status, status-check answer).
 * create: a POST that creates a note or discussion — a repeat would duplicate it, so a failure
 * after the request may have reached GitLab is thrown as `ambiguous` instead of retried.
 */
export type CallKind = 'read' | 'write' | 'create';

export interface CallContext {
  route: string;
  kind: CallKind;
  /** Return the body as text whatever its content type (raw repository files). */
  rawText?: boolean;
}

/** Carries the route template and call kind from the adapter method down to each request. */
export const callContext = new AsyncLocalStorage<CallContext>();

/** pino-compatible subset. */
export interface GitLabLogger {
  warn(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface RequesterSettings {
  origin: string;
  token: string;
  timeoutMs: number;
  retry: Required<RetryOptions>;
  logger?: GitLabLogger;
  onCall?: (route: string, status: number, ms: number) => void;
  /** Awaited before every attempt: a limiter shared by every client of one run (audit). */
  throttle?: () => Promise<void>;
  /** Told the wait GitLab asked for on a 429 (Retry-After), so a shared limiter pauses everyone. */
  onRateLimit?: (delayMs: number) => void;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

/** The part of gitbeaker's ResourceOptions the requester reads. */
interface ServiceOptionsLike {
  url: string;
  headers?: Record<string, string>;
  authHeaders?: Record<string, () => Promise<string>>;
}

export interface RequestOptionsLike {
  body?: unknown;
  searchParams?: Record<string, unknown>;
  sudo?: string | number;
}

export interface FormattedResponse {
  body: unknown;
  headers: Record<string, string>;
  status: number;
}


type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Requester = Record<Method, (endpoint: string, options?: RequestOptionsLike) => Promise<FormattedResponse>>;

export function createRequesterFn(settings: RequesterSettings): (service: ServiceOptionsLike) => Requester {
  return (service) => {
    const method =
      (m: Method): Requester[Method] =>
      (endpoint, options) =>
        performRequest(settings, service, m.toUpperCase(), endpoint, options ?? {});
    return { get: method('get'), post: method('post'), put: method('put'), patch: method('patch'), delete: method('delete') };
  };
}

function decamelizeKey(key: string): string {
  return key.replace(/([a-z\d])([A-Z])/g, '$1_$2').toLowerCase();
}

function decamelizeDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decamelizeDeep);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [decamelizeKey(k), decamelizeDeep(v)]));
  }
  return value;
}

/** Rails-style query string (`a[]=1`, `a[b]=1`), like gitbeaker's qs `arrayFormat: brackets`. */
function formatQuery(params: Record<string, unknown>): string {
  const out = new URLSearchParams();
  const add = (key: string, v: unknown): void => {
    if (v === undefined || v === null) return;
    if (Array.isArray(v)) {
      for (const item of v) add(`${key}[]`, item);
    } else if (typeof v === 'object') {
      for (const [k, sub] of Object.entries(v)) add(`${key}[${decamelizeKey(k)}]`, sub);
    } else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') {
      out.append(key, String(v));
    }
  };
  for (const [k, v] of Object.entries(params)) add(decamelizeKey(k), v);
  return out.toString();
}

function describeNetworkError(err: unknown): { timeout: boolean; notSent: boolean; text: string } {
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } } | null | undefined;
  const timeout = e?.name === 'TimeoutError' || e?.name === 'AbortError';
  const code = e?.cause?.code ?? e?.code;
  // The connection was never established: GitLab cannot have seen the request.
  const notSent = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
  const text = timeout ? 'timed out' : `network error${code ? ` ${code}` : ''}: ${e?.cause?.message ?? e?.message ?? String(err)}`;
  return { timeout, notSent, text };
}

/** GitLab error bodies: `{"message": "..."}` or `{"message": {...}}` or `{"error": "..."}`. */
function errorMessageOf(text: string, contentType: string): string {
  if (contentType.includes('json')) {
    try {
      const parsed = JSON.parse(text) as { message?: unknown; error?: unknown } | null;
      const m = parsed?.message ?? parsed?.error;
      if (typeof m === 'string') return m;
      if (m !== undefined) return JSON.stringify(m);
    } catch {
      /* fall through to the raw text */
    }
  }
  const t = text.trim();
  return t.length > 300 ? `${t.slice(0, 300)}…` : t || '(empty body)';
}

function sameOriginNext(link: string | undefined, origin: string): boolean | null {
  if (!link) return null;
  const m = /<([^>]+)>;\s*rel="next"/.exec(link);
  if (!m) return null;
  try {
    return new URL(m[1]!).origin === origin;
  } catch {
    return false;
  }
}

async function performRequest(
  s: RequesterSettings,
  service: ServiceOptionsLike,
  method: string,
  endpoint: string,
  options: RequestOptionsLike,
): Promise<FormattedResponse> {
  const ctx = callContext.getStore() ?? { route: `${method} ${endpoint.split('?')[0]}`, kind: method === 'GET' ? 'read' : 'create' };
  const route = ctx.route;
  const base = service.url.endsWith('/') ? service.url : `${service.url}/`;
  const url = new URL(endpoint, base);
  // The token is only ever sent to the configured origin.
  if (url.origin !== s.origin) {
    throw new GitLabError({ status: 0, route, message: `refusing to send a request to another origin (${url.origin})` });
  }
  if (options.searchParams && Object.keys(options.searchParams).length > 0) {
    url.search = formatQuery(options.searchParams);
  }
  const headers: Record<string, string> = { accept: 'application/json', ...(service.headers ?? {}) };
  if (options.sudo !== undefined) headers.sudo = String(options.sudo);
  for (const [name, fn] of Object.entries(service.authHeaders ?? {})) headers[name] = await fn();
  let body: string | FormData | undefined;
  if (options.body instanceof FormData) {
    body = options.body;
  } else if (options.body !== undefined && options.body !== null && method !== 'GET') {
    body = JSON.stringify(decamelizeDeep(options.body));
    headers['content-type'] = 'application/json';
  }

  const fail = (init: ConstructorParameters<typeof GitLabError>[0]): GitLabError =>
    new GitLabError({ ...init, message: redact(init.message, s.token) });

  for (let attempt = 0; ; attempt += 1) {
    if (s.throttle) await s.throttle();
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body,
        // A redirect would carry PRIVATE-TOKEN to wherever it points (fetch only strips
        // `Authorization` on cross-origin redirects): never follow.
        redirect: 'manual',
        signal: AbortSignal.timeout(s.timeoutMs),
      });
    } catch (err) {
      s.onCall?.(route, 0, performance.now() - started);
      const { timeout, notSent, text } = describeNetworkError(err);
      const message = timeout ? `timed out after ${s.timeoutMs} ms` : text;
      const ambiguous = ctx.kind === 'create' && !notSent;
      const error = fail({ status: 0, route, message, ambiguous, transient: true });
      if (ambiguous || attempt >= s.retry.retries) throw error;
      const delay = backoffMs(attempt, s.retry, s.random);
      s.logger?.warn({ route, attempt: attempt + 1, delayMs: delay, error: error.message }, 'GitLab request failed; retrying');
      await s.sleep(delay);
      continue;
    }

    const status = res.status;
    const contentType = (res.headers.get('content-type') ?? '').toLowerCase();
    let text: string;
    try {
      text = status === 204 ? '' : await res.text();
    } catch (err) {
      s.onCall?.(route, 0, performance.now() - started);
      const error = fail({ status: 0, route, message: describeNetworkError(err).text, ambiguous: ctx.kind === 'create', transient: true });
      if (error.ambiguous || attempt >= s.retry.retries) throw error;
      await s.sleep(backoffMs(attempt, s.retry, s.random));
      continue;
    }
    s.onCall?.(route, status, performance.now() - started);

    if (status >= 200 && status < 300) {
      const responseHeaders = Object.fromEntries(res.headers.entries());
      if (sameOriginNext(responseHeaders.link, s.origin) === false) {
        // gitbeaker would follow it (re-using only its query string); we stop instead.
        s.logger?.warn({ route }, 'GitLab pagination link points to another origin; not following it');
        delete responseHeaders.link;
      }
      let parsed: unknown = text;
      if (status === 204 || text === '') parsed = contentType.includes('json') ? {} : '';
      else if (ctx.rawText) parsed = text;
      else if (contentType.includes('application/json')) {
        try {
          parsed = JSON.parse(text);
        } catch {
          throw fail({ status, route, message: 'response is not valid JSON' });
        }
      }
      return { body: parsed, headers: responseHeaders, status };
    }

    if (status >= 300 && status < 400) {
      throw fail({ status, route, message: 'unexpected redirect (not followed)' });
    }

    const message = errorMessageOf(text, contentType);
    if (status === 429) {
      // Rejected by the rate limiter before any processing: safe to repeat, even a create.
      const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
      const error = fail({ status, route, message, transient: true, ...(retryAfter !== null ? { retryAfterMs: retryAfter } : {}) });
      if (attempt >= s.retry.retries) throw error;
      if (retryAfter !== null && retryAfter > s.retry.maxRetryAfterMs) throw error;
      const delay = retryAfter ?? Math.max(s.retry.baseMs, backoffMs(attempt, s.retry, s.random));
      s.onRateLimit?.(delay);
      s.logger?.warn({ route, status, attempt: attempt + 1, delayMs: delay }, 'GitLab rate limit; waiting');
      await s.sleep(delay);
      continue;
    }
    if (status >= 500) {
      const ambiguous = ctx.kind === 'create';
      const error = fail({ status, route, message, ambiguous, transient: true });
      if (ambiguous || attempt >= s.retry.retries) throw error;
      const delay = backoffMs(attempt, s.retry, s.random);
      s.logger?.warn({ route, status, attempt: attempt + 1, delayMs: delay }, 'GitLab server error; retrying');
      await s.sleep(delay);
      continue;
    }
    throw fail({ status, route, message });
  }
}
