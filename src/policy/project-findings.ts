import type { Finding } from '../findings/finding.js';
import { pointLocation } from '../model/location.js';
import { builtinPolicy } from './defaults.js';
import type { PolicyIssue } from './errors.js';
import { Reporter } from './reporter.js';
import { policyRuleMetas } from './rules.js';
import type { Policy } from './types.js';

// Apart from ./project.ts (which parses project files, and with them loads zod): every judgment
// reports refused settings, and a judgment without a policy file should not load zod.
const PROJECT_OVERRIDE_RULE = policyRuleMetas.find((m) => m.id === 'policy-project-override-rejected')!;

/**
 * Refused project settings as findings of rule `policy-project-override-rejected` (a warning by
 * default), rated by the team policy the project file was applied to — never by the project file
 * itself: the team may make them blocking or turn them off like any rule.
 */
export function projectOverrideFindings(rejections: readonly PolicyIssue[], teamPolicy: Policy = builtinPolicy()): Finding[] {
  const reporter = new Reporter(teamPolicy, { today: new Date() });
  const { report } = reporter.rule(PROJECT_OVERRIDE_RULE);
  for (const r of rejections) {
    report({
      messageId: 'rejected',
      data: { reason: r.message.replace(/\.$/, '') },
      at: pointLocation(r.file, Math.max(1, r.line), Math.max(1, r.column)),
      keyPath: r.path ? [r.path] : [],
    });
  }
  return reporter.reported();
}
