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
  return {
    registry,
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
