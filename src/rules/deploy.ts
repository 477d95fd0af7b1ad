import { table } from '../util/table.js';
import type { SourceLocation } from '../model/location.js';
import { get, str, type YNode } from '../model/node.js';
import type { Job, Pipeline } from '../model/pipeline.js';
import type { VariableDef } from '../model/variables.js';
import { replaceVariableRefs, type VarRefOptions } from '../model/var-refs.js';
import type { Policy } from '../policy/types.js';
import { matchesAny } from '../util/glob.js';
import { scriptLinesOf } from './engine.js';
import { commandIndex, memoByText, programName, segments, unquote, type Word } from './pipeline/_shell.js';
import type { ScriptLine } from './types.js';

type EnvTier = 'production' | 'staging';
export type RunnerTier = 'deploy-production' | 'deploy-staging' | 'build' | 'general' | 'unknown';

/** What kind of thing says a job deploys. */
type DeployEvidenceKind = 'environment' | 'tags' | 'command' | 'name' | 'stage';

/** What a deploy command changes outside the pipeline. */
export type DeployCommandKind = 'kubernetes' | 'infrastructure' | 'cloud-deploy' | 'registry-push' | 'package-upload' | 'release';

/**
 * One piece of evidence that a job deploys, where it is written. `strong` evidence (a deploying
 * `environment:`, a deploy-tier tag, a command that changes something outside the pipeline)
 * makes a deploy-like job; `weak` evidence (the job or stage name) alone never does.
 */
export interface DeployEvidence {
  kind: DeployEvidenceKind;
  strength: 'strong' | 'weak';
  /** Short text for messages: "`helm upgrade`", "environment `production`", "tag `ci-deploy-prod`". */
  text: string;
  /** For `kind: 'command'`: what the command changes. */
  command?: DeployCommandKind;
  /** For `kind: 'command'`: the script line it is on. */
  line?: ScriptLine;
  at: SourceLocation;
}

export interface DeployInfo {
  /** Environment tier, when it is production or staging. */
  tier?: EnvTier;
  /** Why this is a deploy job: the strongest evidence (environment, then tags, then commands). */
  reason: 'environment' | 'tags' | 'commands';
  environmentName?: string;
  /** The `environment:` node (string or map). */
  environmentNode?: YNode;
  /** The `environment:name` (or the string form) node. */
  nameNode?: YNode;
  /** The strong evidence, in source order per kind (environment, tags, commands). */
  evidence: DeployEvidence[];
}

/** Maps an offset of a script line to the file (the engine's `locateInScript`). */
type ScriptLocator = (line: ScriptLine, index: number, length: number) => SourceLocation;

export interface DeployOptions {
  /** Exact positions of command evidence; without it, the script item's start. */
  locate?: ScriptLocator;
  /** The job's script lines when the caller has them. */
  lines?: readonly ScriptLine[];
  /**
   * The whole pipeline: a package upload that names no registry of its own uses the project's
   * package registry when another job configures it with the job token (an `.npmrc` artifact).
   */
  pipeline?: Pipeline;
}

/**
 * Environment tier: `deployment_tier` when set (`doc/ci/environments/_index.md`: production,
 * staging, testing, development, other), else the name against the policy patterns.
 */
function environmentTier(name: string | undefined, deploymentTier: string | undefined, policy: Policy): EnvTier | undefined {
  if (deploymentTier === 'production' || deploymentTier === 'staging') return deploymentTier;
  if (deploymentTier) return undefined;
  if (!name) return undefined;
  if (matchesAny(name, policy.environments.production)) return 'production';
  if (matchesAny(name, policy.environments.staging)) return 'staging';
  return undefined;
}

/**
 * A deploy job (SPEC "Trust contexts" and "deploy-like"): an `environment` whose action deploys
 * (absent or `start`, `doc/ci/yaml/_index.md#environmentaction`) with a production or staging
 * tier, a job routed to deploy-tier runner tags, or a job whose script changes something outside
 * the pipeline with credentials (see {@link deployCommandEvidence}). Review apps (an environment
 * of another tier) are environment jobs, not deploy jobs, whatever their script runs, so the
 * blocking deploy rules do not flag every review app. Names and stages are never enough.
 */
export function deployInfo(job: Job, policy: Policy, opts: DeployOptions = {}): DeployInfo | undefined {
  const env = environmentOf(job, policy);
  const tagEvidence = deployTagEvidence(job, policy);
  const evidence: DeployEvidence[] = [];
  if (env?.deploys) evidence.push(env.evidence);
  evidence.push(...tagEvidence);
  // An environment that says the job does not deploy to a protected tier (a review app, a stop
  // job) outweighs what its script runs.
  const commandsCount = !env || (env.action === 'start' && env.tierDeclared === undefined);
  if (commandsCount && job.kind !== 'bridge') evidence.push(...deployCommandEvidence(job, opts));
  if (env?.deploys) return { tier: env.tier, reason: 'environment', environmentName: env.name, environmentNode: env.node, nameNode: env.nameNode, evidence };
  if (tagEvidence.length > 0) {
    const tagTierValue = tagTier(job.tags, policy);
    return { tier: tagTierValue === 'deploy-production' ? 'production' : 'staging', reason: 'tags', environmentNode: env?.node, evidence };
  }
  if (evidence.length > 0) return { reason: 'commands', environmentName: env?.name, environmentNode: env?.node, nameNode: env?.nameNode, evidence };
  return undefined;
}

/**
 * Every piece of evidence that a job deploys, strong and weak, in the order environment, tags,
 * commands, name, stage. Other rules reuse it to explain a finding ("runs `helm upgrade` at …").
 */
