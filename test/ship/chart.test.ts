import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadPolicy } from '../../src/policy/index.js';
import { mergeValues, renderChart, type ChartMeta } from './render.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CHART = join(ROOT, 'helm', 'tierguard');
const read = (p: string) => readFileSync(join(CHART, p), 'utf8');

const chart = YAML.parse(read('Chart.yaml')) as ChartMeta & Record<string, unknown>;
const values = YAML.parse(read('values.yaml')) as Record<string, any>;
const schema = JSON.parse(read('values.schema.json'));
const templates: Record<string, string> = {};
for (const f of readdirSync(join(CHART, 'templates'))) templates[f] = read(join('templates', f));
const ciDefault = YAML.parse(read('ci/default-values.yaml'));
const ciFull = YAML.parse(read('ci/full-values.yaml'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
const validate = ajv.compile(schema);

type K8s = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: any };

interface Rendered {
  files: Record<string, string>;
  docs: K8s[];
  notes: string;
  one(kind: string): K8s;
  maybe(kind: string): K8s | undefined;
}

function renderWith(...overrides: unknown[]): Rendered {
  const merged = overrides.reduce((acc, o) => mergeValues(acc, o), values);
  const files = renderChart(chart, templates, merged, { releaseName: 'tg', namespace: 'ci' });
  const docs: K8s[] = [];
  for (const [name, text] of Object.entries(files)) {
    if (name === 'NOTES.txt') continue;
    for (const d of YAML.parseAllDocuments(text)) {
      expect(d.errors, `${name}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
      expect(d.warnings, name).toEqual([]);
      const js = d.toJS();
      if (js !== null) docs.push(js);
    }
  }
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  return {
    files,
    docs,
    notes: files['NOTES.txt'],
    one(kind) {
      const found = byKind(kind);
      expect(found, kind).toHaveLength(1);
      return found[0];
    },
    maybe(kind) {
      const found = byKind(kind);
      expect(found.length).toBeLessThanOrEqual(1);
      return found[0];
    },
  };
}

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
function checkStructure(r: Rendered): void {
  const names = new Set<string>();
  for (const d of r.docs) {
    expect(API_VERSIONS[d.kind], `unexpected kind ${d.kind}`).toBeDefined();
    expect(d.apiVersion, d.kind).toBe(API_VERSIONS[d.kind]);
    expect(d.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(d.metadata.name.length).toBeLessThanOrEqual(63);
    expect(names.has(`${d.kind}/${d.metadata.name}`), 'duplicate object').toBe(false);
    names.add(`${d.kind}/${d.metadata.name}`);
    expect(d.metadata.labels?.['app.kubernetes.io/name']).toBe('tierguard');
    expect(d.metadata.labels?.['app.kubernetes.io/instance']).toBe('tg');
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

const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

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

describe('values.schema.json', () => {
  const errorsOf = (v: unknown) => (validate(v) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));

  it('accepts values.yaml and the CI value sets merged onto it', () => {
    expect(errorsOf(values)).toEqual([]);
    expect(errorsOf(mergeValues(values, ciDefault))).toEqual([]);
    expect(errorsOf(mergeValues(values, ciFull))).toEqual([]);
  });

  const invalid: Array<[string, unknown]> = [
    ['replicaCount as a word', { replicaCount: 'two' }],
    ['an unknown top-level key', { replicas: 2 }],
    ['an unknown nested key', { image: { repo: 'x' } }],
    ['a writable root filesystem', { securityContext: { readOnlyRootFilesystem: false } }],
    ['privilege escalation', { securityContext: { allowPrivilegeEscalation: true } }],
    ['a privileged container', { securityContext: { privileged: true } }],
    ['running as root allowed', { podSecurityContext: { runAsNonRoot: false } }],
    ['uid 0', { securityContext: { runAsUser: 0 } }],
    ['an added capability', { securityContext: { capabilities: { add: ['NET_ADMIN'] } } }],
    ['capabilities not dropped', { securityContext: { capabilities: { drop: ['NET_RAW'] } } }],
    ['seccomp Unconfined', { podSecurityContext: { seccompProfile: { type: 'Unconfined' } } }],
    ['a privileged container port', { containerPort: 80 }],
    ['a short webhook secret', { webhookSecret: 'short' }],
    ['a GitLab URL without scheme', { gitlab: { url: 'gitlab.example.com' } }],
    ['a malformed digest', { image: { digest: 'latest' } }],
    ['a team path escaping the directory', { policies: { teams: { '../etc': 'review: {}' } } }],
    ['a team policy that is not text', { policies: { teams: { acme: { review: {} } } } }],
    ['overriding a chart-managed variable', { extraEnv: [{ name: 'GITLAB_TOKEN', value: 'x' }] }],
    ['an unknown log level', { logLevel: 'verbose' }],
    ['a non-TCP-port GitLab entry', { networkPolicy: { gitlab: { ports: [70000] } } }],
    ['a redis URL with another scheme', { redis: { url: 'http://redis:6379' } }],
  ];
  for (const [what, override] of invalid) {
    it(`rejects ${what}`, () => {
      expect(errorsOf(mergeValues(values, override)).length).toBeGreaterThan(0);
    });
  }
});

describe('values used by templates', () => {
  const refs = new Set<string>();
  for (const src of Object.values(templates)) {
    for (const m of src.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) refs.add(m[1].slice(1));
  }

  it('every .Values path in a template exists in values.yaml', () => {
    expect(refs.size).toBeGreaterThan(30);
    const missing = [...refs].filter((path) => {
      let cur: unknown = values;
      for (const key of path.split('.')) {
        if (cur === null || typeof cur !== 'object' || !(key in (cur as object))) return true;
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
    expect(() => renderWith({})).toThrow(/is required/);
    expect(() => renderWith({ gitlab: { token: 't' }, webhookSecret: 'w'.repeat(16) })).toThrow(/gitlab\.url is required/);
    expect(() => renderWith({ gitlab: { url: 'https://g.example' }, webhookSecret: 'w'.repeat(16) })).toThrow(/gitlab\.token is required/);
    expect(() => renderWith({ gitlab: { url: 'https://g.example', token: 't' } })).toThrow(/webhookSecret is required/);
  });

  it('refuses several replicas without Redis, and allows them with it', () => {
    expect(() => renderWith(ciDefault, { replicaCount: 2 })).toThrow(/needs Redis/);
    expect(() => renderWith(ciDefault, { autoscaling: { enabled: true } })).toThrow(/needs Redis/);
    expect(renderWith(ciDefault, { replicaCount: 2, redis: { url: 'redis://r:6379' } }).one('Deployment').spec.replicas).toBe(2);
    expect(renderWith(ciDefault, { replicaCount: 0 }).one('Deployment').spec.replicas).toBe(0);
  });
  it('drains within the grace period: SHUTDOWN_TIMEOUT_SECONDS below terminationGracePeriodSeconds, else no render', () => {
    const pod = renderWith(ciDefault).one('Deployment').spec.template.spec;
    const env = pod.containers[0].env.find((e: { name: string }) => e.name === 'SHUTDOWN_TIMEOUT_SECONDS');
    expect(Number(env.value)).toBeLessThan(pod.terminationGracePeriodSeconds);
    expect(() => renderWith(ciDefault, { shutdownTimeoutSeconds: 30 })).toThrow(/terminationGracePeriodSeconds must be larger than shutdownTimeoutSeconds/);
  });
});

describe('rendering: defaults (ci/default-values.yaml)', () => {
  const r = renderWith(ciDefault);

  it('produces sound objects that reference each other correctly', () => {
    checkStructure(r);
    expect(r.docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service', 'ServiceAccount']);
  });

  it('runs locked down', () => checkHardening(r));

  it('runs one replica from the appVersion image', () => {
    const dep = r.one('Deployment');
    expect(dep.spec.replicas).toBe(1);
    expect(dep.spec.template.spec.containers[0].image).toBe(`registry.gitlab.com/tierguard/tierguard:${chart.appVersion}`);
  });

  it('keeps tokens in its own Secret, base64-encoded, and out of the pod spec', () => {
    const secret = r.one('Secret');
    expect(secret.metadata.name).toBe('tg-tierguard');
    expect(Buffer.from(secret.data.GITLAB_TOKEN, 'base64').toString()).toBe(ciDefault.gitlab.token);
    expect(Buffer.from(secret.data.WEBHOOK_SECRET, 'base64').toString()).toBe(ciDefault.webhookSecret);
    expect(secret.data.REDIS_URL).toBeUndefined();
    const depText = r.files['deployment.yaml'];
    expect(depText).not.toContain(ciDefault.gitlab.token);
    const env = r.one('Deployment').spec.template.spec.containers[0].env;
    expect(env.find((e: { name: string }) => e.name === 'GITLAB_TOKEN').valueFrom.secretKeyRef).toEqual({ name: 'tg-tierguard', key: 'GITLAB_TOKEN' });
    expect(env.find((e: { name: string }) => e.name === 'REDIS_URL')).toBeUndefined();
    expect(env.find((e: { name: string }) => e.name === 'GITLAB_URL').value).toBe(ciDefault.gitlab.url);
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
  const r = renderWith(ciFull);

  it('produces sound objects that reference each other correctly', () => {
    checkStructure(r);
    expect(r.docs.map((d) => d.kind).sort()).toEqual([
      'ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Ingress', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount', 'ServiceMonitor',
    ]);
  });

  it('runs locked down', () => checkHardening(r));

  it('reads every credential from the existing Secret and creates none', () => {
    expect(r.maybe('Secret')).toBeUndefined();
    const env = new Map<string, any>(r.one('Deployment').spec.template.spec.containers[0].env.map((e: { name: string }) => [e.name, e]));
    expect(env.get('GITLAB_TOKEN').valueFrom.secretKeyRef).toEqual({ name: 'tierguard-credentials', key: 'gitlab-token' });
    expect(env.get('WEBHOOK_SECRET').valueFrom.secretKeyRef).toEqual({ name: 'tierguard-credentials', key: 'webhook-secret' });
    expect(env.get('REDIS_URL').valueFrom.secretKeyRef).toEqual({ name: 'tierguard-credentials', key: 'redis-url' });
    expect(env.get('PUBLIC_URL').value).toBe('https://tierguard.example.com');
    expect(env.get('NODE_OPTIONS').value).toBe('--max-old-space-size=256');
  });

  it('pins the image by digest', () => {
    expect(r.one('Deployment').spec.template.spec.containers[0].image).toBe(`registry.gitlab.com/tierguard/tierguard@${ciFull.image.digest}`);
  });

  it('allows egress only to DNS, the GitLab CIDR and the Redis port', () => {
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

describe('rendering: variations', () => {
  it('adds Redis from the chart Secret and opens only its port', () => {
    const r = renderWith(ciDefault, { redis: { url: 'rediss://:pw@redis.example:6380/0' } });
    checkStructure(r);
    expect(Buffer.from(r.one('Secret').data.REDIS_URL, 'base64').toString()).toBe('rediss://:pw@redis.example:6380/0');
    expect(egressOf(r.one('NetworkPolicy')).at(-1)).toEqual({ ports: ['TCP/6379'], to: [] });
    expect(r.files['deployment.yaml']).not.toContain(':pw@');
  });

  it('rolls the pods when a policy changes, and only then', () => {
    const sum = (r: Rendered) => r.one('Deployment').spec.template.metadata.annotations['checksum/config'];
    const base = sum(renderWith(ciDefault));
    expect(sum(renderWith(ciDefault))).toBe(base);
    expect(sum(renderWith(ciDefault, { policies: { teams: { acme: 'review:\n  blockOn: all\n' } } }))).not.toBe(base);
    expect(sum(renderWith(ciDefault, { logLevel: 'debug' }))).toBe(base);
  });

  it('leaves default.yaml out when policies.default is empty (built-in baseline)', () => {
    const r = renderWith(ciDefault, { policies: { default: '' } });
    checkStructure(r);
    expect(r.one('ConfigMap').data).toEqual({});
    const dir = materializePolicies(r);
    expect(loadPolicy({ dir }).sources).toEqual(['<built-in>']);
  });

  it('builds DNS-safe names: overrides, release named like the chart, long release names', () => {
    expect(renderWith(ciDefault, { fullnameOverride: 'guard' }).one('Deployment').metadata.name).toBe('guard');
    const same = renderChart(chart, templates, mergeValues(values, ciDefault), { releaseName: 'tierguard' });
    expect(YAML.parse(same['service.yaml']).metadata.name).toBe('tierguard');
    const long = renderChart(chart, templates, mergeValues(values, ciDefault), { releaseName: `${'a'.repeat(53)}-b` });
    const name = YAML.parse(long['service.yaml']).metadata.name as string;
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('can disable the NetworkPolicy, PDB and ServiceAccount creation', () => {
    const r = renderWith(ciDefault, { networkPolicy: { enabled: false }, podDisruptionBudget: { enabled: false }, serviceAccount: { create: false } });
    checkStructure(r);
    expect(r.docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Secret', 'Service']);
    expect(r.one('Deployment').spec.template.spec.serviceAccountName).toBe('default');
    checkHardening(r);
  });
});
