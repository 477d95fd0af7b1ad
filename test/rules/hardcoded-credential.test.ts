import { describe, expect, it } from 'vitest';
import { renderFindings } from '../../src/findings/render/index.js';
import rule from '../../src/rules/pipeline/hardcoded-credential.js';
import { findKnownTokens, findPrivateKeys, findUrlPasswords, looksLikeSecretValue, shannonEntropy, TOKENS } from '../../src/rules/pipeline/_secrets.js';
import { checkRule, runRules } from './harness.js';

// Fake credentials in the vendors' formats (random, never issued).
const GLPAT = 'glpat-Xk9fP2qLm8Rt4vWz7Yb1';
const GLRT = 'glrt-Qz8HkLmP3vT9wXc2Rb7N';
const AKIA = 'AKIA4XQ7ZKP2LMN8RT3W';
const GHP = 'ghp_' + 'aB3dE5fG7hJ9kL2mN4pQ6rS8tU0vW1xY3zA5';
const HIGH = 'u8Fq2LzW9xKp4RtY7vBn3MdE';
const KEY = ['-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ', 'QyNTUxOQAAACBz7lq0Xr8Vd2mK3pL9nQ4tW6yB1cF5hJ', '-----END OPENSSH PRIVATE KEY-----'];

describe('hardcoded-credential detectors', () => {
  it('finds known formats and ignores placeholders', () => {
    expect(findKnownTokens(`token ${GLPAT} and ${AKIA}`).map((h) => h.index)).toEqual([6, 6 + GLPAT.length + 5]);
    expect(findKnownTokens('glpat-xxxxxxxxxxxxxxxxxxxx AKIAIOSFODNN7EXAMPLE')).toEqual([]);
    expect(findKnownTokens(GHP)[0]?.label).toMatch(/GitHub/);
    expect(findPrivateKeys(KEY.join('\n'))[0]).toMatchObject({ index: 0, length: KEY.join('\n').length });
    expect(findPrivateKeys('grep -q "-----BEGIN RSA PRIVATE KEY-----" file')).toEqual([]);
    expect(findUrlPasswords('https://deploy:s3cretPassw0rd@example.com/x')).toEqual([{ index: 15, length: 14, label: expect.stringMatching(/URL/) }]);
    expect(findUrlPasswords('https://gitlab-ci-token:${CI_JOB_TOKEN}@gitlab.com/x.git')).toEqual([]);
    expect(findUrlPasswords('postgresql://postgres:postgres@postgres:5432/test')).toEqual([]);
  });
  // findKnownTokens passes over a text no format matches with one scan of all the formats
  // together: each format must still be found, alone and among others.
  it('finds a token of every known format, alone and after another one', () => {
    const body = (n: number, chars = 'a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ') => chars.repeat(4).slice(0, n);
    const samples = [
      'glpat-' + body(20), 'glrt-' + body(20), 'GR1348941' + body(20), 'gldt-' + body(20), 'glptt-' + body(20), 'glcbt-' + body(20),
      'glft-' + body(20), 'glimt-' + body(20), 'glagent-' + body(40), 'glsoat-' + body(20), 'gloas-' + body(20), 'ghp_' + body(36),
      'github_pat_' + body(22), 'xoxb-' + body(10), 'AKIA' + body(16, 'Q2W3E4R5T6Y7U8I9'), 'sk_live_' + body(20), 'AIza' + body(35),
      'npm_' + body(36), 'pypi-AgEIcHlwaS5vcmc' + body(50), 'dckr_pat_' + body(20), 'hooks.slack.com/services/T0A1B2C3/B4D5E6F7/' + body(24),
    ];
    const labels = new Set<string>();
    for (const token of samples) {
      const hits = findKnownTokens(`curl -H "X: ${token}" https://example.com`);
      expect(hits, token).toEqual([{ index: 12, length: token.length, label: expect.any(String) }]);
      labels.add(hits[0]!.label);
      expect(findKnownTokens(`${GLPAT} ${token}`).map((h) => h.index), token).toEqual([0, GLPAT.length + 1]);
    }
    // One sample per format, and the formats are plain expressions the joined scan can hold.
    expect([...labels].sort()).toEqual(TOKENS.map((t) => t.label).sort());
    for (const t of TOKENS) {
      expect(t.re.flags, t.label).toBe('g');
      expect(t.re.source, t.label).not.toMatch(/\\[1-9]|\\k</);
    }
  });
  it('judges entropy, length and shapes', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
    expect(looksLikeSecretValue(HIGH)).toBe(true);
    for (const v of ['testing-password', 'mysql_strong_password', '$CI_JOB_TOKEN', '${DEPLOY_TOKEN}', 'https://registry.example.com/v2', '/builds/group/project/.token', 'short', 'da39a3ee5e6b4b0d3255bfef95601890afd80709', 'v1.22.333-rc.1', 'the token for the deploy', 'ci-bot@example.com', 'config/credentials.yml']) {
      expect(looksLikeSecretValue(v), v).toBe(false);
    }
  });
});

