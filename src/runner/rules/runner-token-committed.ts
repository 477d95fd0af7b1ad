import type { KeyPath } from '../positions.js';
import type { RuleReport } from '../../findings/finding.js';
import { describeRunner, isTable, type RunnerRule, type RunnerRuleContext } from '../model.js';
import { isPlaceholder, TOKEN_PATTERN } from '../util.js';

/** Keys under `[[runners]]` that hold credentials (gitlab-runner `common/config.go`). */
const SECRET_KEYS: { path: string[]; what: string }[] = [
  { path: ['token'], what: 'runner authentication token' },
  { path: ['kubernetes', 'bearer_token'], what: 'Kubernetes bearer token' },
  { path: ['cache', 's3', 'SecretKey'], what: 'S3 cache secret key' },
  { path: ['cache', 'gcs', 'PrivateKey'], what: 'GCS cache private key' },
  { path: ['cache', 'azure', 'AccountKey'], what: 'Azure cache account key' },
];

/** Top-level keys of gitlab-runner Helm chart values that hold tokens. */
const HELM_SECRET_KEYS: { key: string; what: string }[] = [
  { key: 'runnerToken', what: 'runner authentication token (`runnerToken`)' },
  { key: 'runnerRegistrationToken', what: 'runner registration token (`runnerRegistrationToken`)' },
];

/**
 * A literal runner token (or other credential) committed with the runner configuration. The
 * value is never put in the message; its range is registered as a secret so every output
 * masks it.
 */
export const runnerTokenCommitted: RunnerRule = {
  meta: {
    id: 'runner-token-committed',
    kind: 'runner',
    title: 'Runner token committed to the repository',
    defaultSeverity: 'error',
    principle:
      'A runner token lets anyone who reads the repository register as that runner and receive its jobs, with their CI/CD variables and deploy credentials.',
    fix: 'Remove the value (use `REDACTED` or a `${RUNNER_TOKEN}` reference filled in at deploy time, or the Helm chart `runners.secret`), then revoke the token in GitLab and create a new one: it is in the git history.',
    messages: {
      literal: '{{runner}} has a literal {{what}} in `{{key}}`: everyone who can read this file has it; load it from a secret (value masked).',
      helm: 'Helm values hold a literal {{what}}: everyone who can read this file has it; use an existing Kubernetes Secret (value masked).',
    },
  },
  check(runner, ctx) {
    const done = new Set<string>();
    for (const { path, what } of SECRET_KEYS) {
      const v = ctx.get(path);
      if (typeof v !== 'string' || isPlaceholder(v)) continue;
      done.add(path.join('.'));
      report(ctx, path, { messageId: 'literal', data: { runner: describeRunner(runner), what, key: path.join('.') } });
    }
    // Any other string under the runner that carries a GitLab token prefix.
    const walk = (value: unknown, path: (string | number)[]): void => {
      if (typeof value === 'string') {
        if (!done.has(path.join('.')) && TOKEN_PATTERN.test(value)) {
          report(ctx, path, { messageId: 'literal', data: { runner: describeRunner(runner), what: 'GitLab token', key: path.join('.') } });
        }
      } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]));
      else if (isTable(value)) for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    };
    walk(runner.table, []);
  },
  checkFile(doc, ctx) {
    for (const { key, what } of HELM_SECRET_KEYS) {
      const entry = doc.helmValues?.get(key);
      if (!entry || typeof entry.value !== 'string' || isPlaceholder(entry.value)) continue;
      ctx.report({
        at: entry.valueLoc,
        secret: entry.innerLoc ?? entry.valueLoc,
        keyPath: [key],
        messageId: 'helm', data: { what },
      });
    }
  },
};

function report(ctx: RunnerRuleContext, path: KeyPath, message: Pick<RuleReport, 'messageId' | 'data'>): void {
  const strPath = path.map(String);
  ctx.report({ at: ctx.at(path), secret: ctx.at(path, 'inner'), keyPath: strPath, ...message });
}
