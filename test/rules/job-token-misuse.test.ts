import { describe, expect, it } from 'vitest';
import rule, { findTokenMisuse } from '../../src/rules/pipeline/job-token-misuse.js';
import { checkRule } from './harness.js';

const judge = (d: string) => (d.startsWith('$') ? d === '$CI_API_V4_URL' || d === '$CI_REGISTRY' || undefined : d === 'gitlab.com' ? true : d.includes('.') ? false : undefined);
const hits = (t: string, paths: string[] = []) => findTokenMisuse(t, judge, paths).map((h) => `${h.kind}:${h.target}@${h.index}`);

describe('job-token-misuse detection', () => {
  it('finds the job token sent elsewhere, printed or uploaded', () => {
    expect(hits('curl -H "JOB-TOKEN: $CI_JOB_TOKEN" https://artifacts.example.com/upload')).toEqual(['host:artifacts.example.com@20']);
    expect(hits('git clone https://gitlab-ci-token:${CI_JOB_TOKEN}@git.example.org/group/repo.git')).toEqual(['host:git.example.org@34']);
    expect(hits('docker login -u gitlab-ci-token -p "$CI_JOB_TOKEN" registry.example.net')).toEqual(['host:registry.example.net@36']);
    expect(hits('echo $CI_JOB_TOKEN | base64')).toEqual(['print:the job log@5']);
    // Piped into a login that reads the password from stdin, past filters that pass it on.
    expect(hits('echo "$CI_JOB_TOKEN" | docker login -u gitlab-ci-token --password-stdin registry.corp.example')).toEqual(['host:registry.corp.example@6']);
    expect(hits("printf %s \"$CI_JOB_TOKEN\" | tr -d '\\n' | podman login --password-stdin -u ci quay.io")).toEqual(['host:quay.io@11']);
    // A pipe into something else, or a login that does not read stdin, names no destination.
    expect(hits('echo "$CI_JOB_TOKEN" | wc -c')).toEqual([]);
    expect(hits('echo "$CI_JOB_TOKEN" | docker login -u gitlab-ci-token -p secret registry.corp.example')).toEqual([]);
    expect(hits('echo "//gitlab.com/api/v4/packages/npm/:_authToken=${CI_JOB_TOKEN}" > .npmrc', ['.npmrc'])).toEqual(['artifact:.npmrc@51']);
  });
  it('leaves uses with this instance, unknown hosts and literal references alone', () => {
    for (const t of [
      'curl --header "JOB-TOKEN: $CI_JOB_TOKEN" "${CI_API_V4_URL}/projects/1/packages"',
      'docker login -u gitlab-ci-token -p $CI_JOB_TOKEN $CI_REGISTRY',
      'git clone https://gitlab-ci-token:${CI_JOB_TOKEN}@gitlab.com/group/repo.git',
      'curl -H "JOB-TOKEN: $CI_JOB_TOKEN" "$UPLOAD_URL"',
      "echo '//gitlab.com/api/v4/packages/npm/:_authToken=${CI_JOB_TOKEN}' >> .npmrc",
      'echo "$CI_JOB_TOKEN" | docker login -u gitlab-ci-token --password-stdin $CI_REGISTRY',
    ]) {
      expect(hits(t, ['.npmrc']), t).toEqual([]);
    }
  });
});

describe('job-token-misuse', () => {
  it('reports at the token reference', async () => {
    await checkRule(rule, {
      valid: [
        // A YAML variable that expands to the instance API.
        'variables:\n  PKG_URL: "${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages/generic/x/1/x.tgz"\nupload:\n  script:\n    - \'curl --header "JOB-TOKEN: $CI_JOB_TOKEN" --upload-file x.tgz "$PKG_URL"\'\n',
        // Self-managed instance listed in the options.
        { code: 'pull:\n  script:\n    - git clone https://gitlab-ci-token:${CI_JOB_TOKEN}@gitlab.corp.example/g/r.git\n', options: { policy: (p) => ({ ...p, rules: { 'job-token-misuse': { severity: 'error', options: { instanceHosts: ['gitlab.corp.example'] } } } }) } },
        { code: 'push:\n  script:\n    - echo "$CI_JOB_TOKEN" | docker login -u gitlab-ci-token --password-stdin registry.corp.example\n', options: { policy: (p) => ({ ...p, rules: { 'job-token-misuse': { severity: 'error', options: { instanceHosts: ['registry.corp.example'] } } } }) } },
      ],
      invalid: [
        {
          name: 'sent to another host through a YAML variable',
          code: 'variables:\n  HOOK: https://hooks.example.com/ci\nnotify:\n  script:\n    - \'curl -fsS -H "Authorization: Bearer ${CI_JOB_TOKEN}" "$HOOK"\'\n',
          errors: [{ line: 5, column: 44, job: 'notify', severity: 'error', message: /^`script` of job `notify` sends `CI_JOB_TOKEN` to `\$HOOK`, which is not this GitLab instance/ }],
        },
        {
          name: 'piped into a registry login on another host',
          code: 'push:\n  script:\n    - echo "$CI_JOB_TOKEN" | docker login -u gitlab-ci-token --password-stdin registry.corp.example\n',
          errors: [{ line: 3, column: 13, job: 'push', message: /^`script` of job `push` sends `CI_JOB_TOKEN` to `registry\.corp\.example`, which is not this GitLab instance/ }],
        },
        {
          name: 'printed, and written into an artifact',
          code: 'build:\n  script:\n    - echo "token=$CI_JOB_TOKEN"\n    - echo "//gitlab.com/:_authToken=${CI_JOB_TOKEN}" >> .npmrc\n  artifacts:\n    paths: [.npmrc, dist/]\n',
          errors: [
            { line: 3, column: 19, job: 'build', message: /prints `CI_JOB_TOKEN` to the job log/ },
            { line: 4, column: 38, job: 'build', message: /writes `CI_JOB_TOKEN` into `\.npmrc`, which the job uploads as an artifact/ },
          ],
        },
      ],
    });
  });
});
