import { describe, expect, it } from 'vitest';
import { deployEvidence, type DeployInfo } from '../../src/rules/deploy.js';
import { defineRule } from '../../src/rules/types.js';
import { runRules } from './harness.js';

/** The deploy classification of every job, as `kind text @line:col` strings. */
async function classify(yaml: string): Promise<Record<string, { reason?: DeployInfo['reason']; evidence: string[]; all: string[] }>> {
  const out: Record<string, { reason?: DeployInfo['reason']; evidence: string[]; all: string[] }> = {};
  const probe = defineRule({
    meta: { id: 'probe', kind: 'pipeline', title: 'probe', defaultSeverity: 'warning', principle: '', fix: '', messages: {} },
    create(ctx) {
      return {
        job(job) {
          const info = ctx.deploy(job);
          const fmt = (e: { kind: string; text: string; at: { line: number; column: number } }) => `${e.kind} ${e.text} @${e.at.line}:${e.at.column}`;
          out[job.name] = {
            reason: info?.reason,
            evidence: (info?.evidence ?? []).map(fmt),
            all: deployEvidence(job, ctx.policy, { locate: ctx.locateInScript }).map(fmt),
          };
        },
      };
    },
  });
  await runRules([probe], yaml);
  return out;
}

describe('deploy-like classification', () => {
  it('keeps environment and tag evidence at their nodes', async () => {
    const r = await classify('deploy:\n  script: ./deploy.sh\n  environment: production\n  tags: [docker, ci-deploy-prod]\n');
    expect(r.deploy).toEqual({
      reason: 'environment',
      evidence: ['environment production environment `production` @3:16', 'tags deploy-tier tag `ci-deploy-prod` @4:18'],
      all: ['environment production environment `production` @3:16', 'tags deploy-tier tag `ci-deploy-prod` @4:18', 'name job name `deploy` @1:1'],
    });
  });

  it('finds deploy commands at the command word, with the words that make them', async () => {
    const yaml = [
      'ship:', //                                                           1
      '  image: alpine/helm:3.14.0', //                                     2
      '  script:', //                                                       3
      '    - helm --kube-context prod upgrade --install app ./chart', //   4
      '    - kubectl -n prod rollout restart deploy/app', //               5
      '    - kubectl rollout status deploy/app', //                        6
      '    - cd infra && terraform -chdir=prod apply -auto-approve', //     7
      '    - pulumi up --yes', //                                           8
      '    - gcloud run deploy api --image x', //                           9
      '    - aws cloudformation deploy --template-file t.yml', //          10
      '    - az webapp deploy --src-path app.zip', //                      11
      '    - twine upload dist/*', //                                      12
      '    - python -m twine upload dist/*', //                            13
      '    - npm publish', //                                              14
      '    - gem push pkg/x.gem', //                                       15
      '    - cargo publish --token "$CARGO_TOKEN"', //                     16
      '    - glab release create v1', //                                   17
      '    - \'curl -X POST -H "PRIVATE-TOKEN: $RELEASE_TOKEN" https://gitlab.example.com/api/v4/projects/12/releases\'', // 18
      '    - docker push registry.example.com/team/app:1.0', //            19
      '    - sudo kubectl apply -f k8s/', //                               20
    ].join('\n');
    const r = await classify(yaml + '\n');
    expect(r.ship?.reason).toBe('commands');
    expect(r.ship?.evidence).toEqual([
      'command `helm upgrade` @4:7',
      'command `kubectl rollout restart` @5:7',
      'command `terraform apply` @7:19',
      'command `pulumi up` @8:7',
      'command `gcloud run deploy` @9:7',
      'command `aws cloudformation deploy` @10:7',
      'command `az webapp deploy` @11:7',
      'command `twine upload` @12:7',
      'command `python -m twine upload` @13:7',
      'command `npm publish` @14:7',
      'command `gem push` @15:7',
      'command `cargo publish` @16:7',
      'command `glab release create` @17:7',
      'command `curl POST` to `https://gitlab.example.com/api/v4/projects/12/releases` @18:8',
      'command `docker push` to `registry.example.com/team/app:1.0` @19:7',
      'command `kubectl apply` @20:12',
    ]);
  });

  it('does not count look-alikes: own registry, dry runs, local clusters, read-only commands, the job token on the own package registry', async () => {
    const yaml = [
      'variables:',
      '  IMAGE: $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA',
      'build-image:',
      '  stage: release',
      '  script:',
      '    - docker login -u "$CI_REGISTRY_USER" -p "$CI_REGISTRY_PASSWORD" "$CI_REGISTRY"',
      '    - docker build -t "$IMAGE" .',
      '    - docker push "$IMAGE"',
      '    - docker push "$CI_REGISTRY_IMAGE/cache:latest"',
      '    - docker push ${CI_REGISTRY}/${CI_PROJECT_PATH}:edge',
      '    - docker push localhost:5000/app',
      '    - export TAG="$CI_REGISTRY_IMAGE:dev" && docker push "$TAG"',
      'e2e:',
      '  script:',
      '    - kind create cluster',
      '    - helm install app ./chart',
      '    - kubectl apply -f k8s/',
      'check:',
      '  script:',
      '    - helm upgrade --install app ./chart --dry-run',
      '    - kubectl diff -f k8s/',
      '    - kubectl create secret generic x --dry-run=client -o yaml > s.yml',
      '    - terraform plan',
      '    - pulumi preview',
      '    - npm publish --dry-run',
      '    - cargo publish --dry-run',
      '    - aws cloudformation describe-stacks',
      '    - kubectl config set-context ci',
      'publish-npm:',
      '  script:',
      '    - echo "//${CI_SERVER_HOST}/api/v4/projects/${CI_PROJECT_ID}/packages/npm/:_authToken=${CI_JOB_TOKEN}" > .npmrc',
      '    - npm publish',
      'upload-generic:',
      '  script:',
      '    - \'curl --header "JOB-TOKEN: $CI_JOB_TOKEN" --upload-file app.tgz "${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages/generic/app/1.0/app.tgz"\'',
      'review:',
      '  script: helm upgrade --install review-$CI_COMMIT_REF_SLUG ./chart',
      '  environment: review/$CI_COMMIT_REF_SLUG',
      'docs-release:',
      '  script: make docs',
      '  artifacts: {paths: [public]}',
    ].join('\n');
    const r = await classify(yaml + '\n');
    for (const job of ['build-image', 'e2e', 'check', 'publish-npm', 'upload-generic', 'review', 'docs-release']) expect(r[job]?.evidence, job).toEqual([]);
    expect(r['docs-release']?.all).toEqual(['name job name `docs-release` @39:1']);
    expect(r['build-image']?.all).toEqual(['stage stage `release` @4:10']);
  });

  // Lines that run no command the classification knows are skipped, unless they assign: an
  // assignment on a line of its own still decides where a later push goes.
  it('reads assignments on lines of their own, across lines of other commands', async () => {
    const yaml = [
      'push-out:', //                                                    1
      '  script:', //                                                    2
      '    - export TARGET=registry.example.com/team/app', //           3
      '    - make image', //                                             4
      '    - docker push "$TARGET"', //                                  5
      'push-own:', //                                                    6
      '  variables: { TARGET: registry.example.com/team/app }', //      7
      '  script:', //                                                    8
      '    - TARGET=$CI_REGISTRY_IMAGE/app', //                          9
      '    - echo "building $TARGET"; cd build', //                     10
      '    - docker push "$TARGET"', //                                 11
      'push-declared:', //                                              12
      '  script:', //                                                   13
      '    - declare TARGET=ghcr.io/team/app', //                       14
      '    - docker push "$TARGET"', //                                 15
    ].join('\n');
    const r = await classify(yaml + '\n');
    expect(r['push-out']?.evidence).toEqual(['command `docker push` to `$TARGET` @5:7']);
    expect(r['push-own']?.evidence).toEqual([]);
    expect(r['push-declared']?.evidence).toEqual(['command `docker push` to `$TARGET` @15:7']);
  });

  it('a push whose registry is a variable is a deploy when the job logs in to another registry', async () => {
    const yaml = [
      'push:',
      '  script:',
      '    - echo "$HUB_TOKEN" | docker login -u me --password-stdin docker.io',
      '    - docker push "$TARGET_IMAGE"',
      'push-own:',
      '  script:',
      '    - docker login -u gitlab-ci-token -p "$CI_JOB_TOKEN" $CI_REGISTRY',
      '    - docker push "$TARGET_IMAGE"',
      'kaniko:',
      '  script:',
      '    - /kaniko/executor --context . --destination "quay.io/team/app:$CI_COMMIT_TAG"',
      'skopeo:',
      '  script:',
      '    - skopeo copy docker://$CI_REGISTRY_IMAGE:1 docker://ghcr.io/team/app:1',
      '    - skopeo copy docker://ghcr.io/team/app:1 docker://$CI_REGISTRY_IMAGE:1',
    ].join('\n');
    const r = await classify(yaml + '\n');
    expect(r.push?.evidence).toEqual(['command `docker push` to `$TARGET_IMAGE` @4:7']);
    expect(r['push-own']?.evidence).toEqual([]);
    expect(r.kaniko?.evidence).toEqual(['command `kaniko --destination` to `quay.io/team/app:$CI_COMMIT_TAG` @11:7']);
    expect(r.skopeo?.evidence).toEqual(['command `skopeo copy` to `ghcr.io/team/app:1` @14:7']);
  });
});