export function deployEvidence(job: Job, policy: Policy, opts: DeployOptions = {}): DeployEvidence[] {
  const strong = deployInfo(job, policy, opts)?.evidence ?? [];
  return [...strong, ...deployNameEvidence(job)];
}

/**
 * The command evidence as a short phrase for messages: "`helm upgrade` and `kubectl apply`",
 * "`terraform apply`, `docker push` to `x` and 3 more" (distinct texts, at most `max`).
 */
export function describeCommands(evidence: readonly DeployEvidence[], max = 2): string {
  const texts = [...new Set(evidence.filter((e) => e.kind === 'command').map((e) => e.text))];
  if (texts.length <= max) return texts.length <= 1 ? (texts[0] ?? '') : `${texts.slice(0, -1).join(', ')} and ${texts[texts.length - 1]}`;
  return `${texts.slice(0, max).join(', ')} and ${texts.length - max} more`;
}

interface EnvironmentFacts {
  node: YNode;
  nameNode?: YNode;
  name?: string;
  action: string;
  tier?: EnvTier;
  /** The tier the environment declares when it is not production/staging ('review', 'development' …). */
  tierDeclared?: string;
  deploys: boolean;
  evidence: DeployEvidence;
}

/** Names of environments that are review apps / development by convention (`review/*`). */
const NON_DEPLOY_ENV = /^(review|reviews|dev|development|test|testing|qa|preview|feature|mr|pr)([/_-]|$)/i;

function environmentOf(job: Job, policy: Policy): EnvironmentFacts | undefined {
  const env = get(job.node, 'environment');
  if (!env || (env.kind === 'scalar' && env.value === null)) return undefined;
  const nameNode = env.kind === 'map' ? get(env, 'name') : env;
  const name = str(nameNode);
  const action = env.kind === 'map' ? (str(get(env, 'action')) ?? 'start') : 'start';
  const deploymentTier = env.kind === 'map' ? str(get(env, 'deployment_tier')) : undefined;
  const tier = environmentTier(name, deploymentTier, policy);
  let tierDeclared: string | undefined;
  if (!tier) {
    if (deploymentTier) tierDeclared = deploymentTier;
    else if (name && NON_DEPLOY_ENV.test(name)) tierDeclared = 'review';
  }
  const at = (nameNode ?? env).loc;
  return {
    node: env,
    nameNode,
    name,
    action,
    tier,
    tierDeclared,
    deploys: action === 'start' && tier !== undefined,
    evidence: { kind: 'environment', strength: 'strong', text: `${tier ? tier + ' ' : ''}environment \`${name ?? '?'}\``, at },
  };
}

