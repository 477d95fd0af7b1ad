import { describe, it, expect } from 'vitest';
import { buildContexts, CONTEXT_IDS, contextOptionsFromPolicy, contextScope } from '../../src/contexts/contexts.js';
import { evaluateText } from '../../src/contexts/expression.js';

const opts = { defaultBranch: 'main', protectedBranches: ['release/*'], protectedTags: ['v*'] };
const C = buildContexts(opts);
function ev(id: keyof typeof C, expr: string, yaml: Record<string, string | undefined> = {}) {
  const r = evaluateText(expr, contextScope(C[id], yaml));
  if ('error' in r) throw new Error(r.error.message);
  return r.result;
}

describe('trust contexts', () => {
  it('has the nine contexts of the spec with their trust', () => {
    expect(CONTEXT_IDS).toHaveLength(9);
    expect(CONTEXT_IDS.filter((id) => C[id].trusted)).toEqual(['default-branch', 'protected-branch', 'protected-tag', 'schedule']);
    for (const id of CONTEXT_IDS) {
      expect(C[id].id).toBe(id);
      expect(C[id].label.length).toBeGreaterThan(0);
      expect(C[id].possible).toBe(true);
    }
  });

  it('sets CI_PIPELINE_SOURCE per context', () => {
    expect(ev('mr-fork', '$CI_PIPELINE_SOURCE == "merge_request_event"')).toBe('yes');
    expect(ev('mr', '$CI_PIPELINE_SOURCE == "merge_request_event"')).toBe('yes');
    expect(ev('branch', '$CI_PIPELINE_SOURCE == "push"')).toBe('yes');
    expect(ev('unprotected-tag', '$CI_PIPELINE_SOURCE == "push"')).toBe('yes');
    expect(ev('web-unprotected', '$CI_PIPELINE_SOURCE == "web"')).toBe('unknown');
    expect(ev('web-unprotected', '$CI_PIPELINE_SOURCE == "push"')).toBe('no');
    expect(ev('schedule', '$CI_PIPELINE_SOURCE == "schedule"')).toBe('yes');
    expect(ev('default-branch', '$CI_PIPELINE_SOURCE == "push"')).toBe('yes');
  });

  it('CI_COMMIT_BRANCH is absent in MR and tag pipelines', () => {
    for (const id of ['mr', 'mr-fork', 'unprotected-tag', 'protected-tag'] as const) expect(ev(id, '$CI_COMMIT_BRANCH')).toBe('no');
    for (const id of ['branch', 'web-unprotected', 'default-branch', 'protected-branch', 'schedule'] as const) expect(ev(id, '$CI_COMMIT_BRANCH')).toBe('yes');
    expect(ev('unprotected-tag', '$CI_COMMIT_TAG')).toBe('yes');
    expect(ev('protected-tag', '$CI_COMMIT_TAG =~ /^v/')).toBe('yes');
    expect(ev('branch', '$CI_COMMIT_TAG == null')).toBe('yes');
    expect(ev('mr', '$CI_MERGE_REQUEST_IID')).toBe('yes');
    expect(ev('branch', '$CI_MERGE_REQUEST_IID')).toBe('no');
  });

  it('ref names in untrusted contexts are chosen by the pusher but are never protected', () => {
    expect(ev('branch', '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH')).toBe('no');
    expect(ev('branch', '$CI_COMMIT_BRANCH == "release/2.0"')).toBe('no');
    expect(ev('branch', '$CI_COMMIT_BRANCH =~ /^feature/')).toBe('unknown');
    expect(ev('branch', '$CI_COMMIT_REF_NAME == $CI_COMMIT_BRANCH')).toBe('yes');
    expect(ev('unprotected-tag', '$CI_COMMIT_TAG =~ /^v/')).toBe('no');
    expect(ev('unprotected-tag', '$CI_COMMIT_TAG == "nightly"')).toBe('unknown');
    expect(ev('mr', '$CI_MERGE_REQUEST_SOURCE_BRANCH_NAME == "main"')).toBe('no');
    // the author picks the target branch: main is possible
    expect(ev('mr', '$CI_MERGE_REQUEST_TARGET_BRANCH_NAME == $CI_DEFAULT_BRANCH')).toBe('unknown');
    // a fork's branch is not protected by the parent: it may be called main
    expect(ev('mr-fork', '$CI_COMMIT_REF_NAME == "main"')).toBe('unknown');
  });

  it('trusted contexts have protected refs', () => {
    expect(ev('default-branch', '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH')).toBe('yes');
    expect(ev('schedule', '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH')).toBe('yes');
    expect(ev('protected-branch', '$CI_COMMIT_BRANCH =~ /^release\\//')).toBe('yes');
    expect(ev('protected-branch', '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH')).toBe('no');
    for (const id of CONTEXT_IDS) expect(ev(id, '$CI_COMMIT_REF_PROTECTED == "true"')).toBe(C[id].trusted ? 'yes' : 'no');
  });

  it('tells fork MRs from same-project MRs by project id', () => {
    expect(ev('mr-fork', '$CI_MERGE_REQUEST_SOURCE_PROJECT_ID == $CI_PROJECT_ID')).toBe('no');
    expect(ev('mr', '$CI_MERGE_REQUEST_SOURCE_PROJECT_ID == $CI_PROJECT_ID')).toBe('yes');
    expect(ev('mr-fork', '$CI_MERGE_REQUEST_SOURCE_PROJECT_PATH != $CI_PROJECT_PATH')).toBe('yes');
  });

  it('YAML variables are defaults: known where nobody untrusted sets pipeline variables; unset predefined variables are known-unset, others unknown', () => {
    expect(ev('mr', '$DEPLOY == "yes"', { DEPLOY: 'yes' })).toBe('yes');
    expect(ev('default-branch', '$DEPLOY == "yes"', { DEPLOY: 'yes' })).toBe('yes');
    // web/API/trigger pipelines and `git push -o ci.variable` may override the YAML value
    for (const id of ['web-unprotected', 'branch', 'unprotected-tag'] as const) expect(ev(id, '$DEPLOY == "yes"', { DEPLOY: 'yes' }), id).toBe('unknown');
    expect(ev('branch', '$DEPLOY == "yes"')).toBe('unknown');
    expect(ev('branch', '$CI_PIPELINE_TRIGGERED')).toBe('no');
    expect(ev('web-unprotected', '$CI_PIPELINE_TRIGGERED')).toBe('unknown');
    expect(ev('branch', '$CI_OPEN_MERGE_REQUESTS')).toBe('unknown');
    expect(ev('default-branch', '$CI_OPEN_MERGE_REQUESTS')).toBe('no');
    expect(ev('branch', '$X == "1"', { X: undefined })).toBe('unknown');
  });

  it('live data: restricted pipeline variables keep YAML values; a known CI/CD variable overrides them everywhere', () => {
    const restricted = buildContexts({ ...opts, variables: { userPipelineVariables: false, cicdVariables: ['REGISTRY'] } });
    const e = (id: keyof typeof C, expr: string, yaml: Record<string, string>) => {
      const r = evaluateText(expr, contextScope(restricted[id], yaml));
      if ('error' in r) throw new Error(r.error.message);
      return r.result;
    };
    expect(e('web-unprotected', '$DEPLOY == "yes"', { DEPLOY: 'yes' })).toBe('yes');
    expect(e('default-branch', '$REGISTRY == "a"', { REGISTRY: 'a' })).toBe('unknown');
    expect(C['web-unprotected'].userVariables).toBe('the run pipeline form, the API or a trigger token');
    expect(C.branch.userVariables).toBe('`git push -o ci.variable=…`');
    expect(C.mr.userVariables).toBeUndefined();
    expect(restricted['web-unprotected'].userVariables).toBeUndefined();
  });

  it('marks contexts the policy makes impossible', () => {
    const c = buildContexts({ defaultBranch: 'main', protectedBranches: [], protectedTags: [] });
    expect(c['protected-tag'].possible).toBe(false);
    expect(c['protected-branch'].possible).toBe(false);
    expect(c['unprotected-tag'].possible).toBe(true);
    const all = buildContexts({ defaultBranch: 'main', protectedBranches: [], protectedTags: ['*'] });
    expect(all['unprotected-tag'].possible).toBe(false);
  });

  it('reads the protected patterns of a policy', () => {
    expect(contextOptionsFromPolicy({ protected: { branches: ['stable-*'], tags: ['v*'] } })).toEqual({
      defaultBranch: 'main',
      protectedBranches: ['stable-*'],
      protectedTags: ['v*'],
    });
  });
});
