import { describe, expect, it } from 'vitest';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { matchesNamePatterns } from '../../src/util/glob.js';

describe('credential-like names with the default policy', () => {
  const patterns = builtinPolicy().secretVariables;
  it('matches kubeconfigs, keystores, private, deploy and push keys and *_KEY', () => {
    for (const n of ['PROD_KUBECONFIG', 'KUBECONFIG', 'ANDROID_KEYSTORE', 'KEYSTORE_PASS', 'SSH_PRIVATEKEY', 'GIT_DEPLOY_KEY', 'PUSH_KEY_B64', 'SENTRY_KEY', 'sentry_key', 'DEPLOY_TOKEN']) {
      expect(matchesNamePatterns(n, patterns), n).toBe(true);
    }
  });
  it('leaves out cache keys and public keys, and names that only contain KEY', () => {
    for (const n of ['CACHE_KEY', 'GO_CACHE_KEY_PREFIX', 'COSIGN_PUBLIC_KEY', 'SSH_PUB_KEY', 'KEY', 'KEYS_DIR', 'MONKEY_COUNT']) {
      expect(matchesNamePatterns(n, patterns), n).toBe(false);
    }
  });
  it('an exclusion only removes what a pattern matched', () => {
    expect(matchesNamePatterns('A_PUBLIC_KEY', ['*_KEY'])).toBe(true);
    expect(matchesNamePatterns('A_PUBLIC_KEY', ['*_KEY', '!*PUBLIC_KEY'])).toBe(false);
    expect(matchesNamePatterns('HOME', ['!*PUBLIC_KEY'])).toBe(false);
  });
});
