import type { Policy } from './types.js';

/**
 * The built-in organisation baseline. `policies/default.yaml` ships the same values (a test
 * keeps them equal) so an administrator edits a file, not code; with no policy directory at
 * all, the CLI still judges by this baseline.
 */
export function builtinPolicy(): Policy {
  return {
    tiers: {
      general: ['ci-general'],
      build: ['ci-build'],
      deploy: { production: ['ci-deploy-prod'], staging: ['ci-deploy-staging'] },
    },
    environments: {
      production: ['production', 'production/*', 'prod', 'prod-*', 'prod/*', 'live'],
      staging: ['staging', 'staging/*', 'stage', 'stage-*', 'pre-prod*', 'preprod*'],
    },
    protected: { branches: [], tags: ['v*'] },
    secretVariables: [
      '*TOKEN*',
      '*PASSWORD*',
      '*PASSWD*',
      '*SECRET*',
      '*PRIVATE_KEY*',
      '*API_KEY*',
      '*APIKEY*',
      '*ACCESS_KEY*',
      '*CREDENTIAL*',
      '*_PAT',
      '*AUTH*',
      '*KUBECONFIG*',
      '*KEYSTORE*',
      '*PRIVATEKEY*',
      '*_KEY',
      '*DEPLOY_KEY*',
      '*PUSH_KEY*',
      '!*PUBLIC_KEY',
      '!*PUB_KEY',
      '!*CACHE_KEY*',
    ],
    remoteIncludeHosts: [],
    rules: {},
    runners: {
      tiers: { deploy: ['*deploy*'], build: ['*build*'] },
      privilegedAllowed: [],
      deniedHostPaths: ['/var/run/docker.sock', '/run/docker.sock', '/', '/etc', '/var/lib/docker', '/root', '/home', '/proc', '/sys', '/dev'],
    },
    review: { blockOn: 'new', allowProjectOverrides: false },
    exceptions: [],
    sources: ['<built-in>'],
  };
}
