/**
 * The Helm chart, checked by the real helm (v4, fetched by test/ship/helm.ts): `helm lint
 * --strict`, the values schema as helm applies it, and the manifests `helm install
 * --dry-run=client` renders (with NOTES.txt) over a table of value sets.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadPolicy } from '../../src/policy/load.js';
import { HELM_BIN, HELM_VERSION } from './helm.js';
import { defined } from '../support/defined.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CHART = join(ROOT, 'helm', 'tierguard');
const read = (p: string) => readFileSync(join(CHART, p), 'utf8');

const chart = YAML.parse(read('Chart.yaml')) as Record<string, any>;
const values = YAML.parse(read('values.yaml')) as Record<string, any>;
const templates: Record<string, string> = {};
for (const f of readdirSync(join(CHART, 'templates'))) templates[f] = read(join('templates', f));
const CI_DEFAULT = join(CHART, 'ci', 'default-values.yaml');
const CI_FULL = join(CHART, 'ci', 'full-values.yaml');
const ciDefault = YAML.parse(read('ci/default-values.yaml'));
const ciFull = YAML.parse(read('ci/full-values.yaml'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});
const scratch = mkdtempSync(join(tmpdir(), 'tg-helm-'));
tmpDirs.push(scratch);
// helm keeps its own state out of $HOME.
const helmEnv = {
  PATH: process.env.PATH ?? '',
  HOME: scratch,
  HELM_CACHE_HOME: join(scratch, 'cache'),
  HELM_CONFIG_HOME: join(scratch, 'config'),
  HELM_DATA_HOME: join(scratch, 'data'),
  KUBECONFIG: join(scratch, 'no-kubeconfig'),
};

function helm(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(HELM_BIN, args, { env: helmEnv, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let fileNo = 0;
/** Value sets as helm `-f` arguments: paths as they are, objects written to YAML files. */
function valueArgs(sets: Array<string | object>): string[] {
  return sets.flatMap((v) => {
    if (typeof v === 'string') return ['-f', v];
    fileNo += 1;
    const file = join(scratch, `values-${fileNo}.yaml`);
    writeFileSync(file, YAML.stringify(v));
    return ['-f', file];
  });
}

type K8s = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: any };

interface Rendered {
  /** Rendered text per template file name. */
  files: Record<string, string>;
  docs: K8s[];
  notes: string;
  one(kind: string): K8s;
  maybe(kind: string): K8s | undefined;
}

class HelmError extends Error {}

/** `helm install --dry-run=client` (manifests and NOTES, no cluster); throws helm's error. */
function renderWith(sets: Array<string | object>, opts: { release?: string } = {}): Rendered {
  const r = helm(['install', opts.release ?? 'tg', CHART, '--dry-run=client', '--namespace', 'ci', '-o', 'json', ...valueArgs(sets)]);
  if (r.status !== 0) throw new HelmError(r.stderr.trim());
  const release = JSON.parse(r.stdout) as { manifest: string; info: { notes: string } };
  const files: Record<string, string> = {};
  const docs: K8s[] = [];
  for (const part of release.manifest.split(/^---$/m)) {
    const source = /^# Source: tierguard\/templates\/(\S+)$/m.exec(part)?.[1];
    if (!source) continue;
    files[source] = (files[source] ?? '') + part;
    const doc = YAML.parseDocument(part);
    expect(doc.errors, `${source}: ${doc.errors.map((e) => e.message).join('; ')}`).toEqual([]);
    expect(doc.warnings, source).toEqual([]);
    const js = doc.toJS();
    if (js !== null) docs.push(js);
  }
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  return {
    files,
    docs,
    notes: release.info.notes,
    one(kind) {
      const found = byKind(kind);
      expect(found, kind).toHaveLength(1);
      return defined(found[0], kind);
    },
    maybe(kind) {
      const found = byKind(kind);
      expect(found.length).toBeLessThanOrEqual(1);
      return found[0];
    },
  };
}

/** helm's error for a value set that must not render. */
function refusal(sets: Array<string | object>): string {
  try {
    renderWith(sets);
  } catch (e) {
    if (e instanceof HelmError) return e.message;
    throw e;
  }
  throw new Error(`helm rendered ${JSON.stringify(sets)}`);
}

const envOf = (r: Rendered) => new Map<string, any>(r.one('Deployment').spec.template.spec.containers[0].env.map((e: { name: string }) => [e.name, e]));

