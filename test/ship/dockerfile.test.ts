import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { imageRef, isIgnored, parseCopy, parseDockerfile, parseKeyValues, type Stage } from './dockerfile.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dockerfileText = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
const df = parseDockerfile(dockerfileText);
const finalStage = df.stages[df.stages.length - 1];
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  engines: { node: string };
};
const chartValues = YAML.parse(readFileSync(join(ROOT, 'helm', 'tierguard', 'values.yaml'), 'utf8'));

const all = (stage: Stage, cmd: string) => stage.instructions.filter((i) => i.cmd === cmd);
const one = (stage: Stage, cmd: string) => {
  const found = all(stage, cmd);
  expect(found, `${cmd} in stage ${stage.name ?? stage.index}`).toHaveLength(1);
  return found[0];
};
const finalEnv = new Map(all(finalStage, 'ENV').flatMap((i) => [...parseKeyValues(i.args)]));

/** The HEALTHCHECK command in exec form, as argv. */
function healthcheckArgv(): string[] {
  const hc = one(finalStage, 'HEALTHCHECK');
  const m = /\bCMD\s+(\[[\s\S]*\])\s*$/.exec(hc.args);
  expect(m, 'HEALTHCHECK must use CMD in exec (JSON) form: the image has no shell').not.toBeNull();
  return JSON.parse(m![1]) as string[];
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
  it('is multi-stage and every base image has an explicit, non-latest tag', () => {
    expect(df.stages.length).toBeGreaterThanOrEqual(2);
    for (const s of df.stages) {
      const ref = imageRef(s.image);
      expect(ref.name, `stage ${s.index} image`).not.toBe('');
      expect(ref.tag ?? ref.digest, `${s.image} needs a tag or digest`).toBeTruthy();
      expect(ref.tag).not.toBe('latest');
    }
  });

  it('builds on the current Node LTS, which satisfies package.json engines', () => {
    const buildImages = df.stages.filter((s) => s !== finalStage).map((s) => s.image);
    for (const img of buildImages) expect(img).toMatch(/^node:24-/);
    expect(finalStage.image).toMatch(/^gcr\.io\/distroless\/nodejs24-debian12:nonroot$/);
    const min = Number(/>=\s*(\d+)/.exec(pkg.engines.node)?.[1]);
    expect(24).toBeGreaterThanOrEqual(min);
    // Build and runtime share the Debian release (glibc) so a native module would still load.
    for (const img of buildImages) expect(img).toContain('bookworm');
  });

  it('never ADDs anything (no remote URLs, no archives unpacked implicitly)', () => {
    for (const s of df.stages) expect(all(s, 'ADD')).toEqual([]);
    expect(dockerfileText).not.toMatch(/^\s*ADD\s+https?:/im);
  });
});

describe('Dockerfile runtime stage', () => {
  it('runs no commands: the distroless runtime has no shell', () => {
    expect(all(finalStage, 'RUN')).toEqual([]);
  });

  it('installs only production dependencies, without lifecycle scripts', () => {
    const copies = all(finalStage, 'COPY').map((c) => parseCopy(c.args));
    const modules = copies.find((c) => c.sources.some((s) => s.endsWith('node_modules')));
    expect(modules?.from, 'node_modules must come from a stage').toBeTruthy();
    const depsStage = df.stages.find((s) => s.name === modules!.from)!;
    const installs = all(depsStage, 'RUN').filter((r) => /\bnpm\s+(ci|install|i)\b/.test(r.args));
    expect(installs).toHaveLength(1);
    expect(installs[0].args).toMatch(/\bnpm ci\b/);
    expect(installs[0].args).toContain('--omit=dev');
    expect(installs[0].args).toContain('--ignore-scripts');
    // And nothing in that stage brings the dev dependencies back.
    expect(depsStage.instructions.some((i) => /--include=dev|npm run build/.test(i.args))).toBe(false);
  });

  it('copies the compiled dist/ from a stage that builds it', () => {
    const dist = all(finalStage, 'COPY').map((c) => parseCopy(c.args)).find((c) => c.sources.some((s) => s.endsWith('/dist')));
    expect(dist?.from).toBeTruthy();
    const buildStage = df.stages.find((s) => s.name === dist!.from)!;
    expect(all(buildStage, 'RUN').some((r) => /\bnpm run build\b/.test(r.args))).toBe(true);
    // `prepare` would try to build before the sources are copied: scripts are off for npm ci.
    const ci = all(buildStage, 'RUN').find((r) => /\bnpm ci\b/.test(r.args));
    expect(ci?.args).toContain('--ignore-scripts');
  });

  it('runs as a numeric non-root user, the one the chart expects', () => {
    const users = all(finalStage, 'USER');
    const user = users[users.length - 1]?.args ?? '';
    const m = /^(\d+)(?::(\d+))?$/.exec(user);
    expect(m, `USER ${user} must be numeric (uid[:gid]) so runAsNonRoot can verify it`).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![2] ?? 1)).toBeGreaterThan(0);
    expect(Number(m![1])).toBe(chartValues.securityContext.runAsUser);
    expect(Number(m![1])).toBe(chartValues.podSecurityContext.runAsUser);
  });

  it('starts `tierguard serve` by default through the package bin', () => {
    const entry = JSON.parse(one(finalStage, 'ENTRYPOINT').args) as string[];
    const cmd = JSON.parse(one(finalStage, 'CMD').args) as string[];
    const argv = [...entry, ...cmd];
    expect(argv[0]).toBe('/nodejs/bin/node');
    const workdir = all(finalStage, 'WORKDIR').at(-1)!.args;
    expect(posix.resolve(workdir, argv[1])).toBe(posix.resolve(workdir, pkg.bin.tierguard));
    expect(existsSync(join(ROOT, pkg.bin.tierguard))).toBe(true);
    expect(argv.slice(2)).toEqual(['serve']);
  });

  it('configures the port and policy directory the chart uses', () => {
    expect(finalEnv.get('NODE_ENV')).toBe('production');
    expect(finalEnv.get('PORT')).toBe(String(chartValues.containerPort));
    expect(one(finalStage, 'EXPOSE').args).toBe(finalEnv.get('PORT'));
    const workdir = all(finalStage, 'WORKDIR').at(-1)!.args;
    const policies = all(finalStage, 'COPY').map((c) => parseCopy(c.args)).find((c) => c.sources.includes('policies'));
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
    expect(one(finalStage, 'HEALTHCHECK').args).toMatch(/--interval=\d+s/);
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
  const copies = df.stages.flatMap((s) => all(s, 'COPY').map((c) => parseCopy(c.args))).filter((c) => !c.from);

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
    for (const p of ['node_modules', 'node_modules/yaml/package.json', 'dist/cli/main.js', '.git/config', '.env', 'src/.env.local', 'test/ship/render.ts', 'helm/tierguard/values.yaml', 'coverage', 'npm-debug.log']) {
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
