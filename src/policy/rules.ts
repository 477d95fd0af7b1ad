import type { RuleMeta } from '../findings/rule-meta.js';

/**
 * The findings the policy system reports itself. They have ids like every rule, so
 * `tierguard rules` lists them and a policy may re-rate them (`rules: { policy-exception-expired: error }`).
 */
export const policyRuleMetas: RuleMeta[] = [
  {
    id: 'policy-exception-expired',
    kind: 'pipeline',
    title: 'A policy exception has passed its expiry date',
    defaultSeverity: 'warning',
    principle: 'Exceptions are temporary decisions with an owner; an expired one must be renewed on purpose or removed, never linger.',
    fix: 'Fix the finding the exception covered and delete the exception, or renew it with a new `expires` date and reason.',
    messages: {
      expired: 'The exception for rule "{{rule}}" on {{target}} expired on {{expires}} and no longer applies; renew it with a new date or fix the finding.',
    },
  },
  {
    id: 'inline-ignore-blocking',
    kind: 'pipeline',
    title: 'An inline tierguard-ignore comment tries to silence a blocking rule',
    defaultSeverity: 'warning',
    principle: 'The merge request author controls the CI file, so comments in it may silence warnings only, never the gate itself.',
    fix: 'Fix the finding, or ask the policy owners for an exception (rule, job or file, reason, expiry) in the team policy.',
    messages: {
      blocking: 'A comment in the CI file cannot silence blocking rule {{rule}}: fix the finding, or ask for a policy exception.',
    },
  },
  {
    id: 'policy-project-override-rejected',
    kind: 'pipeline',
    title: 'A setting in the project policy file was refused',
    defaultSeverity: 'warning',
    principle: 'A project may tighten its policy or tune warnings, never weaken what its team policy blocks.',
    fix: 'Remove the refused setting from `.gitlab/tierguard.yml`, or ask the team policy owners to change the team policy.',
    messages: {
      rejected: 'Project policy setting ignored: {{reason}}.',
    },
  },
];