const API_VERSIONS: Record<string, string> = {
  Deployment: 'apps/v1',
  Service: 'v1',
  ServiceAccount: 'v1',
  Secret: 'v1',
  ConfigMap: 'v1',
  Ingress: 'networking.k8s.io/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
  PodDisruptionBudget: 'policy/v1',
  ServiceMonitor: 'monitoring.coreos.com/v1',
};

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** What `helm lint` + kubeconform would catch, and the cross-references they would not. */
function checkStructure(r: Rendered, release = 'tg'): void {
  const names = new Set<string>();
  for (const d of r.docs) {
    expect(API_VERSIONS[d.kind], `unexpected kind ${d.kind}`).toBeDefined();
    expect(d.apiVersion, d.kind).toBe(API_VERSIONS[d.kind]);
    expect(d.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(d.metadata.name.length).toBeLessThanOrEqual(63);
    expect(names.has(`${d.kind}/${d.metadata.name}`), 'duplicate object').toBe(false);
    names.add(`${d.kind}/${d.metadata.name}`);
    expect(d.metadata.labels?.['app.kubernetes.io/name']).toBe('tierguard');
    expect(d.metadata.labels?.['app.kubernetes.io/instance']).toBe(release);
    expect(d.metadata.labels?.['helm.sh/chart']).toBe(`tierguard-${chart.version}`);
    for (const v of Object.values(d.metadata.labels ?? {})) expect(typeof v, 'label values are strings').toBe('string');
  }

  const dep = r.one('Deployment');
  const pod = dep.spec.template;
  const podLabels = pod.metadata.labels as Record<string, string>;
  expect(matches(dep.spec.selector.matchLabels, podLabels)).toBe(true);
  const container = pod.spec.containers[0];
  const portNames = new Set<string>(container.ports.map((p: { name: string }) => p.name));
  for (const n of portNames) expect(n.length).toBeLessThanOrEqual(15);

  const svc = r.one('Service');
  expect(matches(svc.spec.selector, podLabels)).toBe(true);
  for (const p of svc.spec.ports) expect(portNames.has(p.targetPort)).toBe(true);

  for (const probe of [container.livenessProbe, container.readinessProbe]) expect(portNames.has(probe.httpGet.port)).toBe(true);

  const mounts = container.volumeMounts as Array<{ name: string; mountPath: string }>;
  const volumes = pod.spec.volumes as Array<{ name: string; configMap?: { name: string; items?: Array<{ key: string; path: string }> } }>;
  for (const m of mounts) expect(volumes.some((v) => v.name === m.name), `volume ${m.name}`).toBe(true);
  for (const v of volumes.filter((x) => x.configMap)) {
    const cm = r.docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === v.configMap!.name);
    expect(cm, `ConfigMap ${v.configMap!.name}`).toBeDefined();
    for (const item of v.configMap!.items ?? []) expect(Object.keys(cm!.data), item.key).toContain(item.key);
    for (const key of Object.keys(cm!.data ?? {})) expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);
  }

  const secret = r.maybe('Secret');
  for (const e of container.env as Array<{ name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref && secret && ref.name === secret.metadata.name) expect(Object.keys(secret.data), e.name).toContain(ref.key);
  }

  const sa = r.maybe('ServiceAccount');
  if (sa) expect(pod.spec.serviceAccountName).toBe(sa.metadata.name);

  const ing = r.maybe('Ingress');
  for (const rule of ing?.spec.rules ?? []) {
    for (const p of rule.http.paths) {
      expect(p.backend.service.name).toBe(svc.metadata.name);
      expect(svc.spec.ports.map((x: { port: number }) => x.port)).toContain(p.backend.service.port.number);
    }
  }
  const hpa = r.maybe('HorizontalPodAutoscaler');
  if (hpa) {
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: dep.metadata.name });
    expect(dep.spec.replicas, 'replicas are left to the HPA').toBeUndefined();
    expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
  }
  const pdb = r.maybe('PodDisruptionBudget');
  if (pdb) {
    expect(matches(pdb.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(('minAvailable' in pdb.spec) !== ('maxUnavailable' in pdb.spec)).toBe(true);
  }
  const np = r.maybe('NetworkPolicy');
  if (np) expect(matches(np.spec.podSelector.matchLabels, podLabels)).toBe(true);
  const sm = r.maybe('ServiceMonitor');
  if (sm) {
    expect(matches(sm.spec.selector.matchLabels, svc.metadata.labels!)).toBe(true);
    for (const ep of sm.spec.endpoints) {
      expect(svc.spec.ports.map((p: { name: string }) => p.name)).toContain(ep.port);
      expect(ep.path).toBe('/metrics');
    }
  }
}

function checkHardening(r: Rendered): void {
  const pod = r.one('Deployment').spec.template.spec;
  expect(pod.automountServiceAccountToken).toBe(false);
  expect(pod.securityContext.runAsNonRoot).toBe(true);
  expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
  expect(pod.hostNetwork ?? false).toBe(false);
  expect(pod.hostPID ?? false).toBe(false);
  expect(pod.containers).toHaveLength(1);
  const c = pod.containers[0];
  expect(c.securityContext.runAsNonRoot).toBe(true);
  expect(c.securityContext.runAsUser).toBeGreaterThan(0);
  expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
  expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
  expect(c.securityContext.privileged).toBe(false);
  expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
  expect(c.securityContext.capabilities.add).toBeUndefined();
  expect(c.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
  expect(c.args).toEqual(['serve']);
  expect(c.livenessProbe.httpGet.path).toBe('/healthz');
  expect(c.readinessProbe.httpGet.path).toBe('/readyz');
  expect(c.resources.limits.memory).toBeTruthy();

  const env = new Map<string, any>(c.env.map((e: { name: string }) => [e.name, e]));
  for (const name of ['GITLAB_TOKEN', 'WEBHOOK_SECRET']) {
    expect(env.get(name)?.value, `${name} never inline`).toBeUndefined();
    expect(env.get(name)?.valueFrom?.secretKeyRef?.key, name).toBeTruthy();
  }
  if (env.has('REDIS_URL')) expect(env.get('REDIS_URL').valueFrom.secretKeyRef.key).toBeTruthy();
  expect(env.get('PORT').value).toBe(String(c.ports[0].containerPort));

  const mounts = new Map<string, any>(c.volumeMounts.map((m: { mountPath: string }) => [m.mountPath, m]));
  const policyMount = mounts.get(env.get('POLICY_DIR').value);
  expect(policyMount, 'policy ConfigMap mounted at POLICY_DIR').toBeDefined();
  expect(policyMount.readOnly).toBe(true);
  const policyVolume = pod.volumes.find((v: { name: string }) => v.name === policyMount.name);
  expect(policyVolume.configMap.name).toBe(r.one('ConfigMap').metadata.name);
  const tmp = mounts.get('/tmp');
  expect(tmp, 'writable /tmp for the read-only root filesystem').toBeDefined();
  expect(pod.volumes.find((v: { name: string }) => v.name === tmp.name).emptyDir).toBeDefined();
  for (const v of pod.volumes) expect(v.hostPath, 'no host paths').toBeUndefined();

  const sa = r.maybe('ServiceAccount');
  if (sa) expect(sa.automountServiceAccountToken).toBe(false);
}

/** Egress rules as comparable [protocol/port, destination] strings. */
function egressOf(np: K8s): Array<{ ports: string[]; to: string[] }> {
  return np.spec.egress.map((rule: { ports?: Array<{ port: number; protocol: string }>; to?: any[] }) => ({
    ports: (rule.ports ?? []).map((p) => `${p.protocol}/${p.port}`),
    to: (rule.to ?? []).map((t) => (t.ipBlock ? t.ipBlock.cidr : JSON.stringify(t))),
  }));
}

/** Writes the policy ConfigMap into a directory the way the kubelet projects the volume. */
function materializePolicies(r: Rendered): string {
  const dir = mkdtempSync(join(tmpdir(), 'tg-policies-'));
  tmpDirs.push(dir);
  const cm = r.one('ConfigMap');
  const dep = r.one('Deployment');
  const vol = dep.spec.template.spec.volumes.find((v: any) => v.configMap?.name === cm.metadata.name);
  const items: Array<{ key: string; path: string }> = vol.configMap.items ?? Object.keys(cm.data).map((k) => ({ key: k, path: k }));
  for (const { key, path } of items) {
    expect(path.split('/')).not.toContain('..');
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), cm.data[key]);
  }
  return dir;
}

