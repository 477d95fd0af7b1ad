import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { lintTargets } from '../../src/cli/lint.js';
import { loadPolicy } from '../../src/policy/load.js';
import { allRuleMetas } from '../../src/catalogue/catalogue.js';
import { toJS } from '../../src/model/node.js';
import { defined } from '../support/defined.js';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..');

type Run = Awaited<ReturnType<typeof lintTargets>>;
let run: Run;
/** The evaluation of the repository's own .gitlab-ci.yml. */
let ev: Run['evaluations'][number];
beforeAll(async () => {
  const policy = loadPolicy({ dir: path.join(root, 'policies'), rules: allRuleMetas() });
  run = await lintTargets(['.'], root, { policy, defaultBranch: 'main' });
  ev = defined(run.evaluations[0], 'the evaluation of .gitlab-ci.yml');
});

interface JobJS {
  image?: string | { name: string; entrypoint?: string[] };
  script?: string[];
  needs?: Array<string | { job: string }>;
  variables?: Record<string, string>;
  release?: Record<string, string>;
  artifacts?: { paths?: string[]; reports?: { dotenv?: string } };
}
/** A job after extends/default, as plain data. */
const job = (name: string) => {
  const j = ev.pipeline.jobs.find((x) => x.name === name);
  expect(j, name).toBeDefined();
  return { tags: j!.tags, js: toJS(j!.node) as JobJS };
};
const imageName = (j: JobJS) => (typeof j.image === 'string' ? j.image : j.image?.name ?? '');
const script = (j: JobJS) => (j.script ?? []).join('\n');

/** The ARGs the Dockerfile's FROM lines use: the base images. */
function baseImageArgs(): string[] {
  const df = DockerfileParser.parse(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
  const used = new Set(df.getFROMs().flatMap((f) => [...(f.getImage() ?? '').matchAll(/\$\{?(\w+)\}?/g)].map((m) => m[1]!)));
  return [...used].sort();
}

describe("tierguard's own .gitlab-ci.yml", () => {
  it('is judged by tierguard with no finding at all, under the shipped policy', () => {
    expect(ev.pipeline.jobs.length).toBeGreaterThan(5);
    expect(run.findings.map((f) => `${f.location.file}:${f.location.line} ${f.ruleId} ${f.message}`)).toEqual([]);
    expect(run.notes).toEqual([]);
  });

  it('builds the image with rootless BuildKit on the build tier; releases and deploys only from protected v* tags on the deploy tier', () => {
    for (const name of ['image-build', 'image-publish']) {
      expect(imageName(job(name).js)).toMatch(/^moby\/buildkit:v\d+\.\d+\.\d+-rootless$/);
      expect(script(job(name).js)).toContain('buildctl-daemonless.sh build');
    }
    expect(job('image-publish').tags).toEqual(['ci-build']);
    expect(job('base-images').tags).toEqual(['ci-build']);
    for (const name of ['release', 'deploy-production']) {
      expect(job(name).tags).toEqual(['ci-deploy-prod']);
      expect(imageName(job(name).js), `${name} image pinned by digest`).toMatch(/^[^$\s]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
      const trust = ev.trust.get(name)!;
      expect(trust.untrusted).toEqual([]);
      expect(trust.trusted).toEqual(['protected-tag']);
      expect(trust.byContext['protected-tag'].when).toBe('manual');
    }
  });

  it('uses only images it names: no undefined $VARIABLE image, and no entrypoint in the way of script:', () => {
    for (const j of ev.pipeline.jobs) {
      const js = toJS(j.node) as JobJS;
      const name = imageName(js);
      expect(name, j.name).toMatch(/^[a-z0-9][\w./-]*:[\w.-]+(@sha256:[0-9a-f]{64})?$/);
      // These images start a tool, not a shell: script: needs the entrypoint reset.
      if (/^(alpine\/helm|moby\/buildkit|quay\.io\/skopeo|ghcr\.io\/yannh\/kubeconform|registry\.gitlab\.com\/gitlab-org\/cli)[:@]/.test(name)) {
        expect(typeof js.image === 'object' && js.image.entrypoint, `${j.name}: entrypoint [""]`).toEqual(['']);
      }
    }
  });

  it('resolves every base image of the Dockerfile to a digest and builds the release with them', () => {
    const args = baseImageArgs();
    expect(args).toEqual(['NODE_IMAGE', 'RUNTIME_IMAGE']);
    const resolve = job('base-images').js;
    expect(script(resolve)).toContain(`for arg in ${args.join(' ')};`);
    expect(script(resolve)).toContain('skopeo manifest-digest');
    expect(resolve.artifacts?.reports?.dotenv).toBe('base-images.env');
    const publish = job('image-publish').js;
    expect(publish.needs).toContain('base-images');
    for (const a of args) expect(script(publish)).toContain(`--opt build-arg:${a}="$${a}"`);
    for (const a of ['VERSION', 'REVISION', 'SOURCE']) expect(script(publish)).toContain(`--opt build-arg:${a}=`);
  });

  it('publishes :<short sha>, and :<version> on release tags, and hands the digest to release and deploy', () => {
    const publish = script(job('image-publish').js);
    expect(publish).toContain('NAMES="$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA"');
    expect(publish).toContain('VERSION="${CI_COMMIT_TAG#v}"');
    expect(publish).toContain('NAMES="$NAMES,$CI_REGISTRY_IMAGE:$VERSION"');
    // The chart's default image is :<appVersion>: a tag that does not match fails the job.
    expect(publish).toContain('appVersion: \\"$VERSION\\"');
    expect(publish).toContain('push=true');
    expect(job('image-publish').js.artifacts).toEqual({ paths: ['image-digest.txt'], reports: { dotenv: 'image.env' } });
    expect(job('release').js.release?.description).toContain('$IMAGE_DIGEST');
    expect(script(job('deploy-production').js)).toContain('--set image.digest="$(cat image-digest.txt)"');
  });

  it('deploys with the credentials of an existing Secret and values that render with helm', () => {
    const deploy = job('deploy-production').js;
    const cmd = script(deploy);
    expect(cmd).toContain('-f helm/production-values.yaml');
    expect(cmd).toContain('--set gitlab.url="$CI_SERVER_URL"');
    expect(cmd).not.toMatch(/gitlab\.token|webhookSecret|GITLAB_TOKEN/);
    expect(deploy.variables?.KUBE_CONTEXT).toBeTruthy();
    expect(deploy.needs).toEqual(['image-publish', 'release']);
    const prod = YAML.parse(readFileSync(path.join(root, 'helm', 'production-values.yaml'), 'utf8'));
    expect(prod.existingSecret.name).toBeTruthy();
    // (test/ship/chart.test.ts renders these values with the real helm.)
  });

  it('lints the chart strictly and renders the value sets that exist', () => {
    const lint = script(job('chart-lint').js);
    for (const [, file = ''] of lint.matchAll(/-f (\S+)/g)) expect(existsSync(path.join(root, file)), file).toBe(true);
    expect(lint.match(/helm lint --strict/g)).toHaveLength(2);
  });

  it('tests on Node 24 and on Node 20', () => {
    expect(imageName(job('test').js)).toMatch(/^node:24[.\d]*-/);
    expect(imageName(job('test-node20').js)).toMatch(/^node:20[.\d]*-/);
    expect(script(job('test-node20').js)).toBe('npm test');
  });
});
