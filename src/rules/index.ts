import type { RuleMeta } from '../findings/rule-meta.js';
import type { PipelineRule } from './types.js';
import deployUnprotectedRef from './pipeline/deploy-unprotected-ref.js';
import deployRunnerTier from './pipeline/deploy-runner-tier.js';
import deployTierTagMisuse from './pipeline/deploy-tier-tag-misuse.js';
import deployMissingEnvironment from './pipeline/deploy-missing-environment.js';
import secretsInUntrustedContext from './pipeline/secrets-in-untrusted-context.js';
import hardcodedCredential from './pipeline/hardcoded-credential.js';
import privilegedOutsideBuildTier from './pipeline/privileged-outside-build-tier.js';
import scriptInjection from './pipeline/script-injection.js';
import remoteIncludeWithoutIntegrity from './pipeline/remote-include-without-integrity.js';
import untrustedArtifactsIntoDeploy from './pipeline/untrusted-artifacts-into-deploy.js';
import cacheUnprotect from './pipeline/cache-unprotect.js';
import untaggedJob from './pipeline/untagged-job.js';
import deployNotManual from './pipeline/deploy-not-manual.js';
import deployImplicitArtifacts from './pipeline/deploy-implicit-artifacts.js';
import unpinnedImage from './pipeline/unpinned-image.js';
import pullPolicyWeak from './pipeline/pull-policy-weak.js';
import unpinnedInclude from './pipeline/unpinned-include.js';
import dindTlsDisabled from './pipeline/dind-tls-disabled.js';
import dockerDaemonShared from './pipeline/docker-daemon-shared.js';
import debugTraceEnabled from './pipeline/debug-trace-enabled.js';
import curlPipeShell from './pipeline/curl-pipe-shell.js';
import triggerForwardsVariables from './pipeline/trigger-forwards-variables.js';
import ciConfigInvalid from './pipeline/ci-config-invalid.js';
import ciConfigUnverified from './pipeline/ci-config-unverified.js';
import secretPrintedToLog from './pipeline/secret-printed-to-log.js';
import jobTokenMisuse from './pipeline/job-token-misuse.js';
import dockerRunEscape from './pipeline/docker-run-escape.js';
import verificationDisabled from './pipeline/verification-disabled.js';
import manualDeployNotBlocking from './pipeline/manual-deploy-not-blocking.js';
import oidcAudienceBroad from './pipeline/oidc-audience-broad.js';
import artifactExposure from './pipeline/artifact-exposure.js';
import rulesRegexUnanchored from './pipeline/rules-regex-unanchored.js';
import scannerTampering from './pipeline/scanner-tampering.js';
import infraApplyInUntrustedContext from './pipeline/infra-apply-in-untrusted-context.js';

/**
 * The pipeline rule catalogue in the order of SPEC.md. One module per rule under
 * `src/rules/pipeline/<id>.ts`, each with its docs page `docs/rules/<id>.md`.
 */
export const pipelineRules: PipelineRule<unknown>[] = [
  deployUnprotectedRef,
  deployRunnerTier,
  deployTierTagMisuse,
  deployMissingEnvironment,
  secretsInUntrustedContext,
  hardcodedCredential,
  privilegedOutsideBuildTier,
  scriptInjection,
  remoteIncludeWithoutIntegrity,
  untrustedArtifactsIntoDeploy,
  cacheUnprotect,
  untaggedJob,
  deployNotManual,
  deployImplicitArtifacts,
  unpinnedImage,
  pullPolicyWeak,
  unpinnedInclude,
  dindTlsDisabled,
  dockerDaemonShared,
  debugTraceEnabled,
  curlPipeShell,
  triggerForwardsVariables,
  ciConfigInvalid,
  ciConfigUnverified,
  secretPrintedToLog,
  jobTokenMisuse,
  dockerRunEscape,
  verificationDisabled,
  manualDeployNotBlocking,
  infraApplyInUntrustedContext,
  oidcAudienceBroad,
  artifactExposure,
  rulesRegexUnanchored,
  scannerTampering,
];

export function pipelineRuleMetas(): RuleMeta<unknown>[] {
  return pipelineRules.map((r) => r.meta);
}