describe('the helm binary', () => {
  it(`is the pinned helm ${HELM_VERSION}`, () => {
    const r = helm(['version', '--short']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^${HELM_VERSION.replace(/\./g, '\\.')}\\+`));
  });
});

describe('Chart.yaml', () => {
  it('is a v2 application chart with SemVer version and the package version as appVersion', () => {
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('tierguard');
    expect(chart.type).toBe('application');
    expect(chart.version).toMatch(/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/);
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.kubeVersion).toBeTruthy();
  });

  it('has a README and NOTES.txt', () => {
    expect(read('README.md')).toMatch(/existingSecret/);
    expect(templates['NOTES.txt']).toBeTruthy();
  });
});

describe('helm lint --strict', () => {
  for (const [name, file] of [['ci/default-values.yaml', CI_DEFAULT], ['ci/full-values.yaml', CI_FULL]] as const) {
    it(`passes with ${name}`, () => {
      const r = helm(['lint', '--strict', CHART, '-f', file]);
      expect(r.stdout + r.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(r.status).toBe(0);
    });
  }

  it('fails on values the schema refuses', () => {
    const r = helm(['lint', '--strict', CHART, ...valueArgs([CI_DEFAULT, { securityContext: { privileged: true } }])]);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('/securityContext/privileged');
  });
});

describe('values.schema.json, applied by helm', () => {
  // Each row: a value set on top of ci/default-values.yaml and the path helm's schema check names.
  const invalid: Array<[string, object, string]> = [
    ['replicaCount as a word', { replicaCount: 'two' }, '/replicaCount'],
    ['an unknown top-level key', { replicas: 2 }, "additional properties 'replicas'"],
    ['an unknown nested key', { image: { repo: 'x' } }, "additional properties 'repo'"],
    ['a writable root filesystem', { securityContext: { readOnlyRootFilesystem: false } }, '/securityContext/readOnlyRootFilesystem'],
    ['privilege escalation', { securityContext: { allowPrivilegeEscalation: true } }, '/securityContext/allowPrivilegeEscalation'],
    ['a privileged container', { securityContext: { privileged: true } }, '/securityContext/privileged'],
    ['running as root allowed (pod)', { podSecurityContext: { runAsNonRoot: false } }, '/podSecurityContext/runAsNonRoot'],
    ['running as root allowed (container)', { securityContext: { runAsNonRoot: false } }, '/securityContext/runAsNonRoot'],
    ['uid 0', { securityContext: { runAsUser: 0 } }, '/securityContext/runAsUser'],
    ['gid 0', { podSecurityContext: { runAsGroup: 0 } }, '/podSecurityContext/runAsGroup'],
    ['fsGroup 0', { podSecurityContext: { fsGroup: 0 } }, '/podSecurityContext/fsGroup'],
    ['an added capability', { securityContext: { capabilities: { add: ['NET_ADMIN'] } } }, '/securityContext/capabilities/add'],
    ['capabilities not dropped', { securityContext: { capabilities: { drop: ['NET_RAW'] } } }, '/securityContext/capabilities/drop'],
    ['seccomp Unconfined (pod)', { podSecurityContext: { seccompProfile: { type: 'Unconfined' } } }, '/podSecurityContext/seccompProfile/type'],
    ['seccomp Unconfined (container)', { securityContext: { seccompProfile: { type: 'Unconfined' } } }, '/securityContext/seccompProfile/type'],
    ['AppArmor Unconfined (pod)', { podSecurityContext: { appArmorProfile: { type: 'Unconfined' } } }, '/podSecurityContext/appArmorProfile/type'],
    ['AppArmor Unconfined (container)', { securityContext: { appArmorProfile: { type: 'Unconfined' } } }, '/securityContext/appArmorProfile/type'],
    ['an AppArmor Localhost profile without its name', { securityContext: { appArmorProfile: { type: 'Localhost' } } }, '/securityContext/appArmorProfile'],
    ['the unconfined SELinux type spc_t', { podSecurityContext: { seLinuxOptions: { type: 'spc_t' } } }, '/podSecurityContext/seLinuxOptions/type'],
    ['the unconfined SELinux type unconfined_t', { securityContext: { seLinuxOptions: { type: 'unconfined_t' } } }, '/securityContext/seLinuxOptions/type'],
    ['an unknown fsGroupChangePolicy', { podSecurityContext: { fsGroupChangePolicy: 'Never' } }, '/podSecurityContext/fsGroupChangePolicy'],
    ['an unconfined AppArmor annotation', { podAnnotations: { 'container.apparmor.security.beta.kubernetes.io/tierguard': 'unconfined' } }, '/podAnnotations/container.apparmor'],
    ['an unconfined seccomp annotation', { podAnnotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' } }, '/podAnnotations/seccomp'],
    ['a podLabels override of app.kubernetes.io/name', { podLabels: { 'app.kubernetes.io/name': 'other' } }, "propertyName 'app.kubernetes.io/name'"],
    ['a podLabels override of app.kubernetes.io/instance', { podLabels: { 'app.kubernetes.io/instance': 'other' } }, "propertyName 'app.kubernetes.io/instance'"],
    ['a privileged container port', { containerPort: 80 }, '/containerPort'],
    ['a short webhook secret', { webhookSecret: 'short' }, '/webhookSecret'],
    ['a GitLab URL without scheme', { gitlab: { url: 'gitlab.example.com' } }, '/gitlab/url'],
    ['a malformed digest', { image: { digest: 'latest' } }, '/image/digest'],
    ['a team path escaping the directory', { policies: { teams: { '../etc': 'review: {}' } } }, "propertyName '../etc'"],
    ['a team policy that is not text', { policies: { teams: { acme: { review: {} } } } }, '/policies/teams/acme'],
    ['overriding a chart-managed variable', { extraEnv: [{ name: 'GITLAB_TOKEN', value: 'x' }] }, '/extraEnv/0/name'],
    ['an unknown log level', { logLevel: 'verbose' }, '/logLevel'],
    ['a non-TCP-port GitLab entry', { networkPolicy: { gitlab: { ports: [70000] } } }, '/networkPolicy/gitlab/ports/0'],
    ['a redis URL with another scheme', { redis: { url: 'http://redis:6379' } }, '/redis/url'],
    ['a CPU request that is no quantity', { resources: { requests: { cpu: 'half' } } }, '/resources/requests/cpu'],
    ['a negative CPU limit', { resources: { limits: { cpu: -1 } } }, '/resources/limits/cpu'],
    ['a PDB budget that is no number or percentage', { podDisruptionBudget: { maxUnavailable: 'one' } }, '/podDisruptionBudget/maxUnavailable'],
  ];
  for (const [what, override, path] of invalid) {
    it(`rejects ${what}`, () => {
      const err = refusal([CI_DEFAULT, override]);
      expect(err).toContain("values don't meet the specifications of the schema");
      expect(err).toContain(path);
    });
  }

  it('accepts more hardening: AppArmor and SELinux profiles, fsGroupChangePolicy, fractional CPU', () => {
    const r = renderWith([
      CI_DEFAULT,
      {
        podSecurityContext: { appArmorProfile: { type: 'RuntimeDefault' }, seLinuxOptions: { level: 's0:c123,c456' }, fsGroupChangePolicy: 'OnRootMismatch' },
        securityContext: { appArmorProfile: { type: 'Localhost', localhostProfile: 'tierguard' }, seLinuxOptions: { type: 'container_t' } },
        resources: { requests: { cpu: 0.5 }, limits: { cpu: 2 } },
        podAnnotations: { 'container.apparmor.security.beta.kubernetes.io/tierguard': 'runtime/default' },
        podLabels: { team: 'platform' },
      },
    ]);
    checkStructure(r);
    checkHardening(r);
    const pod = r.one('Deployment').spec.template;
    expect(pod.spec.securityContext).toMatchObject({ appArmorProfile: { type: 'RuntimeDefault' }, seLinuxOptions: { level: 's0:c123,c456' }, fsGroupChangePolicy: 'OnRootMismatch' });
    const c = pod.spec.containers[0];
    expect(c.securityContext.appArmorProfile).toEqual({ type: 'Localhost', localhostProfile: 'tierguard' });
    expect(c.securityContext.seLinuxOptions).toEqual({ type: 'container_t' });
    expect(c.resources.requests.cpu).toBe(0.5);
    expect(c.resources.limits.cpu).toBe(2);
    expect(pod.metadata.labels).toMatchObject({ team: 'platform', 'app.kubernetes.io/name': 'tierguard' });
  });
});

describe('values used by templates', () => {
  const refs = new Set<string>();
  for (const src of Object.values(templates)) {
    for (const m of src.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) refs.add(m[1]!.slice(1));
  }

  it('every .Values path in a template exists in values.yaml', () => {
    expect(refs.size).toBeGreaterThan(30);
    const missing = [...refs].filter((path) => {
      let cur: unknown = values;
      for (const key of path.split('.')) {
        if (cur === null || typeof cur !== 'object' || !(key in cur)) return true;
        cur = (cur as Record<string, unknown>)[key];
      }
      return false;
    });
    expect(missing).toEqual([]);
  });

  it('every value in values.yaml is used by a template (no dead settings)', () => {
    const leaves: string[] = [];
    const walk = (v: unknown, path: string[]) => {
      if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) {
        for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
      } else leaves.push(path.join('.'));
    };
    walk(values, []);
    const unused = leaves.filter((leaf) => ![...refs].some((r) => leaf === r || leaf.startsWith(`${r}.`)));
    expect(unused).toEqual([]);
  });
});

describe('rendering: required settings', () => {
  it('refuses to render without the GitLab URL and credentials', () => {
    expect(refusal([])).toMatch(/is required/);
    expect(refusal([{ gitlab: { token: 't' }, webhookSecret: 'w'.repeat(16) }])).toMatch(/gitlab\.url is required/);
    expect(refusal([{ gitlab: { url: 'https://g.example' }, webhookSecret: 'w'.repeat(16) }])).toMatch(/gitlab\.token is required/);
    expect(refusal([{ gitlab: { url: 'https://g.example', token: 't' } }])).toMatch(/webhookSecret is required/);
  });

  it('refuses several replicas without Redis, and allows them with it', () => {
    expect(refusal([CI_DEFAULT, { replicaCount: 2 }])).toMatch(/replicaCount > 1 needs Redis/);
    expect(refusal([CI_DEFAULT, { autoscaling: { enabled: true } }])).toMatch(/maxReplicas > 1 needs Redis/);
    expect(renderWith([CI_DEFAULT, { replicaCount: 2, redis: { url: 'redis://r:6379' } }]).one('Deployment').spec.replicas).toBe(2);
    expect(renderWith([CI_DEFAULT, { replicaCount: 0 }]).one('Deployment').spec.replicas).toBe(0);
  });

  it('refuses Redis from two places, and a redisUrlKey without the Secret it lives in', () => {
    expect(refusal([CI_FULL, { redis: { url: 'redis://r:6379' } }])).toMatch(/either redis\.url or existingSecret\.redisUrlKey/);
    expect(refusal([CI_DEFAULT, { existingSecret: { redisUrlKey: 'redis-url' } }])).toMatch(/redisUrlKey needs existingSecret\.name/);
  });
  it('drains within the grace period: SHUTDOWN_TIMEOUT_SECONDS below terminationGracePeriodSeconds, else no render', () => {
    const pod = renderWith([CI_DEFAULT]).one('Deployment').spec.template.spec;
    const env = pod.containers[0].env.find((e: { name: string }) => e.name === 'SHUTDOWN_TIMEOUT_SECONDS');
    expect(Number(env.value)).toBeLessThan(pod.terminationGracePeriodSeconds);
    expect(refusal([CI_DEFAULT, { shutdownTimeoutSeconds: 30 }])).toMatch(/terminationGracePeriodSeconds must be larger than shutdownTimeoutSeconds/);
  });
});

describe('rendering: defaults (ci/default-values.yaml)', () => {
  const r = renderWith([CI_DEFAULT]);

  it('produces sound objects that reference each other correctly', () => {
    checkStructure(r);
    expect(r.docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service', 'ServiceAccount']);
  });

  it('runs locked down', () => checkHardening(r));

  it('runs one replica from the appVersion image, replaced (never doubled) on rollout', () => {
    const dep = r.one('Deployment');
    expect(dep.spec.replicas).toBe(1);
    expect(dep.spec.strategy).toEqual({ type: 'Recreate' });
    expect(dep.spec.template.spec.containers[0].image).toBe(`registry.gitlab.com/tierguard/tierguard:${chart.appVersion}`);
    expect(r.one('PodDisruptionBudget').spec).toMatchObject({ maxUnavailable: 1 });
  });

  it('keeps tokens in its own Secret, base64-encoded, and out of the pod spec', () => {
    const secret = r.one('Secret');
    expect(secret.metadata.name).toBe('tg-tierguard');
    expect(Buffer.from(secret.data.GITLAB_TOKEN, 'base64').toString()).toBe(ciDefault.gitlab.token);
    expect(Buffer.from(secret.data.WEBHOOK_SECRET, 'base64').toString()).toBe(ciDefault.webhookSecret);
    expect(secret.data.REDIS_URL).toBeUndefined();
    expect(r.files['deployment.yaml']).not.toContain(ciDefault.gitlab.token);
    const env = envOf(r);
    expect(env.get('GITLAB_TOKEN').valueFrom.secretKeyRef).toEqual({ name: 'tg-tierguard', key: 'GITLAB_TOKEN' });
    expect(env.get('REDIS_URL')).toBeUndefined();
    expect(env.get('GITLAB_URL').value).toBe(ciDefault.gitlab.url);
  });

  it('allows egress only to DNS and GitLab', () => {
    const np = r.one('NetworkPolicy');
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(egressOf(np)).toEqual([
      { ports: ['UDP/53', 'TCP/53'], to: [] },
      { ports: ['TCP/443'], to: [] },
    ]);
    expect(np.spec.ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
  });

  it('mounts a policy directory that the real loader reads as the shipped baseline', () => {
    const dir = materializePolicies(r);
    const fromChart = loadPolicy({ dir });
    const shipped = loadPolicy({ dir: join(ROOT, 'policies') });
    expect({ ...fromChart, sources: [] }).toEqual({ ...shipped, sources: [] });
    expect(fromChart.sources).toEqual([join(dir, 'default.yaml')]);
  });

  it('renders NOTES with the in-cluster webhook address', () => {
    expect(r.notes).toContain('http://tg-tierguard.ci.svc:80/webhooks/gitlab');
    expect(r.notes).toContain('keep a single replica');
  });
});

describe('rendering: everything on (ci/full-values.yaml)', () => {
  const r = renderWith([CI_FULL]);

  it('produces sound objects that reference each other correctly', () => {
    checkStructure(r);
    expect(r.docs.map((d) => d.kind).sort()).toEqual([
      'ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Ingress', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount', 'ServiceMonitor',
    ]);
  });

  it('runs locked down', () => checkHardening(r));

  it('reads every credential from the existing Secret and creates none', () => {
    expect(r.maybe('Secret')).toBeUndefined();
    const env = envOf(r);
    expect(env.get('GITLAB_TOKEN').valueFrom.secretKeyRef).toEqual({ name: 'tierguard-credentials', key: 'gitlab-token' });
    expect(env.get('WEBHOOK_SECRET').valueFrom.secretKeyRef).toEqual({ name: 'tierguard-credentials', key: 'webhook-secret' });
    expect(env.get('REDIS_URL').valueFrom.secretKeyRef).toEqual({ name: 'tierguard-credentials', key: 'redis-url' });
    expect(env.get('PUBLIC_URL').value).toBe('https://tierguard.example.com');
    expect(env.get('NODE_OPTIONS').value).toBe('--max-old-space-size=256');
  });

  it('pins the image by digest and rolls without ever dropping below the replica count', () => {
    const dep = r.one('Deployment');
    expect(dep.spec.template.spec.containers[0].image).toBe(`registry.gitlab.com/tierguard/tierguard@${ciFull.image.digest}`);
    expect(dep.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });

  it('allows egress only to DNS, the GitLab CIDR and the configured Redis port (URL in the existing Secret)', () => {
    expect(egressOf(r.one('NetworkPolicy'))).toEqual([
      { ports: ['UDP/53', 'TCP/53'], to: [JSON.stringify(ciFull.networkPolicy.dns.to[0])] },
      { ports: ['TCP/443', 'TCP/22'], to: ['203.0.113.10/32'] },
      { ports: ['TCP/6380'], to: ['10.20.0.0/24'] },
    ]);
  });

  it('publishes only the webhook path through the Ingress, with TLS', () => {
    const ing = r.one('Ingress');
    expect(ing.spec.ingressClassName).toBe('nginx');
    expect(ing.spec.tls[0].secretName).toBe('tierguard-tls');
    expect(ing.spec.rules[0].http.paths.map((p: { path: string }) => p.path)).toEqual(['/webhooks']);
    expect(r.notes).toContain('https://tierguard.example.com/webhooks/gitlab');
  });

  it('autoscales and keeps a PDB by minAvailable', () => {
    const hpa = r.one('HorizontalPodAutoscaler');
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([2, 6]);
    expect(hpa.spec.metrics[0].resource.target).toEqual({ type: 'Utilization', averageUtilization: 75 });
    expect(r.one('PodDisruptionBudget').spec).toMatchObject({ minAvailable: 1 });
    expect(r.one('PodDisruptionBudget').spec.maxUnavailable).toBeUndefined();
  });

  it('labels the ServiceMonitor for the Prometheus selector', () => {
    expect(r.one('ServiceMonitor').metadata.labels?.release).toBe('prometheus');
  });

  it('mounts team policies as teams/<group path>.yaml, layered by the real loader', () => {
    const dir = materializePolicies(r);
    const platform = loadPolicy({ dir, group: 'acme/platform' });
    expect(platform.review.blockOn).toBe('all');
    expect(platform.protected.branches).toEqual(['release/*']);
    expect(platform.sources).toEqual([join(dir, 'default.yaml'), join(dir, 'teams', 'acme.yaml'), join(dir, 'teams', 'acme', 'platform.yaml')]);
    const other = loadPolicy({ dir, group: 'other' });
    expect(other.review.blockOn).toBe('new');
  });
});

describe('rendering: Redis', () => {
  it('adds Redis from the chart Secret and opens the port the URL names', () => {
    const r = renderWith([CI_DEFAULT, { redis: { url: 'rediss://:pw@redis.example:6380/0' } }]);
    checkStructure(r);
    expect(Buffer.from(r.one('Secret').data.REDIS_URL, 'base64').toString()).toBe('rediss://:pw@redis.example:6380/0');
    expect(envOf(r).get('REDIS_URL').valueFrom.secretKeyRef).toEqual({ name: 'tg-tierguard', key: 'REDIS_URL' });
    expect(egressOf(r.one('NetworkPolicy')).at(-1)).toEqual({ ports: ['TCP/6380'], to: [] });
    expect(r.files['deployment.yaml']).not.toContain(':pw@');
    expect(r.one('Deployment').spec.strategy.type).toBe('RollingUpdate');
    expect(r.notes).toContain('Redis (port 6380)');
  });

  it('opens 6379 for a URL without a port', () => {
    const r = renderWith([CI_DEFAULT, { redis: { url: 'redis://redis-master.data.svc' }, networkPolicy: { redis: { port: 7000 } } }]);
    expect(egressOf(r.one('NetworkPolicy')).at(-1)).toEqual({ ports: ['TCP/6379'], to: [] });
  });

  it('keeps redis.url next to an existing Secret: the chart Secret then holds only REDIS_URL', () => {
    const r = renderWith([CI_FULL, { existingSecret: { redisUrlKey: '' }, redis: { url: 'redis://:pw@10.20.0.5:6381/2' }, autoscaling: { enabled: false }, replicaCount: 3 }]);
    checkStructure(r);
    const secret = r.one('Secret');
    expect(Object.keys(secret.data)).toEqual(['REDIS_URL']);
    const env = envOf(r);
    expect(env.get('REDIS_URL').valueFrom.secretKeyRef).toEqual({ name: secret.metadata.name, key: 'REDIS_URL' });
    expect(env.get('GITLAB_TOKEN').valueFrom.secretKeyRef).toEqual({ name: 'tierguard-credentials', key: 'gitlab-token' });
    expect(r.one('Deployment').spec.replicas).toBe(3);
    expect(egressOf(r.one('NetworkPolicy')).at(-1)).toEqual({ ports: ['TCP/6381'], to: ['10.20.0.0/24'] });
  });

  it('scales with an HPA once Redis is there', () => {
    const r = renderWith([CI_DEFAULT, { redis: { url: 'redis://r:6379' }, autoscaling: { enabled: true, maxReplicas: 4 } }]);
    checkStructure(r);
    expect(r.one('HorizontalPodAutoscaler').spec.maxReplicas).toBe(4);
    expect(r.one('Deployment').spec.replicas).toBeUndefined();
  });
});

describe('rendering: variations', () => {
  it('rolls the pods when a policy changes, and only then', () => {
    const sum = (r: Rendered) => r.one('Deployment').spec.template.metadata.annotations['checksum/config'];
    const base = sum(renderWith([CI_DEFAULT]));
    expect(sum(renderWith([CI_DEFAULT]))).toBe(base);
    expect(sum(renderWith([CI_DEFAULT, { policies: { teams: { acme: 'review:\n  blockOn: all\n' } } }]))).not.toBe(base);
    expect(sum(renderWith([CI_DEFAULT, { logLevel: 'debug' }]))).toBe(base);
  });

  it('leaves default.yaml out when policies.default is empty (built-in baseline)', () => {
    const r = renderWith([CI_DEFAULT, { policies: { default: '' } }]);
    checkStructure(r);
    expect(r.one('ConfigMap').data).toEqual({});
    const dir = materializePolicies(r);
    expect(loadPolicy({ dir }).sources).toEqual(['<built-in>']);
  });

  it('builds DNS-safe names: overrides, release named like the chart, long release names', () => {
    expect(renderWith([CI_DEFAULT, { fullnameOverride: 'guard' }]).one('Deployment').metadata.name).toBe('guard');
    expect(renderWith([CI_DEFAULT], { release: 'tierguard' }).one('Service').metadata.name).toBe('tierguard');
    const name = renderWith([CI_DEFAULT], { release: `${'a'.repeat(50)}-b` }).one('Service').metadata.name;
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('can disable the NetworkPolicy, PDB and ServiceAccount creation', () => {
    const r = renderWith([CI_DEFAULT, { networkPolicy: { enabled: false }, podDisruptionBudget: { enabled: false }, serviceAccount: { create: false } }]);
    checkStructure(r);
    expect(r.docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Secret', 'Service']);
    expect(r.one('Deployment').spec.template.spec.serviceAccountName).toBe('default');
    expect(r.notes).not.toContain('NetworkPolicy');
    checkHardening(r);
  });

  it('takes maxUnavailable: 0 as a budget (no voluntary eviction), and minAvailable when it is null', () => {
    expect(renderWith([CI_DEFAULT, { podDisruptionBudget: { maxUnavailable: 0 } }]).one('PodDisruptionBudget').spec).toMatchObject({ maxUnavailable: 0 });
    const pdb = renderWith([CI_DEFAULT, { podDisruptionBudget: { maxUnavailable: null, minAvailable: '50%' } }]).one('PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe('50%');
    expect(pdb.spec.maxUnavailable).toBeUndefined();
    expect(refusal([CI_DEFAULT, { podDisruptionBudget: { maxUnavailable: null } }])).toMatch(/set minAvailable or maxUnavailable/);
  });

  it('publishes an Ingress alone, without TLS', () => {
    const r = renderWith([CI_DEFAULT, { ingress: { enabled: true } }]);
    checkStructure(r);
    const ing = r.one('Ingress');
    expect(ing.spec.rules[0].host).toBe('tierguard.example.com');
    expect(ing.spec.tls).toBeUndefined();
    expect(r.notes).toContain('http://tierguard.example.com/webhooks/gitlab');
  });

  it('adds a ServiceMonitor alone, scraping /metrics on the service port', () => {
    const r = renderWith([CI_DEFAULT, { metrics: { serviceMonitor: { enabled: true, interval: '15s' } } }]);
    checkStructure(r);
    expect(r.one('ServiceMonitor').spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '15s', scrapeTimeout: '10s' }]);
    expect(r.one('ServiceMonitor').spec.namespaceSelector).toEqual({ matchNames: ['ci'] });
  });
});

describe("rendering: the project's own production release (helm/production-values.yaml)", () => {
  it('renders what deploy-production installs: existing Secret, Redis, a pinned digest', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const r = renderWith([join(ROOT, 'helm', 'production-values.yaml'), { gitlab: { url: 'https://gitlab.example.com' }, image: { digest } }], { release: 'tierguard' });
    checkStructure(r, 'tierguard');
    checkHardening(r);
    expect(r.maybe('Secret')).toBeUndefined();
    const dep = r.one('Deployment');
    expect(dep.metadata.name).toBe('tierguard');
    expect(dep.spec.replicas).toBe(2);
    expect(dep.spec.strategy.type).toBe('RollingUpdate');
    expect(dep.spec.template.spec.containers[0].image).toBe(`registry.gitlab.com/tierguard/tierguard@${digest}`);
    const env = envOf(r);
    for (const name of ['GITLAB_TOKEN', 'WEBHOOK_SECRET', 'REDIS_URL']) expect(env.get(name).valueFrom.secretKeyRef).toEqual({ name: 'tierguard-credentials', key: name });
  });

  it('fails without the GitLab URL the job passes', () => {
    expect(refusal([join(ROOT, 'helm', 'production-values.yaml')])).toMatch(/gitlab\.url is required/);
  });
});
