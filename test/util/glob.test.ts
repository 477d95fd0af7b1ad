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
  // The patterns of a list are tested as one alternation: each pattern stays whole and anchored.
  it('reads every character of a pattern literally except * and ?, each pattern anchored on its own', () => {
    expect(matchesNamePatterns('A|B', ['A|B'])).toBe(true);
    expect(matchesNamePatterns('A', ['A|B'])).toBe(false);
    expect(matchesNamePatterns('MYXVAR', ['MY.VAR'])).toBe(false);
    expect(matchesNamePatterns('MY.VAR', ['MY.VAR'])).toBe(true);
    expect(matchesNamePatterns('TOKENS', ['TOKEN?'])).toBe(true);
    expect(matchesNamePatterns('TOKEN', ['TOKEN?'])).toBe(false);
    expect(matchesNamePatterns('X_TOKEN_Y', ['X*', 'TOKEN'])).toBe(true);
    expect(matchesNamePatterns('X_TOKEN_Y', ['TOKEN', '*Y_'])).toBe(false);
    expect(matchesNamePatterns('A_TOKEN', ['B*', 'TOKEN'])).toBe(false);
  });
  it('answers for each list by its own patterns', () => {
    expect(matchesNamePatterns('API_TOKEN', ['*TOKEN*'])).toBe(true);
    expect(matchesNamePatterns('API_TOKEN', ['*KEY*'])).toBe(false);
    expect(matchesNamePatterns('API_TOKEN', ['*TOKEN*', '!API_*'])).toBe(false);
  });
});
