/**
 * What both adapters (the review's `client.ts` and the audit's `org.ts`) do the same way: check
 * the instance URL once, and validate every response against its zod schema.
 */
import type { z } from 'zod';
import { GitLabError } from './errors.js';

/** The instance URL, checked: http(s) only. `label` names the setting in the message. */
export function gitlabBaseUrl(url: string, label: string): URL {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new Error(`${label} is not a valid URL: ${JSON.stringify(url)}`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error(`${label} must be http(s): ${base.protocol}`);
  return base;
}

/** A response checked against the fields tierguard uses; anything else is a GitLabError naming the field. */
export function validated<S extends z.ZodType>(route: string, schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(root)';
    throw new GitLabError({ status: 200, route, message: `unexpected response: ${where}: ${issue?.message ?? 'invalid'}` });
  }
  return parsed.data;
}