describe('hardcoded-credential', () => {
  it('flags literal credentials in variables and scripts at the value', async () => {
    await checkRule(rule, {
      valid: [
        'variables:\n  DEPLOY_TOKEN: $VAULT_DEPLOY_TOKEN\nbuild:\n  script: make\n',
        'variables:\n  GIT_AUTHOR_NAME: "Release Bot"\n  TOKEN_FILE: /run/secrets/token\nbuild:\n  script: make\n',
        // High entropy under a name that is not secret-looking (an image digest, a checksum).
        `build:\n  variables:\n    CHECKSUM: ${HIGH}\n  script: make\n`,
        'build:\n  script:\n    - export API_TOKEN=$(cat /run/secrets/api)\n    - \'curl -H "PRIVATE-TOKEN: $API_TOKEN" https://gitlab.example.com/api/v4/projects\'\n',
        'build:\n  script:\n    - git clone https://gitlab-ci-token:${CI_JOB_TOKEN}@gitlab.example.com/g/p.git\n',
        'build:\n  script: echo glpat-xxxxxxxxxxxxxxxxxxxx\n',
      ],
      invalid: [
        {
          name: 'known prefix, global, plain',
          code: `variables:\n  DEPLOY_TOKEN: ${GLPAT}\nbuild:\n  script: make\n`,
          errors: [{ line: 2, column: 17, message: /^Global variable DEPLOY_TOKEN holds a literal GitLab personal.*\(glpat-…\)/ }],
        },
        {
          name: 'quoted, map form, job',
          code: `build:\n  variables:\n    RUNNER:\n      value: "${GLRT}"\n      description: runner\n  script: make\n`,
          errors: [{ line: 4, column: 15, job: 'build', message: /^Variable of job `build` RUNNER holds a literal GitLab runner authentication token/ }],
        },
        {
          name: 'high entropy under a secret name',
          code: `variables:\n  STRIPE_API_KEY: '${HIGH}'\nbuild:\n  script: make\n`,
          errors: [{ line: 2, column: 20, message: /high-entropy value under a secret-looking name/ }],
        },
        {
          name: 'URL password',
          code: 'variables:\n  REPO_URL: https://deploy:s3cretPassw0rd@git.example.com/repo.git\nbuild:\n  script: make\n',
          errors: [{ line: 2, column: 28, message: /password embedded in a URL/ }],
        },
        {
          name: 'private key block in a literal block scalar',
          code: `variables:\n  SSH_KEY: |\n    ${KEY.join('\n    ')}\nbuild:\n  script: make\n`,
          errors: [{ line: 3, column: 5, message: /OPENSSH private key block/ }],
        },
        {
          name: 'rules:variables and hidden job reached through extends (once)',
          code: `.base:\n  variables:\n    AWS_ACCESS_KEY_ID: ${AKIA}\nbuild:\n  extends: .base\n  script: make\ntest:\n  extends: .base\n  script: make\n  rules:\n    - variables:\n        GH: ${GHP}\n`,
          errors: [
            { line: 3, column: 24, message: /Variable of `\.base` AWS_ACCESS_KEY_ID holds a literal AWS access key id/ },
            { line: 12, column: 13, job: 'test', message: /GitHub token/ },
          ],
        },
        {
          name: 'script: token, assignment, option, header',
          code: `deploy:\n  script:\n    - 'curl --header "PRIVATE-TOKEN: ${GLPAT}" https://gitlab.example.com/api/v4/projects'\n    - export NPM_TOKEN="${HIGH}"\n    - docker login -u bot -p ${HIGH} registry.example.com\n`,
          errors: [
            { line: 3, column: 38, job: 'deploy', message: /`script` of job `deploy` contains a literal GitLab personal/ },
            { line: 4, column: 25, job: 'deploy', message: /assigned to NPM_TOKEN/ },
            { line: 5, column: 30, job: 'deploy', message: /command line/ },
          ],
        },
        {
          name: 'default before_script, included file',
          code: 'include: ci/setup.yml\nbuild:\n  script: make\ntest:\n  script: make\n',
          options: { files: { 'ci/setup.yml': `default:\n  before_script:\n    - |\n      echo "${GLPAT}" > ~/.token\n` } },
          errors: [{ file: 'ci/setup.yml', line: 4, column: 13, message: /`before_script` contains a literal GitLab personal/ }],
        },
      ],
    });
  });

  it('never prints the secret in any rendered output', async () => {
    const code = `variables:\n  DEPLOY_TOKEN: ${GLPAT}\n  DB_PASSWORD: "${HIGH}"\n  SSH_KEY: |\n    ${KEY.join('\n    ')}\nbuild:\n  script:\n    - 'curl -H "PRIVATE-TOKEN: ${GLPAT}" https://x.example.com'\n    - export AWS_KEY=${AKIA}\n`;
    const ev = await runRules([rule], code);
    expect(ev.findings.length).toBe(5);
    for (const format of ['text', 'json', 'sarif', 'codequality'] as const) {
      const out = renderFindings(format, { findings: ev.findings, sources: ev.sources, rules: [rule.meta], toolVersion: 'test' });
      for (const secret of [GLPAT, HIGH, AKIA, KEY[1], KEY[2], GLPAT.slice(6), HIGH.slice(4)]) expect(out, format).not.toContain(secret);
      for (const f of ev.findings) expect(f.message).not.toContain(GLPAT.slice(6, 12));
    }
    const text = renderFindings('text', { findings: ev.findings, sources: ev.sources, rules: [rule.meta], toolVersion: 'test' });
    expect(text).toContain('DEPLOY_TOKEN');
    expect(text).toContain('****');
  });

  it('40-hex tokens, database client passwords, Docker auth JSON; service-local secrets are warnings', async () => {
    const HEX40 = '3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e2b4d6f0a';
    const AUTH = Buffer.from('robot:Zq8vLm2Pk9Rt').toString('base64');
    await checkRule(rule, {
      valid: [
        // A commit id under a name that says so.
        `build:\n  variables:\n    UPSTREAM_COMMIT_SHA: ${HEX40}\n  script: make\n`,
        // Passwords from variables.
        'test:\n  script: sqlcmd -S db.example.com -U sa -P "$SA_PASSWORD" -Q "select 1"\n',
        // Auth JSON from a variable.
        'build:\n  script: echo "$DOCKER_AUTH_CONFIG" > ~/.docker/config.json\n',
      ],
      invalid: [
        {
          name: '40 hex under a TOKEN name is a token, not a commit id',
          code: `variables:\n  SONAR_TOKEN: ${HEX40}\nbuild:\n  script: make\n`,
          errors: [{ line: 2, column: 16, severity: 'error', message: /SONAR_TOKEN holds a literal high-entropy value/ }],
        },
        {
          name: 'sqlcmd -P and mysql -p to remote hosts',
          code: 'migrate:\n  script:\n    - sqlcmd -S db.example.com -U sa -P "Winter2024!" -i migrate.sql\n    - mysql -h mysql.example.com -uadmin -pS3cr3tPass app < dump.sql\n',
          errors: [
            { line: 3, column: 42, severity: 'error', message: /literal password passed to `sqlcmd`/ },
            { line: 4, column: 44, severity: 'error', message: /literal password passed to `mysql`/ },
          ],
        },
        {
          name: 'inline DOCKER_AUTH_CONFIG',
          code: `variables:\n  DOCKER_AUTH_CONFIG: '{"auths": {"registry.example.com": {"auth": "${AUTH}"}}}'\nbuild:\n  script: make\n`,
          errors: [{ line: 2, column: 69, severity: 'error', message: /Docker registry auth/ }],
        },
        {
          name: 'password for the job\'s own database service: a warning',
          code: 'test:\n  services: [mysql:8]\n  script:\n    - mysql -h mysql -uroot -pS3cr3tPass -e "select 1"\n',
          errors: [{ line: 4, column: 31, severity: 'warning', message: /for a database the job runs itself/ }],
        },
        {
          name: 'client secret of a throwaway identity provider service: a warning',
          code: `e2e:\n  services:\n    - name: quay.io/keycloak/keycloak:25.0\n      alias: keycloak\n  variables:\n    OIDC_CLIENT_SECRET: ${HIGH}\n  script:\n    - ./e2e.sh --issuer http://keycloak:8080/realms/test --secret "$OIDC_CLIENT_SECRET"\n`,
          errors: [{ line: 6, column: 25, severity: 'warning', message: /used only for the job's own service containers/ }],
        },
      ],
    });
  });

  it('still reads a script item GitLab rejects (an unquoted `PRIVATE-TOKEN: …` read as a mapping), and masks it', async () => {
    const code = `build:\n  script:\n    - curl -H "PRIVATE-TOKEN: ${GLPAT}" https://x.example.com\n`;
    const ev = await runRules([rule], code);
    expect(ev.findings.map((f) => [f.ruleId, f.location.line, f.location.column])).toEqual([['hardcoded-credential', 3, 31]]);
    for (const format of ['text', 'json', 'sarif', 'codequality'] as const) {
      const out = renderFindings(format, { findings: ev.findings, sources: ev.sources, rules: [rule.meta], toolVersion: 'test' });
      expect(out, format).not.toContain(GLPAT.slice(6));
    }
  });
});
