/**
 * Typed errors of the GitLab adapter. No error ever carries the request, its headers or the
 * token: messages are built from the route, the status and GitLab's `message`/`error` field,
 * and passed through `redact` before they are stored.
 */

export class GitLabError extends Error {
  override readonly name: string = 'GitLabError';
  /** HTTP status; 0 for network errors and timeouts. */
  readonly status: number;
  /** `METHOD /route/template`, e.g. `POST /projects/:id/statuses/:sha`. */
  readonly route: string;
  /**
   * True when the request may have been applied by GitLab even though no success answer came
   * back (timeout, connection reset, 5xx after the body was sent). Only meaningful for writes.
   */
  readonly ambiguous: boolean;
  /** True for failures worth retrying (5xx, 429, timeouts, network errors). */
  readonly transient: boolean;
  /** A 429's Retry-After (ms) that the adapter did not wait for itself: the queue waits at least this long. */
  readonly retryAfterMs?: number;
  /** GitLab's own words (already redacted), without the route and status `message` puts in front. */
  readonly detail: string;

  constructor(init: {
    status: number;
    route: string;
    message: string;
    ambiguous?: boolean;
    transient?: boolean;
    retryAfterMs?: number;
  }) {
    super(`${init.route} failed (${init.status === 0 ? 'no response' : init.status}): ${init.message}`);
    this.status = init.status;
    this.route = init.route;
    this.detail = init.message;
    this.ambiguous = init.ambiguous ?? false;
    this.transient = init.transient ?? false;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }
}

/**
 * GitLab refused an inline position (the line is not part of the MR diff: a 400 whose message
 * mentions `line_code`, see app/models/diff_note.rb and lib/api/discussions.rb). The caller
 * falls back to the summary note.
 */
export class PositionRejectedError extends GitLabError {
  override readonly name = 'PositionRejectedError';
  constructor(route: string, message: string) {
    super({ status: 400, route, message });
  }
}

/** 401/403/404 from GitLab: an answer about this token or resource; retrying cannot help. */
export function isPermanent(err: unknown): boolean {
  return err instanceof GitLabError && !err.transient && (err.status === 401 || err.status === 403 || err.status === 404);
}

/** Is this a transient GitLab failure (retry later may help)? */
export function isTransient(err: unknown): boolean {
  return err instanceof GitLabError && err.transient;
}

/** Replace every occurrence of the secret in a text (tokens never reach logs or errors). */
export function redact(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join('[REDACTED]');
}
