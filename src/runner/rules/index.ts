import type { RunnerRule } from '../model.js';
import { runnerPrivileged } from './runner-privileged.js';
import { runnerHostMount } from './runner-host-mount.js';
import { runnerNetworkHost } from './runner-network-host.js';
import { runnerShellExecutor } from './runner-shell-executor.js';
import { runnerTokenCommitted } from './runner-token-committed.js';
import { runnerPullPolicy } from './runner-pull-policy.js';
import { runnerTlsVerifyDisabled } from './runner-tls-verify-disabled.js';
import { runnerSharedCache } from './runner-shared-cache.js';
import { runnerPersistentBuilds } from './runner-persistent-builds.js';
import { runnerK8sLimits } from './runner-k8s-limits.js';
import { runnerK8sNamespace } from './runner-k8s-namespace.js';

/** Every runner rule, in catalogue order (SPEC.md "Runner rules"). */
export const runnerRules: readonly RunnerRule[] = [
  runnerPrivileged,
  runnerHostMount,
  runnerNetworkHost,
  runnerShellExecutor,
  runnerTokenCommitted,
  runnerPullPolicy,
  runnerTlsVerifyDisabled,
  runnerSharedCache,
  runnerPersistentBuilds,
  runnerK8sLimits,
  runnerK8sNamespace,
];
