import { describe, expect, it } from 'vitest';
import rule, { ATTACKER_VARIABLES, findInjections } from '../../src/rules/pipeline/script-injection.js';
import { checkRule } from './harness.js';

const bad = (name: string) => !!ATTACKER_VARIABLES[name];
const names = (text: string) => findInjections(text, bad).map((h) => `${h.name}@${h.index} ${h.sink}`);

describe('script-injection analysis', () => {
  it('flags re-parsed expansions', () => {
    expect(names('eval "echo $CI_COMMIT_MESSAGE"')).toEqual(['CI_COMMIT_MESSAGE@11 `eval`']);
    expect(names('eval $CI_COMMIT_TITLE')).toEqual(['CI_COMMIT_TITLE@5 `eval`']);
    expect(names('bash -c "echo ${CI_MERGE_REQUEST_TITLE}"')).toEqual(['CI_MERGE_REQUEST_TITLE@14 `bash -c`']);
    expect(names('sudo -u app sh -ec "deploy $CI_COMMIT_BRANCH"')).toEqual(['CI_COMMIT_BRANCH@27 `sh -c`']);
    expect(names(`python3 -c "print('$CI_COMMIT_MESSAGE')"`)).toEqual(['CI_COMMIT_MESSAGE@19 `python3 -c`']);
    expect(names('node -e "console.log(\\"$CI_COMMIT_TAG\\")"')).toEqual(['CI_COMMIT_TAG@23 `node -e`']);
    expect(names('perl -ne "print $CI_COMMIT_AUTHOR"')).toHaveLength(1);
    expect(names('ruby -e "puts %q($CI_COMMIT_MESSAGE)"')).toHaveLength(1);
    expect(names('php -r "echo \'$GITLAB_USER_NAME\';"')).toHaveLength(1);
    expect(names('pwsh -Command "Write-Host $env:CI_COMMIT_MESSAGE"')).toHaveLength(1);
    expect(names('Invoke-Expression "git tag $env:CI_COMMIT_TAG"')).toHaveLength(1);
    expect(names('echo "$CI_COMMIT_MESSAGE" | sh')).toEqual(['CI_COMMIT_MESSAGE@6 `echo … | sh`']);
    expect(names("envsubst '$CI_COMMIT_MESSAGE' < tpl.sh | bash")).toHaveLength(1);
    expect(names('git log | xargs -I {} sh -c "echo {} $CI_COMMIT_REF_NAME"')).toHaveLength(1);
    expect(names('VERSION=$(eval echo $CI_COMMIT_TAG)')).toEqual(['CI_COMMIT_TAG@20 `eval`']);
    expect(names("sh -c 'eval \"$CI_COMMIT_MESSAGE\"'")).toEqual(['CI_COMMIT_MESSAGE@13 `eval`']);
  });
  it('leaves data alone', () => {
    for (const t of [
      'echo $CI_COMMIT_MESSAGE',
      'echo "$CI_COMMIT_MESSAGE" > msg.txt',
      "sh -c 'echo \"$CI_COMMIT_MESSAGE\"'",
      "eval 'echo \"$CI_COMMIT_TITLE\"'",
      "python3 -c 'import os; print(os.environ[\"CI_COMMIT_MESSAGE\"])'",
      'bash -c "echo $CI_COMMIT_REF_SLUG"',
      'bash ./deploy.sh "$CI_COMMIT_BRANCH"',
      'curl https://example.com/$CI_COMMIT_REF_NAME/install.sh | sh',
      'echo "eval $CI_COMMIT_MESSAGE"',
    ]) {
      expect(names(t), t).toEqual([]);
    }
  });
});

