import { describe, expect, it } from 'vitest';
import { renderSarif, ruleName, SARIF_SCHEMA } from '../../src/findings/render/sarif.js';
import type { Finding } from '../../src/findings/finding.js';
import { catalogue, findings, input, SECRET } from './fixtures.js';

type Json = any;

const sarif = (over = {}): Json => JSON.parse(renderSarif(input(over)));

describe('renderSarif', () => {
  it('is a SARIF 2.1.0 log with one run and the tierguard driver', () => {
    const log = sarif({ informationUri: 'https://tierguard.example/' });
    expect(log.$schema).toBe(SARIF_SCHEMA);
    expect(log.$schema).toBe('https://json.schemastore.org/sarif-2.1.0.json');
    expect(log.version).toBe('2.1.0');
    expect(log.runs).toHaveLength(1);
    const driver = log.runs[0].tool.driver;
    expect(driver.name).toBe('tierguard');
    expect(driver.version).toBe('1.2.3');
    expect(driver.informationUri).toBe('https://tierguard.example/');
    expect(sarif().runs[0].tool.driver).not.toHaveProperty('informationUri');
  });

  it('describes every catalogue rule, plus rules seen only in findings', () => {
    const rules = sarif().runs[0].tool.driver.rules;
    expect(rules.map((r: Json) => r.id)).toEqual([...catalogue.map((r) => r.id), 'debug-trace-enabled']);
    expect(rules[0]).toEqual({
      id: 'deploy-unprotected-ref',
      name: 'DeployUnprotectedRef',
      shortDescription: { text: 'Deploy job can run on an unprotected ref' },
      fullDescription: { text: 'Only protected refs may deploy.' },
      help: { text: 'Restrict the job to protected refs with rules.' },
      helpUri: 'docs/rules/deploy-unprotected-ref.md',
      defaultConfiguration: { level: 'error' },
      properties: { tags: ['security', 'pipeline'] },
    });
    expect(rules[2].defaultConfiguration).toEqual({ level: 'warning' });
    expect(ruleName('runner-k8s-namespace')).toBe('RunnerK8sNamespace');
  });

  it('gives every result the required properties and a ruleIndex pointing at its rule', () => {
    const run = sarif().runs[0];
    expect(run.results).toHaveLength(6);
    for (const r of run.results) {
      expect(typeof r.message.text).toBe('string');
      expect(run.tool.driver.rules[r.ruleIndex].id).toBe(r.ruleId);
      expect(r.locations).toHaveLength(1);
      expect(r.partialFingerprints['tierguard/v1']).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('maps level, region, uri and fingerprint of a result', () => {
    const results = sarif().runs[0].results;
    const deploy = results.find((r: Json) => r.ruleId === 'deploy-unprotected-ref');
    expect(deploy.level).toBe('error');
    expect(deploy.locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: '.gitlab-ci.yml' },
      region: { startLine: 5, startColumn: 3, endLine: 5, endColumn: 26 },
    });
    expect(deploy.partialFingerprints).toEqual({ 'tierguard/v1': findings()[2]!.fingerprint });
    expect(deploy.properties).toEqual({ blocking: true, severity: 'error', job: 'deploy' });
    expect(results.map((r: Json) => r.level)).toEqual(['error', 'warning', 'note', 'error', 'note', 'error']);
  });

  it('records suppressions as external (exception) or inSource (inline comment)', () => {
    const results = sarif().runs[0].results;
    expect(results[2].suppressions).toEqual([
      { kind: 'external', status: 'accepted', justification: 'legacy runner until 2030-01-01' },
    ]);
    expect(results[4].suppressions).toEqual([{ kind: 'inSource', status: 'accepted', justification: 'debugging a flaky deploy' }]);
    expect(results[1]).not.toHaveProperty('suppressions');
  });

  it('adds related locations and whole-line fixes', () => {
    const deploy = sarif().runs[0].results[3];
    expect(deploy.relatedLocations).toEqual([
      {
        id: 1,
        physicalLocation: {
          artifactLocation: { uri: '.gitlab-ci.yml' },
          region: { startLine: 3, startColumn: 1, endLine: 3, endColumn: 7 },
        },
        message: { text: 'the job has no rules (token glpa************ nearby)' },
      },
    ]);
    expect(deploy.fixes).toEqual([
      {
        description: { text: 'only deploy from protected refs' },
        artifactChanges: [
          {
            artifactLocation: { uri: '.gitlab-ci.yml' },
            replacements: [
              {
                deletedRegion: { startLine: 5, endLine: 5 },
                insertedContent: {
                  text: '  environment: production\n  rules:\n    - if: $CI_COMMIT_REF_PROTECTED == "true"',
                },
              },
            ],
          },
        ],
      },
    ]);
    expect(sarif().runs[0].results[5]).not.toHaveProperty('fixes');
  });

  it('writes relative URIs with forward slashes, percent-encoding special characters', () => {
    const base = findings()[5]!;
    const mk = (file: string): Finding => ({ ...base, location: { ...base.location, file } });
    const uris = sarif({ findings: [mk('ci\\jobs\\deploy.yml'), mk('./a b#1.yml'), mk('/etc/gitlab-runner/config.toml')] })
      .runs[0].results.map((r: Json) => r.locations[0].physicalLocation.artifactLocation.uri);
    expect(uris.sort()).toEqual(['a%20b%231.yml', 'ci/jobs/deploy.yml', 'file:///etc/gitlab-runner/config.toml'].sort());
  });

  it('never contains the secret', () => {
    const out = renderSarif(input());
    expect(out).not.toContain(SECRET);
    expect(out).toContain('# was glpa************');
  });

  it('has an empty result list when nothing was found', () => {
    const run = sarif({ findings: [] }).runs[0];
    expect(run.results).toEqual([]);
    expect(run.tool.driver.rules).toHaveLength(catalogue.length);
  });
});
