/**
 * Audit benchmark driver (scripts/bench-audit.mjs): a fake GitLab group of BENCH_AUDIT_PROJECTS
 * (2,000) projects with a few jobs each, audited by the built CLI code in a child process with 1
 * and 2 workers (concurrent projects). Reports projects per minute, GitLab calls per project and
 * the child's peak memory.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { startFakeGitLabOrg } from '../test/support/fake-gitlab-org.js';

const N = Number(process.env.BENCH_AUDIT_PROJECTS ?? 2000);
const WORKERS = (process.env.BENCH_AUDIT_WORKERS ?? '1,2').split(',').map(Number);

const pipeline = (i: number) =>
  [
    'lint:',
    '  script: npm run lint',
    '  rules:',
    '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"',
    '    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH',
    'test:',
    '  script: npm test',
    '  tags: [ci-general]',
    ...(i % 10 === 0
      ? ['deploy:', '  script: ./deploy.sh "$DEPLOY_TOKEN"', '  environment: production', `  tags: [${i % 20 === 0 ? 'docker' : 'ci-deploy-prod'}]`, '  rules:', '    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH']
      : ['build:', '  script: make', '  tags: [docker]']),
    '',
  ].join('\n');

it(`audits ${N} projects with ${WORKERS.join(' and ')} worker(s)`, async () => {
  const gl = await startFakeGitLabOrg();
  try {
    gl.addGroup('bench');
    for (let g = 0; g < 10; g++) gl.addGroup(`bench/team${g}`);
    for (let i = 0; i < N; i++) {
      const p = gl.addProject({ path: `bench/team${i % 10}/app${i}`, files: { '.gitlab-ci.yml': pipeline(i) } });
      if (i % 50 === 0) gl.addProjectRunner(p.id, { description: `deploy-${i}`, tag_list: ['ci-deploy-prod'], run_untagged: false, access_level: 'ref_protected' });
    }
    gl.addInstanceRunner({ description: 'shared', run_untagged: true });
    gl.addGroupRunner('bench', { description: 'docker', tag_list: ['docker'], run_untagged: true });
    gl.addGroupRunner('bench', { description: 'general', tag_list: ['ci-general'], run_untagged: false });
    const rows = [];
    for (const w of WORKERS) {
      const before = gl.requests.length;
      // Asynchronous: the fake GitLab answers from this process's event loop.
      const { stdout: out } = await promisify(execFile)(process.execPath, [path.join('bench', 'audit-child.mjs'), gl.url, 'bench', String(w)], {
        env: { ...process.env, GITLAB_TOKEN: gl.token },
        maxBuffer: 64 * 1024 * 1024,
      });
      const r = JSON.parse(out.trim().split('\n').pop()!);
      r.fakeRequests = gl.requests.length - before;
      rows.push(r);
      expect(r.projects).toBe(N);
    }
    const lines = [
      `audit benchmark: ${N} projects (${rows[0].jobs} jobs), fake GitLab on loopback in the driver process, node ${process.version}`,
      'workers  projects/min  duration   GitLab calls/project  peak RSS',
      ...rows.map((r) => `${String(r.workers).padEnd(8)} ${String(Math.round(r.projects / (r.ms / 60_000))).padStart(12)}  ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${String((r.fakeRequests / r.projects).toFixed(2)).padStart(20)}  ${String(r.maxRssMB).padStart(5)} MB`),
    ];
    const text = lines.join('\n');
    if (process.env.BENCH_AUDIT_OUT) writeFileSync(process.env.BENCH_AUDIT_OUT, JSON.stringify({ text, rows }));
    else console.log(text);
  } finally {
    await gl.close();
  }
});
