/** Prometheus metrics (prom-client), one Registry per app so tests never share counters. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  webhookEvents: Counter<'event' | 'result'>;
  evaluations: Counter<'result'>;
  findings: Counter<'severity'>;
  gitlabCalls: Counter<'route' | 'status'>;
  gitlabCallDuration: Histogram<'route'>;
  evaluationDuration: Histogram<'result'>;
  queueDepth: Gauge;
  /** Review attempts that failed and will be tried again, by failure kind (transient, other). */
  reviewsRetried: Counter<'kind'>;
  /** Reviews given up (one `failed` status each), by failure kind (transient, permanent, other). */
  reviewsAbandoned: Counter<'kind'>;
  /** Catch-up passes by result (ok, error). */
  reconcilePasses: Counter<'result'>;
  /** MRs without a final status that a catch-up pass queued for review. */
  reconcileCaughtUp: Counter;
  /** Findings kept out of inline discussions by the per-MR budget (listed in the summary instead). */
  findingsOverBudget: Counter;
  /** For createGitLabApi({ onCall }). */
  onGitLabCall(route: string, status: number, ms: number): void;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const webhookEvents = new Counter({
    name: 'tierguard_webhook_events_total',
    help: 'Webhook deliveries by event and result (queued, ignored, duplicate, unauthorized, invalid)',
    labelNames: ['event', 'result'] as const,
    registers: [registry],
  });
  const evaluations = new Counter({
    name: 'tierguard_evaluations_total',
    help: 'MR evaluations by result (success, failed, skipped, no_ci_changes, error)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const findings = new Counter({
    name: 'tierguard_findings_total',
    help: 'Findings reported at MR heads by severity',
    labelNames: ['severity'] as const,
    registers: [registry],
  });
  const gitlabCalls = new Counter({
    name: 'tierguard_gitlab_calls_total',
    help: 'GitLab API HTTP attempts by route and status (0: no response)',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const gitlabCallDuration = new Histogram({
    name: 'tierguard_gitlab_call_duration_seconds',
    help: 'GitLab API HTTP attempt latency',
    labelNames: ['route'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const evaluationDuration = new Histogram({
    name: 'tierguard_evaluation_duration_seconds',
    help: 'Time to review one MR job, end to end',
    labelNames: ['result'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: 'tierguard_queue_depth',
    help: 'Jobs waiting or running in the work queue',
    registers: [registry],
  });
  const reviewsRetried = new Counter({
    name: 'tierguard_reviews_retried_total',
    help: 'Review attempts that failed and are tried again, by failure kind (transient: GitLab 5xx/429/timeouts; other)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const reviewsAbandoned = new Counter({
    name: 'tierguard_reviews_abandoned_total',
    help: 'Reviews given up after their last attempt (the MR status says so), by failure kind (transient, permanent, other)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const reconcilePasses = new Counter({
    name: 'tierguard_reconcile_passes_total',
    help: 'Catch-up passes over open merge requests, by result (ok, error)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const reconcileCaughtUp = new Counter({
    name: 'tierguard_reconcile_caught_up_total',
    help: 'Open merge requests without a final tierguard status queued for review by the catch-up',
    registers: [registry],
  });
  const findingsOverBudget = new Counter({
    name: 'tierguard_findings_over_budget_total',
    help: 'Findings kept out of inline discussions by review.maxInlineDiscussions (listed in the summary instead)',
    registers: [registry],
  });
  return {
    registry,
    reviewsRetried,
    reviewsAbandoned,
    reconcilePasses,
    reconcileCaughtUp,
    findingsOverBudget,
    webhookEvents,
    evaluations,
    findings,
    gitlabCalls,
    gitlabCallDuration,
    evaluationDuration,
    queueDepth,
    onGitLabCall(route, status, ms) {
      gitlabCalls.inc({ route, status: String(status) });
      gitlabCallDuration.observe({ route }, ms / 1000);
    },
  };
}
