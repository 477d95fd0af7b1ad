import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, sha256Hex } from '../../src/findings/finding.js';

// Fingerprints outlive a run (MR discussions, SARIF, baselines): every one must be the SHA-256
// node:crypto gives, whichever of the two implementations sha256Hex used for it.
describe('fingerprints', () => {
  const texts = [
    '',
    'a',
    'untagged-job\u0000.gitlab-ci.yml\u0000build\u0000tags\u0000',
    'x'.repeat(55),
    'x'.repeat(56),
    'x'.repeat(64),
    'y'.repeat(1000),
    'déploiement\u0000ci/部署.yml\u0000job 🚀\u0000script.0\u0000',
    'lone surrogates \ud800 and \udfff',
  ];

  it('are the SHA-256 node:crypto gives, before and after node:crypto takes over', () => {
    // 3 × 100 texts: the JS hashes of the first fingerprints of a process and the native ones after.
    for (let round = 0; round < 300; round++) {
      const text = `${texts[round % texts.length]}\u0000${round}`;
      expect(sha256Hex(text)).toBe(hash('sha256', text, 'hex'));
    }
    for (const text of texts) expect(sha256Hex(text)).toBe(hash('sha256', text, 'hex'));
  });

  it('hash the rule, file, job, key path and discriminator, not the line', () => {
    const parts = { ruleId: 'untagged-job', file: '.gitlab-ci.yml', job: 'build', keyPath: ['tags'], discriminator: 'd' };
    expect(fingerprintOf(parts)).toBe(hash('sha256', 'untagged-job\u0000.gitlab-ci.yml\u0000build\u0000tags\u0000d', 'hex').slice(0, 16));
    expect(fingerprintOf({ ...parts, job: undefined, discriminator: undefined })).toBe(hash('sha256', 'untagged-job\u0000.gitlab-ci.yml\u0000\u0000tags\u0000', 'hex').slice(0, 16));
    expect(fingerprintOf({ ...parts, keyPath: ['script', '0'] })).not.toBe(fingerprintOf(parts));
  });
});