describe('script-injection', () => {
  it('flags scripts and expanded keywords at the variable', async () => {
    await checkRule(rule, {
      valid: [
        'build:\n  script:\n    - echo $CI_COMMIT_MESSAGE\n    - git tag "$CI_COMMIT_TAG"\n',
        'build:\n  image: registry.example.com/app:$CI_COMMIT_REF_SLUG\n  environment:\n    name: review/$CI_COMMIT_REF_NAME\n  script: make\n',
        'variables:\n  MSG: $CI_COMMIT_MESSAGE\nbuild:\n  script:\n    - echo "$MSG"\n',
        // Ref names where the job only runs for the default branch or protected tags: fixed by maintainers.
        'build:\n  script:\n    - eval "deploy --branch $CI_COMMIT_BRANCH"\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n',
        'release:\n  script:\n    - sh -c "publish $CI_COMMIT_TAG"\n  rules:\n    - if: $CI_COMMIT_TAG =~ /^v\\d+/ && $CI_COMMIT_REF_PROTECTED == "true"\n',
        // MR variables are empty outside merge request pipelines.
        'build:\n  script:\n    - eval "echo $CI_MERGE_REQUEST_TITLE"\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n',
        // Keywords that only name things, and GitLab's documented release pattern.
        'release:\n  cache:\n    key: "$CI_COMMIT_REF_NAME"\n  artifacts:\n    name: "$CI_COMMIT_REF_NAME"\n  release:\n    tag_name: $CI_COMMIT_TAG\n    description: $CI_COMMIT_TAG_MESSAGE\n  script: make\n',
      ],
      invalid: [
        {
          code: 'build:\n  script:\n    - make\n    - eval "echo $CI_COMMIT_MESSAGE"\n',
          errors: [{ line: 4, column: 18, job: 'build', message: /^Job `build`: \$CI_COMMIT_MESSAGE \(the commit message.*`eval` parses again/ }],
        },
        {
          name: 'block scalar, through extends, once per place',
          code: '.notify:\n  script:\n    - |\n      set -e\n      bash -c "notify \'$CI_MERGE_REQUEST_TITLE\'"\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\na:\n  extends: .notify\nb:\n  extends: .notify\n',
          errors: [{ line: 5, column: 24, job: 'a', message: /`bash -c` parses again/ }],
        },
        {
          name: 'a commit message is the MR author\'s even on the default branch',
          code: 'notify:\n  script:\n    - eval "echo $CI_COMMIT_MESSAGE"\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n',
          errors: [{ line: 3, column: 18, job: 'notify' }],
        },
        {
          name: 'the branch name where the job also runs for unprotected branches',
          code: 'build:\n  script:\n    - eval "deploy --branch $CI_COMMIT_BRANCH"\n',
          errors: [{ line: 3, column: 29, job: 'build', message: /the branch name/ }],
        },
        {
          name: 'through a variable',
          code: 'variables:\n  CMD: "deploy --note $CI_COMMIT_TITLE"\nbuild:\n  script:\n    - eval "$CMD"\n',
          errors: [{ line: 5, column: 13, job: 'build', message: /\$CMD \(set from \$CI_COMMIT_TITLE, the commit title, in `variables:` at \.gitlab-ci\.yml:2\)/ }],
        },
        {
          name: 'keywords GitLab expands',
          code:
            'variables:\n  IMG: "tools:$CI_COMMIT_BRANCH"\ndeploy:\n  image: $IMG\n  services:\n    - name: "db:$CI_COMMIT_TAG"\n  environment:\n    name: $CI_COMMIT_REF_NAME\n  resource_group: $CI_COMMIT_TAG\n  script: make\nbridge:\n  trigger:\n    project: group/$CI_COMMIT_BRANCH\n',
          errors: [
            { line: 4, column: 10, job: 'deploy', message: /`image` contains \$IMG \(set from \$CI_COMMIT_BRANCH/ },
            { line: 6, column: 17, job: 'deploy', message: /`services` contains \$CI_COMMIT_TAG/ },
            { line: 8, column: 11, job: 'deploy', message: /`environment:name` contains \$CI_COMMIT_REF_NAME .*expands itself/ },
            { line: 9, column: 19, job: 'deploy', message: /`resource_group`/ },
            { line: 13, column: 20, job: 'bridge', message: /`trigger:project`/ },
          ],
        },
        {
          name: 'include path',
          code: 'include:\n  - project: group/ci\n    ref: $CI_COMMIT_REF_NAME\n    file: ci.yml\nbuild:\n  script: make\n',
          errors: [{ line: 3, column: 10, message: /`include:ref` contains \$CI_COMMIT_REF_NAME/ }],
        },
      ],
    });
  });
});