describe('package uploads and the project registry another job configures', () => {
  it('npm publish with an .npmrc written for the project registry and the job token is no deploy; with a registry of its own it is', async () => {
    const npmrc = 'create_npmrc:\n  script:\n    - echo "//gitlab.com/api/v4/projects/${CI_PROJECT_ID}/packages/npm/:_authToken=${CI_JOB_TOKEN}" >> .npmrc\n';
    const r = await classify(npmrc + 'publish:\n  script:\n    - npm publish\npublish-public:\n  script:\n    - npm publish --registry https://registry.npmjs.org/\n');
    expect(r.publish?.evidence).toEqual([]);
    expect(r['publish-public']?.evidence).toEqual(['command `npm publish` @9:7']);
  });
});

describe('hosting CLIs', () => {
  it('theme deploy, firebase deploy, serverless deploy, cf push deploy; their dry or local forms do not', async () => {
    const r = await classify('a:\n  script:\n    - theme deploy --env=production --allow-live\n    - firebase deploy --only hosting\n    - sls deploy --stage prod\n    - cf push app\nb:\n  script:\n    - firebase emulators:start\n    - serverless package\n');
    expect(r.a?.evidence).toEqual(['command `theme deploy` @3:7', 'command `firebase deploy` @4:7', 'command `sls deploy` @5:7', 'command `cf push` @6:7']);
    expect(r.b?.evidence).toEqual([]);
  });
});