function deployTagEvidence(job: Job, policy: Policy): DeployEvidence[] {
  const t = tagTier(job.tags, policy);
  if (t !== 'deploy-production' && t !== 'deploy-staging') return [];
  const deployTags = [...policy.tiers.deploy.production, ...policy.tiers.deploy.staging];
  const tagsNode = get(job.node, 'tags');
  const out: DeployEvidence[] = [];
  if (tagsNode?.kind === 'seq') {
    for (const it of tagsNode.items) {
      const v = str(it);
      if (v && deployTags.includes(v)) out.push({ kind: 'tags', strength: 'strong', text: `deploy-tier tag \`${v}\``, at: it.loc });
    }
  }
  if (out.length === 0) {
    const v = job.tags.find((x) => deployTags.includes(x)) ?? '?';
    out.push({ kind: 'tags', strength: 'strong', text: `deploy-tier tag \`${v}\``, at: tagsNode?.loc ?? job.keyLoc });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Names and stages (weak evidence)

/** Words that say a job deploys (matched as whole words of the job name or stage). */
const DEPLOY_WORDS = new Set(['deploy', 'deploys', 'deployment', 'deployments', 'release', 'releases']);

/** Words of a name: split on anything not a letter or digit, and at camelCase humps. */
function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** Memoised by name: every job's name and stage is asked, and stages repeat (`test`, `deploy`). */
export const saysDeploy: (name: string) => boolean = memoByText((name) => nameWords(name).some((w) => DEPLOY_WORDS.has(w)));

/** The job name and stage when they say deploy/release: weak evidence, a warning at most. */
export function deployNameEvidence(job: Job): DeployEvidence[] {
  const out: DeployEvidence[] = [];
  if (saysDeploy(job.name)) out.push({ kind: 'name', strength: 'weak', text: `job name \`${job.name}\``, at: job.keyLoc });
  if (saysDeploy(job.stage)) {
    const at = (get(job.node, 'stage') ?? get(job.node, 'type'))?.loc ?? job.keyLoc;
    out.push({ kind: 'stage', strength: 'weak', text: `stage \`${job.stage}\``, at });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Commands that change something outside the pipeline

/**
 * The script commands of a job that change something outside the pipeline with credentials:
 * `helm upgrade|install|rollback|push`, `kubectl|oc apply|set|create|replace|patch|scale|rollout
 * restart|undo`, `terraform|tofu|terragrunt|gitlab-terraform apply|destroy`, `pulumi up|destroy`,
 * `aws|gcloud|az … deploy`, image pushes (`docker|podman|buildah push`, `buildx build --push`,
 * kaniko `--destination`, `crane push|copy`, `skopeo copy|sync`) to a registry other than the
 * project's own (`$CI_REGISTRY_IMAGE`), package uploads (`twine upload`, `npm|yarn|pnpm publish`,
 * `gem push`, `cargo publish`, `poetry publish`, `dotnet nuget push`), `glab release`, and
 * `curl` POST/PUT/upload to an upload or release API with a token. Dry runs, local clusters
 * (kind, k3d, minikube) and the project's own package registry with the job token are not
 * deploys.
 */
export function deployCommandEvidence(job: Job, opts: DeployOptions = {}): DeployEvidence[] {
  // The engine's deploy classification and the rules that read commands ask with the same
  // lines, locator and pipeline: compute once per job. Kept by the locator, one per evaluation:
  // one weak entry per evaluation, not per job (weak maps keyed by short-lived objects cost every
  // young-generation GC), and no entry holds the locator, whose closure holds the evaluation.
  if (!opts.locate) return computeCommandEvidence(job, opts);
  let byJob = commandCache.get(opts.locate);
  if (!byJob) commandCache.set(opts.locate, (byJob = new Map<Job, { lines?: readonly ScriptLine[]; pipeline?: Pipeline; evidence: DeployEvidence[] }>()));
  const hit = byJob.get(job);
  if (hit && hit.lines === opts.lines && hit.pipeline === opts.pipeline) return [...hit.evidence];
  const evidence = computeCommandEvidence(job, opts);
  byJob.set(job, { lines: opts.lines, pipeline: opts.pipeline, evidence });
  return [...evidence];
}
const commandCache = new WeakMap<ScriptLocator, Map<Job, { lines?: readonly ScriptLine[]; pipeline?: Pipeline; evidence: DeployEvidence[] }>>();

function computeCommandEvidence(job: Job, opts: DeployOptions): DeployEvidence[] {
  const lines = opts.lines ?? scriptLinesOf(job.node);
  // Most jobs run nothing that can deploy: no state to set up for them.
  if (inertLines(lines)) return [];
  const locate: ScriptLocator = opts.locate ?? ((line) => line.loc);
  const env = new CommandEnv(job, lines, opts.pipeline);
  const vars = env.vars;
  const out: DeployEvidence[] = [];
  for (const line of lines) {
    // Most lines run no command that can deploy and assign nothing (`make`, `cd build`, `echo`):
    // known per text, and skipped without looking at their words again.
    if (inertLine.of(line)) continue;
    for (const seg of segments.of(line)) {
      const words = seg.words;
      // Assignments the script makes (`export IMAGE=…`, `IMAGE=…`) resolve later pushes.
      recordAssignments(words, vars);
      const ci = commandIndex(words);
      const first = words[ci];
      if (!first) continue; // no command word (only assignments or redirections)
      const hit = classifyCommand(words, ci, env);
      if (!hit) continue;
      const last = words[hit.lastWord] ?? first;
      out.push({
        kind: 'command',
        strength: 'strong',
        text: '`' + hit.text + '`' + (hit.target ? ` to \`${hit.target}\`` : ''),
        command: hit.kind,
        line,
        at: locate(line, first.start, last.end - first.start),
      });
    }
  }
  return out;
}

const LOCAL_CLUSTER = /\b(kind\s+create\s+cluster|k3d\s+cluster\s+create|minikube\s+start|microk8s|k3s\s+server|ctlptl\s+create)\b/;
const LOCAL_CLUSTER_IMAGE = /(^|\/)(k3s|k3d|kind|kindest\/node|minikube)([:@]|$)/;
/** The project's own package registry in the GitLab API (`doc/user/packages/*`). */
const OWN_PACKAGE_REGISTRY = /\/projects\/(\$\{?CI_PROJECT_ID\}?|\$\{?CI_PROJECT_PATH\}?)\/packages\//;

const ownPackagesCache = new WeakMap<Pipeline, boolean>();

/** Whether some job of the pipeline writes the project's package registry with the job token. */
function ownPackagesConfigured(p: Pipeline): boolean {
  let v = ownPackagesCache.get(p);
  if (v === undefined) {
    v = p.jobs.some((j) => scriptLinesOf(j.node).some((l) => OWN_PACKAGE_REGISTRY.test(l.text) && /CI_JOB_TOKEN/.test(l.text)));
    ownPackagesCache.set(p, v);
  }
  return v;
}

function servicesText(job: Job): string[] {
  const s = get(job.node, 'services');
  if (s?.kind !== 'seq') return [];
  return s.items.map((it) => str(it.kind === 'map' ? get(it, 'name') : it) ?? '');
}

interface CommandHit {
  kind: DeployCommandKind;
  /** "helm upgrade", "docker push" … */
  text: string;
  lastWord: number;
  target?: string;
}

/** Values a script line sees: the job's YAML variables, then what the script assigned before it. */
interface VariableValues {
  get(name: string): string | undefined;
}

/**
 * The job's YAML variables as the script changes them (`export IMAGE=…`). Most jobs assign
 * nothing: the YAML values are read in place, and only assignments are kept.
 */
class ScriptVariables implements VariableValues {
  /** Assigned values; `null`: assigned a value not known offline (`$(…)`). */
  private assigned: Map<string, string | null> | undefined;
  constructor(private readonly yaml: ReadonlyMap<string, VariableDef>) {}
  get(name: string): string | undefined {
    const a = this.assigned?.get(name);
    if (a !== undefined) return a ?? undefined;
    return this.yaml.get(name)?.value;
  }
  set(name: string, value: string | null): void {
    (this.assigned ??= new Map()).set(name, value);
  }
}

/**
 * What the whole job says, worked out the first time a command that could deploy asks (most
 * jobs have none): whether it starts a local cluster, whether it writes the project's own
 * package registry, and its registry logins with the YAML variables as written (before the
 * script's assignments change `vars`). A class, so that each job's environment is a plain
 * object whose getters live on the prototype.
 */
class CommandEnv {
  readonly vars: ScriptVariables;
  #text: string | undefined;
  #localCluster: boolean | undefined;
  #ownPackages: boolean | undefined;
  #pipelineOwnPackages: boolean | undefined;
  #logins: { external: boolean } | undefined;

  constructor(
    private readonly job: Job,
    private readonly lines: readonly ScriptLine[],
    private readonly pipeline: Pipeline | undefined,
  ) {
    this.vars = new ScriptVariables(job.variables);
  }

  private jobText(): string {
    return (this.#text ??= this.lines.map((l) => l.text).join('\n'));
  }

  get localCluster(): boolean {
    return (this.#localCluster ??= LOCAL_CLUSTER.test(this.jobText()) || servicesText(this.job).some((s) => LOCAL_CLUSTER_IMAGE.test(s)));
  }

  get ownPackages(): boolean {
    if (this.#ownPackages === undefined) {
      const text = this.jobText();
      const values = [...this.job.variables.values()].map((v) => v.value);
      this.#ownPackages = OWN_PACKAGE_REGISTRY.test(text + '\n' + values.join('\n')) && /CI_JOB_TOKEN/.test(text + values.join(' '));
    }
    return this.#ownPackages;
  }

  /** Another job of the pipeline configures the project's package registry with the job token. */
  get pipelineOwnPackages(): boolean {
    return (this.#pipelineOwnPackages ??= this.pipeline ? ownPackagesConfigured(this.pipeline) : false);
  }

  /** Registries the job logs in to (resolved text), and whether one is not the project's. */
  get logins(): { external: boolean } {
    return (this.#logins ??= registryLogins(this.lines, new ScriptVariables(this.job.variables)));
  }
}

const u = (w: Word | undefined) => (w ? unquote(w.raw) : '');

/** A command's positional arguments: their unquoted text and the index of their word. */
interface Positionals {
  count: number;
  /** The i-th positional's text; '' when there are fewer. */
  text(i: number): string;
  /** The i-th positional's word index; the command word's when there are fewer. */
  word(i: number): number;
}

/** Positional arguments after the command word `ci`, skipping options (and the values of `withValue` ones). */
function positionals(words: readonly Word[], ci: number, withValue: ReadonlySet<string>): Positionals {
  const at = positionalIndexes(words, ci + 1, withValue);
  return {
    count: at.length,
    text: (i) => {
      const k = at[i];
      return k === undefined ? '' : u(words[k]);
    },
    word: (i) => at[i] ?? ci,
  };
}

function positionalIndexes(words: readonly Word[], from: number, withValue: ReadonlySet<string>): number[] {
  const out: number[] = [];
  for (let i = from; i < words.length; i++) {
    const w = u(words[i]);
    if (w === '--') {
      for (let j = i + 1; j < words.length; j++) out.push(j);
      break;
    }
    if (w.startsWith('-') && w.length > 1) {
      if (!w.includes('=') && withValue.has(w)) i++;
      continue;
    }
    if (/^[<>]|^\d?[<>]/.test(w)) {
      // Redirection: `> file` takes the next word.
      if (/^\d?[<>]+&?$/.test(w)) i++;
      continue;
    }
    out.push(i);
  }
  return out;
}

const hasOpt = (words: readonly Word[], from: number, re: RegExp) => words.slice(from).some((w) => re.test(u(w)));
const DRY_RUN = /^--dry-run(=(client|server|true))?$|^--dryrun$|^--what-if$/;

const KUBECTL_VALUE_OPTS = new Set(['-n', '--namespace', '--context', '--kubeconfig', '-s', '--server', '--token', '--cluster', '--user', '--as', '--as-group', '-f', '--filename', '-l', '--selector', '-o', '--output', '-k', '--kustomize', '-c', '--container']);
const HELM_VALUE_OPTS = new Set(['-n', '--namespace', '--kube-context', '--kubeconfig', '--kube-token', '--kube-apiserver', '--kube-as-user', '-f', '--values', '--set', '--set-string', '--set-file', '--version', '--timeout', '-o', '--output', '--repo', '--username', '--password', '--description', '--post-renderer', '--history-max', '--ca-file', '--cert-file', '--key-file']);
const TF_VALUE_OPTS = new Set(['-var', '-var-file', '-target', '-state', '-state-out', '-backup', '-lock-timeout', '-parallelism', '-replace']);
const PULUMI_VALUE_OPTS = new Set(['-C', '--cwd', '-s', '--stack', '-m', '--message', '-c', '--config', '-t', '--target', '--parallel', '-p']);
const DOCKER_VALUE_OPTS = new Set(['-t', '--tag', '-f', '--file', '--build-arg', '--platform', '--target', '--label', '-l', '--cache-from', '--cache-to', '--secret', '--ssh', '--output', '-o', '--progress', '--network', '--builder', '-H', '--host', '--config', '--context', '--iidfile', '--metadata-file', '--add-host', '--annotation', '--attest', '--provenance', '--sbom', '--allow', '--shm-size', '--ulimit']);
const CURL_VALUE_OPTS = new Set(['-X', '--request', '-H', '--header', '-d', '--data', '--data-binary', '--data-raw', '--data-urlencode', '-F', '--form', '-T', '--upload-file', '-u', '--user', '-o', '--output', '-w', '--write-out', '-A', '--user-agent', '-e', '--referer', '--cacert', '--cert', '--key', '-m', '--max-time', '--retry', '--connect-timeout', '-b', '--cookie', '-c', '--cookie-jar', '--url', '--oauth2-bearer', '-K', '--config']);
const GENERIC_VALUE_OPTS = new Set(['-r', '--repository', '--repository-url', '-u', '--username', '-p', '--password', '--registry', '--otp', '--tag', '--access', '--token', '--host', '-k', '--key', '--source', '-s', '--api-key', '--config-file', '--cert', '--client-cert', '--sign-with', '--identity', '-R', '--repo']);

/**
 * The programs classifyCommand has a case for. It answers nothing for any other program (the
 * hosting CLIs of DEPLOY_CLIS aside), so a new case must be named here too, or it never runs.
 */
const CLASSIFIED_PROGRAMS: ReadonlySet<string> = new Set([
  'kubectl',
  'oc',
  'helm',
  'helm3',
  'terraform',
  'tofu',
  'terragrunt',
  'gitlab-terraform',
  'gitlab-tofu',
  'pulumi',
  'aws',
  'gcloud',
  'az',
  'docker',
  'podman',
  'buildah',
  'nerdctl',
  'executor',
  'kaniko',
  'crane',
  'skopeo',
  'regctl',
  'twine',
  'python',
  'python3',
  'py',
  'npm',
  'pnpm',
  'yarn',
  'gem',
  'cargo',
  'poetry',
  'uv',
  'flit',
  'hatch',
  'dotnet',
  'nuget',
  'glab',
  'curl',
]);

const classified = (base: string): boolean => CLASSIFIED_PROGRAMS.has(base) || DEPLOY_CLIS[base] !== undefined;

/** Whether some command of a text runs a program classifyCommand knows. */
const runsClassified = memoByText((text: string): boolean => segments(text).some((seg) => classified(programName(seg.words[commandIndex(seg.words)]).toLowerCase())));

/**
 * A script line that runs no program classifyCommand knows and assigns no variable
 * (recordAssignments: an ASSIGNING_BUILTINS word or `NAME=…` first): the deploy classification
 * has nothing to do there. A function of the text alone, memoised per text.
 */
const inertLine = memoByText(
  (text: string): boolean =>
    !runsClassified(text) &&
    segments(text).every((seg) => {
      const head = u(seg.words[0]);
      return !ASSIGNING_BUILTINS.has(head) && head.indexOf('=') <= 0;
    }),
);

/**
 * Whether no line of a list runs a program classifyCommand knows: then the job has no command
 * evidence, whatever its lines assign (assignments only resolve the targets of such commands).
 * Remembered per list (`scriptLinesOf` shares a job's list with the jobs that inherit its
 * scripts), so those jobs look at their lines once.
 */
function inertLines(lines: readonly ScriptLine[]): boolean {
  let hit = inertLists.get(lines);
  if (hit === undefined) inertLists.set(lines, (hit = lines.every((l) => !runsClassified.of(l))));
  return hit;
}
const inertLists = new WeakMap<readonly ScriptLine[], boolean>();

function classifyCommand(words: readonly Word[], ci: number, env: CommandEnv): CommandHit | undefined {
  const prog = programName(words[ci]);
  const base = prog.toLowerCase();
  if (!classified(base)) return undefined;
  // Asked only by the commands that can deploy: most script commands are none of them.
  const dry = () => hasOpt(words, ci + 1, DRY_RUN);
  switch (base) {
    case 'kubectl':
    case 'oc': {
      if (env.localCluster || dry()) return undefined;
      const pos = positionals(words, ci, KUBECTL_VALUE_OPTS);
      const sub = pos.text(0);
      const sub2 = pos.text(1);
      const mutating = ['apply', 'set', 'create', 'replace', 'patch', 'scale', 'new-app', 'start-build', 'autoscale'];
      if (mutating.includes(sub)) return { kind: 'kubernetes', text: `${base} ${sub}`, lastWord: pos.word(0) };
      if (sub === 'rollout' && ['restart', 'undo', 'resume', 'pause'].includes(sub2)) return { kind: 'kubernetes', text: `${base} rollout ${sub2}`, lastWord: pos.word(1) };
      return undefined;
    }
    case 'helm':
    case 'helm3': {
      if (dry()) return undefined;
      const pos = positionals(words, ci, HELM_VALUE_OPTS);
      const sub = pos.text(0);
      if (['upgrade', 'install', 'rollback'].includes(sub)) {
        if (env.localCluster) return undefined;
        return { kind: 'kubernetes', text: `helm ${sub}`, lastWord: pos.word(0) };
      }
      if (sub === 'push' || sub === 'cm-push') {
        const target = expandVars(pos.text(2), env.vars);
        if (!target || ownRegistry(target.replace(/^oci:\/\//, '')) || OWN_PACKAGE_REGISTRY.test(target) || isLocalRegistry(target.replace(/^oci:\/\//, ''))) return undefined;
        return { kind: 'registry-push', text: `helm ${sub}`, lastWord: pos.word(0), target: short(target) };
      }
      return undefined;
    }
    case 'terraform':
    case 'tofu':
    case 'terragrunt':
    case 'gitlab-terraform':
    case 'gitlab-tofu': {
      const pos = positionals(words, ci, TF_VALUE_OPTS);
      let k = 0;
      if (base === 'terragrunt' && pos.text(0) === 'run-all') k = 1;
      const sub = pos.text(k);
      if (sub === 'apply' || sub === 'destroy') return { kind: 'infrastructure', text: `${base}${k ? ' run-all' : ''} ${sub}`, lastWord: pos.word(k) };
      return undefined;
    }
    case 'pulumi': {
      const pos = positionals(words, ci, PULUMI_VALUE_OPTS);
      const sub = pos.text(0);
      if ((sub === 'up' || sub === 'update' || sub === 'destroy') && !hasOpt(words, ci + 1, /^--preview-only$/)) return { kind: 'infrastructure', text: `pulumi ${sub}`, lastWord: pos.word(0) };
      return undefined;
    }
    case 'aws':
    case 'gcloud':
    case 'az': {
      if (dry()) return undefined;
      const pos = positionals(words, ci, new Set(['--region', '--profile', '--project', '--output', '--query', '-g', '--resource-group', '--subscription', '--name', '-n', '--zone', '--configuration', '--endpoint-url']));
      const subs = Array.from({ length: Math.min(pos.count, 4) }, (_, i) => pos.text(i));
      const readOnly = subs.some((x) => /^(list|show|describe|get|validate|what-if|wait|status|help|create-plan)$/.test(x) || /^(list|describe|get)-/.test(x));
      if (readOnly) return undefined;
      const d = subs.findIndex((x) => /^deploy(ment)?$/.test(x));
      const awsUpdate = base === 'aws' ? subs.findIndex((x) => /^(update-service|update-function-code|update-environment|create-deployment|update-stack|create-stack)$/.test(x)) : -1;
      const k = d >= 0 ? d : awsUpdate;
      if (k < 0) return undefined;
      return { kind: 'cloud-deploy', text: [base, ...subs.slice(0, k + 1)].join(' '), lastWord: pos.word(k) };
    }
    case 'docker':
    case 'podman':
    case 'buildah':
    case 'nerdctl':
      return imagePush(words, ci, base, env);
    case 'executor':
    case 'kaniko': {
      if (hasOpt(words, ci + 1, /^--no-push(=true)?$/)) return undefined;
      const targets: string[] = [];
      for (let i = ci + 1; i < words.length; i++) {
        const w = u(words[i]);
        if (w === '--destination' || w === '-d') targets.push(u(words[++i]));
        else if (w.startsWith('--destination=')) targets.push(w.slice('--destination='.length));
      }
      return pushHit(targets, env, { kind: 'registry-push', text: 'kaniko --destination', lastWord: ci });
    }
    case 'crane':
    case 'skopeo':
    case 'regctl': {
      const pos = positionals(words, ci, new Set(['--platform', '--src-creds', '--dest-creds', '--authfile', '--src-authfile', '--dest-authfile', '--format', '-f']));
      const sub = pos.text(0);
      let k = 0;
      let ok = false;
      if (base === 'crane' && ['push', 'copy', 'cp', 'append'].includes(sub)) ok = true;
      if (base === 'skopeo' && ['copy', 'sync'].includes(sub)) ok = true;
      if (base === 'regctl' && sub === 'image' && ['copy', 'cp'].includes(pos.text(1))) {
        ok = true;
        k = 1;
      }
      if (!ok) return undefined;
      const target = pos.text(k + 2).replace(/^docker:\/\//, '');
      return pushHit([target], env, { kind: 'registry-push', text: `${base} ${sub}${k ? ' ' + pos.text(1) : ''}`, lastWord: pos.word(k) });
    }
    case 'twine':
      return packageUpload(words, ci, ['upload'], 'twine', env, dry());
    case 'python':
    case 'python3':
    case 'py': {
      if (u(words[ci + 1]) === '-m' && u(words[ci + 2]) === 'twine') return packageUpload(words, ci + 2, ['upload'], 'python -m twine', env, dry());
      return undefined;
    }
    case 'npm':
    case 'pnpm':
    case 'yarn': {
      const sub = u(words[ci + 1]);
      if (base === 'yarn' && sub === 'npm') return packageUpload(words, ci + 1, ['publish'], 'yarn npm', env, dry());
      return packageUpload(words, ci, ['publish'], base, env, dry());
    }
    case 'gem':
      return packageUpload(words, ci, ['push'], 'gem', env, dry());
    case 'cargo':
    case 'poetry':
    case 'uv':
    case 'flit':
    case 'hatch':
      return packageUpload(words, ci, ['publish'], base, env, dry());
    case 'dotnet':
      if (u(words[ci + 1]) === 'nuget') return packageUpload(words, ci + 1, ['push'], 'dotnet nuget', env, dry());
      return undefined;
    case 'nuget':
      return packageUpload(words, ci, ['push'], 'nuget', env, dry());
    case 'glab': {
      const pos = positionals(words, ci, GENERIC_VALUE_OPTS);
      if (pos.text(0) === 'release' && ['create', 'upload'].includes(pos.text(1))) return { kind: 'release', text: `glab release ${pos.text(1)}`, lastWord: pos.word(1) };
      return undefined;
    }
    case 'curl':
      return curlUpload(words, ci, env);
    default: {
      // Hosting and deployment CLIs whose deploy subcommand publishes (`firebase deploy`,
      // `theme deploy`, `serverless deploy`, `cf push` …).
      const subs = DEPLOY_CLIS[base];
      if (!subs || dry()) return undefined;
      const pos = positionals(words, ci, GENERIC_VALUE_OPTS);
      const sub = pos.text(0);
      if (subs.includes(sub)) return { kind: 'cloud-deploy', text: `${base} ${sub}`, lastWord: pos.word(0) };
      // `vercel --prod`, `netlify deploy --prod`: the bare form deploys too.
      if (subs.includes('') && pos.count === 0 && hasOpt(words, ci + 1, /^--prod$/)) return { kind: 'cloud-deploy', text: `${base} --prod`, lastWord: ci };
      return undefined;
    }
  }
}

/** Deployment CLIs and the subcommands that deploy ('' = the bare command with `--prod`). */
const DEPLOY_CLIS = table<string[]>({
  firebase: ['deploy'],
  netlify: ['deploy'],
  vercel: ['deploy', ''],
  serverless: ['deploy'],
  sls: ['deploy'],
  theme: ['deploy'],
  fly: ['deploy'],
  flyctl: ['deploy'],
  cf: ['push'],
  eb: ['deploy'],
  kamal: ['deploy'],
  wrangler: ['deploy', 'publish'],
  heroku: ['deploy'],
  railway: ['up'],
  dpl: [],
  cap: ['deploy'],
  dep: ['deploy'],
  ansible: [],
  surge: [],
  now: ['deploy'],
});

function packageUpload(words: readonly Word[], ci: number, subs: string[], label: string, env: CommandEnv, dry: boolean): CommandHit | undefined {
  if (dry) return undefined;
  const pos = positionals(words, ci, GENERIC_VALUE_OPTS);
  const sub = pos.text(0);
  if (!subs.includes(sub)) return undefined;
  const segText = words.map((w) => w.raw).join(' ');
  const jobToken = /CI_JOB_TOKEN/.test(segText) || env.ownPackages;
  const own = (OWN_PACKAGE_REGISTRY.test(expandVars(segText, env.vars)) || env.ownPackages) && jobToken;
  if (own) return undefined;
  // No registry or credential on the command line: the one another job configured.
  const namesRegistry = hasOpt(words, ci + 1, /^(--registry|--repository-url|-r|--repository|--host|--index|--source|-s|--token|--api-key|-k|--publish-url)(=|$)/);
  if (env.pipelineOwnPackages && !namesRegistry && !CREDENTIAL_VAR.test(segText)) return undefined;
  return { kind: 'package-upload', text: `${label} ${sub}`, lastWord: pos.word(0) };
}

function imagePush(words: readonly Word[], ci: number, base: string, env: CommandEnv): CommandHit | undefined {
  const pos = positionals(words, ci, DOCKER_VALUE_OPTS);
  let sub = pos.text(0);
  let k = 0;
  if ((sub === 'image' || sub === 'manifest') && pos.text(1) === 'push') {
    k = 1;
    sub = sub + ' push';
  }
  if (sub === 'push' || sub.endsWith(' push')) {
    const target = pos.text(k + 1);
    return pushHit([target], env, { kind: 'registry-push', text: `${base} ${sub}`, lastWord: pos.word(k) });
  }
  // `docker build --push`, `docker buildx build --push`, `buildx bake --push` push their tags.
  const isBuild = sub === 'build' || (sub === 'buildx' && ['build', 'b'].includes(pos.text(1)));
  if (isBuild && hasOpt(words, ci + 1, /^--push(=true)?$|^--output=.*push=true/)) {
    const targets: string[] = [];
    for (let i = ci + 1; i < words.length; i++) {
      const w = u(words[i]);
      if (w === '-t' || w === '--tag') targets.push(u(words[++i]));
      else if (w.startsWith('--tag=')) targets.push(w.slice(6));
      else if (/^-t./.test(w)) targets.push(w.slice(2));
    }
    const last = pos.word(sub === 'buildx' ? 1 : 0);
    return pushHit(targets, env, { kind: 'registry-push', text: `${base} ${sub === 'buildx' ? 'buildx build' : 'build'} --push`, lastWord: last });
  }
  return undefined;
}

/** A push is a deploy when one of its targets is outside the project's own registry. */
function pushHit(targets: string[], env: CommandEnv, hit: CommandHit): CommandHit | undefined {
  for (const raw of targets) {
    if (!raw) continue;
    const t = expandVars(raw, env.vars);
    if (ownRegistry(t) || isLocalRegistry(t)) continue;
    // An unresolved variable names the registry: external only when the job logs in to a
    // registry that is not the project's own.
    if (/^\$/.test(t) && !env.logins.external) continue;
    return { ...hit, target: short(raw) };
  }
  return undefined;
}

function short(s: string): string {
  return s.length > 80 ? s.slice(0, 77) + '…' : s;
}

/** `$CI_REGISTRY_IMAGE…`, `$CI_REGISTRY/…`, `registry.gitlab.com/$CI_PROJECT_PATH…`. */
function ownRegistry(image: string): boolean {
  return /^(\$\{?CI_REGISTRY_IMAGE\}?|\$\{?CI_REGISTRY\}?\/|\$\{?CI_TEMPLATE_REGISTRY_HOST\}?\/\$\{?CI_PROJECT_PATH\}?)/.test(image) || /^[\w.-]+(:\d+)?\/\$\{?CI_PROJECT_PATH\}?([/:]|$)/.test(image);
}

function isLocalRegistry(image: string): boolean {
  return /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\//.test(image);
}

/** `$X` and `${X}` as a shell expands them in a value (no `$$` escape there: that is the PID). */
const SHELL_DOLLAR_REFS: VarRefOptions = { dollarEscape: false, powershell: false, percent: false };

/** `$X`/`${X}` replaced by known values (a few rounds, for values that name other variables). */
function expandVars(text: string, vars: VariableValues): string {
  let out = text;
  for (let round = 0; round < 4 && out.includes('$'); round++) {
    const next = replaceVariableRefs(out, (name) => vars.get(name), SHELL_DOLLAR_REFS);
    if (next === out) break;
    out = next;
  }
  return out;
}

/** Builtins whose arguments assign (`export IMAGE=…`): recordAssignments reads past them, inertLine keeps their lines. */
const ASSIGNING_BUILTINS: ReadonlySet<string> = new Set(['export', 'declare', 'local']);

function recordAssignments(words: readonly Word[], vars: ScriptVariables): void {
  const head = u(words[0]);
  let i = ASSIGNING_BUILTINS.has(head) ? 1 : 0;
  for (; i < words.length; i++) {
    const w = u(words[i]);
    const eq = w.indexOf('=');
    if (eq <= 0) break;
    const name = w.slice(0, eq);
    if (!/^[A-Za-z_]\w*$/.test(name)) break;
    const value = w.slice(eq + 1);
    // `$(…)` values are unknown: forget a YAML default rather than trust it.
    vars.set(name, value.includes('$(') || value.includes('`') ? null : value);
  }
}

const LOGIN_PROGS = new Set(['docker', 'podman', 'buildah', 'crane', 'skopeo', 'helm', 'oras', 'regctl', 'nerdctl']);

/** Whether the job logs in to a registry other than `$CI_REGISTRY` (then an unresolved push target is external). */
function registryLogins(lines: readonly ScriptLine[], vars: VariableValues): { external: boolean } {
  let external = false;
  for (const line of lines) {
    for (const seg of segments.of(line)) {
      const ci = commandIndex(seg.words);
      const prog = programName(seg.words[ci]);
      if (!LOGIN_PROGS.has(prog)) continue;
      const pos = positionals(seg.words, ci, new Set(['-u', '--username', '-p', '--password', '--authfile']));
      let k = 0;
      if ((prog === 'crane' || prog === 'helm' || prog === 'regctl') && ['auth', 'registry'].includes(pos.text(0))) k = 1;
      if (pos.text(k) !== 'login') continue;
      const host = expandVars(pos.text(k + 1), vars);
      if (!host) continue; // Docker Hub by default, but usually a `$CI_REGISTRY` from the environment
      if (/^\$\{?CI_REGISTRY\}?$/.test(host) || /^\$\{?CI_DEPENDENCY_PROXY/.test(host)) continue;
      external = true;
    }
  }
  return { external };
}

const TOKEN_HEADER = /^(private-token|job-token|deploy-token|authorization|x-[\w-]*token|x-api-key|token)\s*:/i;
const CREDENTIAL_VAR = /\$\{?([A-Za-z_]*(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|AUTH|CREDENTIALS?)[A-Za-z_0-9]*)\}?/i;
const UPLOAD_URL = /upload|release|publish|deploy|packages|artifactory|nexus|\/api\/.*\/(assets|files)/i;

function curlUpload(words: readonly Word[], ci: number, env: CommandEnv): CommandHit | undefined {
  let method = '';
  let uploads = false;
  let token = '';
  const urls: string[] = [];
  for (let i = ci + 1; i < words.length; i++) {
    const w = u(words[i]);
    const val = () => u(words[++i]);
    if (w === '-X' || w === '--request') method = val().toUpperCase();
    else if (/^-X[A-Z]+$/.test(w)) method = w.slice(2);
    else if (w.startsWith('--request=')) method = w.slice(10).toUpperCase();
    else if (w === '-T' || w === '--upload-file' || w === '-F' || w === '--form' || w === '--data-binary' || w === '-d' || w === '--data' || w === '--data-raw') {
      const v = val();
      uploads = true;
      const name = CREDENTIAL_VAR.exec(v)?.[1];
      if (name && !token) token = name;
    } else if (w === '-H' || w === '--header') {
      const h = val();
      if (TOKEN_HEADER.test(h) || CREDENTIAL_VAR.test(h)) token = (CREDENTIAL_VAR.exec(h)?.[1] ?? h.replace(/:.*$/s, '')).trim();
    } else if (w === '-u' || w === '--user' || w === '--oauth2-bearer') {
      token = val() || 'user';
    } else if (w === '--url') urls.push(val());
    else if (CURL_VALUE_OPTS.has(w)) i++;
    else if (!w.startsWith('-')) urls.push(w);
  }
  if (!(method === 'POST' || method === 'PUT' || method === 'PATCH' || uploads)) return undefined;
  if (!token) return undefined;
  const url = urls.map((x) => expandVars(x, env.vars)).find((x) => UPLOAD_URL.test(x));
  if (!url) return undefined;
  const jobToken = /CI_JOB_TOKEN/.test(token) || words.some((w) => /CI_JOB_TOKEN/.test(w.raw));
  if (jobToken && /\/projects\/(\$\{?CI_PROJECT_ID\}?|\$\{?CI_PROJECT_PATH\}?)\b/.test(url)) return undefined;
  if (jobToken && /^\$\{?(CI_API_V4_URL|CI_SERVER_URL)\}?/.test(url) && !/\/projects\/\d/.test(url) && /\$\{?CI_PROJECT_(ID|PATH)/.test(url)) return undefined;
  const shown = urls.find((x) => UPLOAD_URL.test(expandVars(x, env.vars))) ?? url;
  return { kind: /release/i.test(url) ? 'release' : 'package-upload', text: `curl ${method || 'upload'}`, lastWord: ci, target: short(shown) };
}

/** The tier a job's tags route to. Any deploy tag makes it deploy tier; no tags: 'unknown'. */
export function tagTier(tags: readonly string[], policy: Policy): RunnerTier {
  if (tags.length === 0) return 'unknown';
  if (tags.some((t) => policy.tiers.deploy.production.includes(t))) return 'deploy-production';
  if (tags.some((t) => policy.tiers.deploy.staging.includes(t))) return 'deploy-staging';
  if (tags.some((t) => policy.tiers.build.includes(t))) return 'build';
  if (tags.some((t) => policy.tiers.general.includes(t))) return 'general';
  return 'unknown';
}
