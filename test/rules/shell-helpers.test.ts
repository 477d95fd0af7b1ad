import { describe, expect, it } from 'vitest';
import { pointLocation } from '../../src/model/location.js';
import { onceAt } from '../../src/rules/pipeline/_shell.js';
import { imageParts, isDaemonServiceImage, isDindImage } from '../../src/rules/pipeline/privileged-outside-build-tier.js';

describe('onceAt: each written place reported once', () => {
  it('is true the first time a place is met with a text, false after, per file, line, column and text', () => {
    const first = onceAt();
    const at = pointLocation('.gitlab-ci.yml', 3, 5);
    expect(first(at)).toBe(true);
    expect(first(at)).toBe(false);
    expect(first(at, 'TOKEN')).toBe(true);
    expect(first(at, 'TOKEN')).toBe(false);
    expect(first(at, 'OTHER')).toBe(true);
    expect(first(at, 'OTHER')).toBe(false);
    expect(first(at)).toBe(false);
    expect(first(at, 'THIRD')).toBe(true);
    expect(first(pointLocation('.gitlab-ci.yml', 3, 6))).toBe(true);
    expect(first(pointLocation('.gitlab-ci.yml', 4, 5))).toBe(true);
    expect(first(pointLocation('ci/other.yml', 3, 5))).toBe(true);
    // a column far past 65,535 does not reach the next line
    expect(first(pointLocation('.gitlab-ci.yml', 3, 5 + 0x1_0000))).toBe(true);
    // each onceAt keeps its own places
    expect(onceAt()(at)).toBe(true);
  });
});

describe('image names, answered once per name', () => {
  it('splits, recognises dind and daemon images, the same on every ask', () => {
    for (let round = 0; round < 2; round++) {
      expect(imageParts('registry:5000/group/docker:24-dind@sha256:abc')).toEqual({ path: 'registry:5000/group/docker', repo: 'docker', tag: '24-dind', digest: 'sha256:abc' });
      expect(imageParts('alpine')).toEqual({ path: 'alpine', repo: 'alpine', tag: undefined, digest: undefined });
      expect(isDindImage('docker:24.0.5-dind-rootless')).toBe(true);
      expect(isDindImage(' mirror/docker:dind ')).toBe(true);
      expect(isDindImage('docker:29-cli')).toBe(false);
      expect(isDaemonServiceImage('docker:29.6.2')).toBe(true);
      expect(isDaemonServiceImage('docker:29-cli')).toBe(false);
      expect(isDaemonServiceImage('registry.example.com/docker')).toBe(true);
      expect(isDaemonServiceImage('mydocker:1')).toBe(false);
    }
  });
});
