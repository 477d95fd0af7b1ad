import type { TextMemo } from '../line-facts.js';
import { table } from '../../util/table.js';
import type { RuleReport, Severity } from '../../findings/finding.js';
import type { SourceLocation } from '../../model/location.js';
import { defineRule } from '../types.js';
import { locateInLine } from './_script-facts.js';
import { commandIndex, memoByText, programName, segments, unquote, variableSites, wordText, type Segment, type Word } from './_shell.js';
import { flatMap } from '../../util/array.js';

export interface VerificationHit {
  index: number;
  length: number;
  /** What is switched off, for the message: "TLS certificate verification (`curl -k`)". */
  what: string;
}

const TLS = 'TLS certificate verification';
const HOST_KEY = 'SSH host key verification';
const SIGNATURES = 'package signature verification';

/** Environment variables that switch verification off, with the values that do it. */
const VARIABLES = table<{ off: (v: string) => boolean; what: string }>({
  GIT_SSL_NO_VERIFY: { off: (v) => v !== '' && !/^(0|false|no)$/i.test(v), what: `${TLS} (\`GIT_SSL_NO_VERIFY\`)` },
  NODE_TLS_REJECT_UNAUTHORIZED: { off: (v) => v === '0', what: `${TLS} (\`NODE_TLS_REJECT_UNAUTHORIZED=0\`)` },
  PYTHONHTTPSVERIFY: { off: (v) => v === '0', what: `${TLS} (\`PYTHONHTTPSVERIFY=0\`)` },
  NPM_CONFIG_STRICT_SSL: { off: (v) => /^false$/i.test(v), what: `${TLS} (\`npm_config_strict_ssl=false\`)` },
  PIP_TRUSTED_HOST: { off: (v) => v.trim() !== '', what: `${TLS} (\`PIP_TRUSTED_HOST\`)` },
  GIT_SSH_COMMAND: { off: (v) => SSH_OFF.test(v), what: `${HOST_KEY} (\`GIT_SSH_COMMAND\`)` },
  HELM_KUBEINSECURE_SKIP_TLS_VERIFY: { off: (v) => /^(1|true)$/i.test(v), what: `${TLS} (\`HELM_KUBEINSECURE_SKIP_TLS_VERIFY\`)` },
});
const SSH_OFF = /StrictHostKeyChecking\s*[= ]\s*["']?(no|off)\b|UserKnownHostsFile\s*[= ]\s*["']?\/dev\/null/i;

/** A variable name as the tool reads it (`npm_config_*` is case-insensitive). */
function variableRule(name: string) {
  return VARIABLES[name] ?? VARIABLES[name.toUpperCase()];
}

const span = (from: Word, to: Word = from) => ({ index: from.start, length: to.end - from.start });

/** One command (segment) of a script: what it switches off, at the word that does it. */
function judgeSegment(seg: Segment): VerificationHit[] {
  const out: VerificationHit[] = [];
  const words = seg.words;
  const args = words.map((w) => unquote(w.raw));
  // `NAME=value cmd` prefixes and `export NAME=value`.
  const ci = commandIndex(words);
  const prog = programName(words[ci]).toLowerCase();
  const assignFrom = prog === 'export' || prog === 'set' || prog === 'setx' ? ci + 1 : 0;
  for (const word of words.slice(assignFrom, assignFrom ? words.length : ci)) {
    const text = unquote(word.raw);
    const eq = text.indexOf('=');
    if (eq < 0 || !/^[A-Za-z_]\w*$/.test(text.slice(0, eq))) continue;
    const rule = variableRule(text.slice(0, eq));
    if (rule?.off(text.slice(eq + 1))) out.push({ ...span(word), what: rule.what });
  }
  const sub = args.slice(ci + 1).filter((a) => !a.startsWith('-'));
  switch (prog) {
    case 'curl':
      words.slice(ci + 1).forEach((w) => {
        const a = unquote(w.raw);
        if (a === '--insecure' || /^-[a-zA-Z]*k[a-zA-Z]*$/.test(a)) out.push({ ...span(w), what: `${TLS} (\`curl ${a}\`)` });
      });
      break;
    case 'wget':
      words.slice(ci + 1).forEach((w) => {
        if (unquote(w.raw) === '--no-check-certificate') out.push({ ...span(w), what: `${TLS} (\`wget --no-check-certificate\`)` });
      });
      break;
    case 'git':
      for (const [i, w] of words.entries()) {
        if (i <= ci) continue;
        const a = unquote(w.raw);
        const next = words[i + 1];
        const kv = a === '-c' ? wordText(next) : a.startsWith('-c') ? a.slice(2) : '';
        if (/^http(\..*)?\.sslverify=(false|0|no|off)$/i.test(kv)) out.push({ ...span(w, a === '-c' && next ? next : w), what: `${TLS} (\`git -c http.sslVerify=false\`)` });
        if (a === 'config') {
          const rest = args.slice(i + 1).filter((x) => !x.startsWith('-'));
          if (/^http(\..*)?\.sslverify$/i.test(rest[0] ?? '') && /^(false|0|no|off)$/i.test(rest[1] ?? '')) out.push({ ...span(w), what: `${TLS} (\`git config http.sslVerify false\`)` });
          break;
        }
      }
      break;
    case 'apt':
    case 'apt-get':
    case 'aptitude':
      words.slice(ci + 1).forEach((w) => {
        const a = unquote(w.raw);
        if (a === '--allow-unauthenticated' || a === '--allow-insecure-repositories' || /AllowInsecureRepositories=(true|1)|AllowUnauthenticated=(true|1)/i.test(a)) out.push({ ...span(w), what: `${SIGNATURES} (\`${prog} ${a}\`)` });
      });
      break;
    case 'pip':
    case 'pip3':
    case 'python':
    case 'python3':
    case 'uv':
    case 'poetry':
      words.slice(ci + 1).forEach((w) => {
        const a = unquote(w.raw);
        if (a === '--trusted-host' || a.startsWith('--trusted-host=')) out.push({ ...span(w), what: `${TLS} (\`pip --trusted-host\`)` });
      });
      break;
    case 'npm':
    case 'yarn':
    case 'pnpm': {
      const i = args.findIndex((a, k) => k > ci && /^strict-ssl$/.test(a));
      const key = words[i];
      const value = words[i + 1];
      if (key && value && (sub[0] === 'config' || sub[0] === 'set') && /^false$/i.test(unquote(value.raw))) out.push({ ...span(key, value), what: `${TLS} (\`${prog} config set strict-ssl false\`)` });
      words.slice(ci + 1).forEach((w) => {
        if (/^--strict-ssl=false$/i.test(unquote(w.raw))) out.push({ ...span(w), what: `${TLS} (\`--strict-ssl=false\`)` });
      });
      break;
    }
    case 'helm':
    case 'kubectl':
    case 'oc':
    case 'argocd':
    case 'vault':
    case 'docker':
      words.slice(ci + 1).forEach((w) => {
        const a = unquote(w.raw);
        if (/^--?(insecure-skip-tls-verify|insecure|tls-skip-verify|tlsverify=false)(=true)?$/.test(a) && !(prog === 'docker' && a === '--insecure')) {
          out.push({ ...span(w), what: `${TLS} (\`${prog} ${a}\`)` });
        }
      });
      break;
  }
  // SSH host keys: `ssh -o StrictHostKeyChecking=no`, `scp -oUserKnownHostsFile=/dev/null`,
  // `rsync -e "ssh -o …"`, and `~/.ssh/config` written with `echo`/`printf`.
  for (const [i, w] of words.entries()) {
    if (i < ci) continue;
    if (SSH_OFF.test(unquote(w.raw)) && !out.some((h) => h.index === w.start)) {
      const before = words[i - 1];
      const prev = i > ci && before && args[i - 1] === '-o' ? before : w;
      out.push({ ...span(prev, w), what: `${HOST_KEY} (\`StrictHostKeyChecking no\`/\`UserKnownHostsFile /dev/null\`)` });
      break;
    }
  }
  // `echo "deb [trusted=yes] …" >> /etc/apt/sources.list`
  for (const w of words.slice(ci)) {
    if (/\[(.*\s)?trusted=yes(\s.*)?\]/.test(unquote(w.raw))) {
      out.push({ ...span(w), what: `${SIGNATURES} (\`[trusted=yes]\` apt source)` });
      break;
    }
  }
  return out;
}

/** Everything a script item switches off, in text order (shared result: read only). */
export const findVerificationDisabled: TextMemo<readonly VerificationHit[]> = memoByText((text) =>
  flatMap(segments(text), judgeSegment).sort((a, b) => a.index - b.index),
);

/**
 * TLS certificates, SSH host keys and package signatures are what make "the server I meant"
 * true: with them off, anyone on the network path between the runner and the server — a
 * shared runner network, a proxy, a poisoned DNS — reads the credentials sent and answers
 * with their own code, charts, packages or cluster. In a deploy job they see deploy
 * credentials and decide what is deployed.
 */
export default defineRule({
  meta: {
    id: 'verification-disabled',
    kind: 'pipeline',
    title: 'TLS, SSH host key or package signature verification is switched off',
    defaultSeverity: 'error',
    principle: 'A job only talks to the servers it means to: certificates, host keys and signatures are checked, above all where deploy credentials are sent.',
    fix: 'Remove the switch and trust the right thing instead: add the internal CA to the image or `CI_SERVER_TLS_CA_FILE`/`SSL_CERT_FILE`, pin SSH host keys in `known_hosts` (from a CI/CD variable), import the repository signing key.',
    messages: {
      script: '`{{key}}` of {{job}} switches off {{what}}: anyone on the network path can read what it sends and answer in the server\'s place.',
      variable: '{{where}} {{name}} switches off {{what}}{{deployJob}}: anyone on the network path can read what jobs send and answer in the server\'s place.',
    },
  },
  create(ctx) {
    return {
      pipeline(p) {
        const found = new Map<string, RuleReport & { severity: Severity }>();
        const add = (at: SourceLocation, r: Omit<RuleReport, 'at'>, severity: Severity) => {
          const k = `${at.file}:${at.line}:${at.column}`;
          const prev = found.get(k);
          if (prev && !(prev.severity === 'warning' && severity === 'error')) return;
          found.set(k, { ...r, at, severity });
        };
        const deployText = (name: string, deploy: boolean) => (deploy ? `deploy-like job \`${name}\`` : `job \`${name}\``);
        for (const job of p.jobs) {
          const deploy = !!ctx.deploy(job);
          const severity: Severity = deploy ? 'error' : 'warning';
          for (const line of ctx.scriptLines(job)) {
            for (const h of findVerificationDisabled.of(line)) {
              add(
                locateInLine(ctx, line, h.index, h.length),
                {
                  job: job.name,
                  keyPath: [line.key, String(line.index)],
                  discriminator: h.what,
                  messageId: 'script',
                  data: { key: line.key, job: deployText(job.name, deploy), what: h.what },
                },
                severity,
              );
            }
          }
        }
        for (const site of variableSites(p)) {
          const rule = variableRule(site.def.name);
          if (!rule || !rule.off(site.def.value.trim())) continue;
          // Deploy-like jobs that receive this very definition.
          const same = (l?: SourceLocation) => !!l && l.file === site.def.valueLoc.file && l.line === site.def.valueLoc.line && l.column === site.def.valueLoc.column;
          const receivers = p.jobs.filter((j) => site.job === j.name || same(j.variables.get(site.def.name)?.valueLoc));
          const deployJob = receivers.find((j) => ctx.deploy(j));
          add(
            site.def.valueLoc,
            {
              job: site.job,
              keyPath: site.keyPath,
              messageId: 'variable',
              data: { where: site.where, name: site.def.name, what: rule.what, deployJob: deployJob ? ` for deploy-like job \`${deployJob.name}\`` : '' },
            },
            deployJob ? 'error' : 'warning',
          );
        }
        for (const r of found.values()) ctx.report(r);
      },
    };
  },
});
