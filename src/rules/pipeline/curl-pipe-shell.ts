import type { TextMemo } from '../line-facts.js';
import { defineRule } from '../types.js';
import { commandIndex, locateInScalar, memoByText, programName, scriptSites, segments, unquote, type Segment } from './_shell.js';

const DOWNLOADERS = /^(curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod|http|httpie|aria2c)$/i;
const INTERPRETERS = /^(sh|bash|zsh|dash|ksh|ash|mksh|fish|python[0-9.]*|perl|ruby|node|nodejs|php|pwsh|powershell|iex|invoke-expression|source|\.)$/i;
const PS_DOWNLOAD_EXEC = /\b(?:iex|Invoke-Expression)\b[^\n]*?\b(?:iwr|irm|Invoke-WebRequest|Invoke-RestMethod|DownloadString|curl|wget)\b[^\n]*/gi;

export interface PipeHit {
  index: number;
  length: number;
  downloader: string;
  interpreter: string;
  url?: string;
}

function downloaderIn(text: string): { prog: string; url?: string } | undefined {
  for (const seg of segments(text)) {
    const ci = commandIndex(seg.words);
    const prog = programName(seg.words[ci]);
    if (DOWNLOADERS.test(prog)) {
      const url = seg.words.map((w) => unquote(w.raw)).find((w) => /^[a-z]+:\/\//i.test(w) || /^[\w.-]+\.[a-z]{2,}\//i.test(w));
      return { prog, url };
    }
  }
  return undefined;
}

/** Whether an interpreter reads its program from stdin (no script file argument, no `-c`). */
function readsProgramFromStdin(seg: Segment, ci: number): boolean {
  const args = seg.words.slice(ci + 1).map((w) => unquote(w.raw));
  for (const a of args) {
    if (a === '-' || a === '-s' || a === '--') return true;
    if (/^-[a-zA-Z]*c[a-zA-Z]*$/.test(a) && !/^-(-|[A-Z])/.test(a)) return false;
    if (!a.startsWith('-')) return false;
  }
  return true;
}

/**
 * Downloaded code executed as it arrives: `curl … | sh`, `wget -qO- … | sudo bash`,
 * `bash <(curl …)`, `sh -c "$(curl …)"`, `eval "$(curl …)"`, PowerShell `iwr … | iex`.
 * Memoised by text (pipelines repeat script lines); the result is shared: read only.
 */
export const findPipeToShell: TextMemo<readonly PipeHit[]> = memoByText(pipeToShell);

function pipeToShell(text: string): PipeHit[] {
  const out: PipeHit[] = [];
  const segs = segments(text);
  segs.forEach((seg, si) => {
    const ci = commandIndex(seg.words);
    const cmd = seg.words[ci];
    if (!cmd) return;
    const prog = programName(cmd);
    // `curl … | [tee …|] sh`
    if (segs[si - 1]?.op === '|' && INTERPRETERS.test(prog) && prog !== 'source' && prog !== '.' && readsProgramFromStdin(seg, ci)) {
      for (let k = si - 1; k >= 0; k--) {
        const prev = segs[k]!; // 0 <= k < si
        const pc = commandIndex(prev.words);
        const pw = prev.words[pc];
        const pp = programName(pw);
        if (pw && DOWNLOADERS.test(pp)) {
          const d = downloaderIn(text.slice(prev.start, prev.end));
          out.push({ index: pw.start, length: cmd.end - pw.start, downloader: pp, interpreter: prog, url: d?.url });
          break;
        }
        if (segs[k - 1]?.op !== '|') break;
      }
    }
    if (!INTERPRETERS.test(prog) && prog !== 'eval') return;
    // `bash <(curl …)`, `source <(wget -O- …)`, `sh -c "$(curl …)"`, `eval "$(curl …)"`.
    for (const w of seg.words.slice(ci + 1)) {
      const m = /^<\((.*)\)$/s.exec(w.raw) ?? /^["']?\$\((.*)\)["']?$/s.exec(w.raw) ?? /^["']?`(.*)`["']?$/s.exec(w.raw);
      if (!m) continue;
      const d = downloaderIn(m[1]!);
      if (d) out.push({ index: cmd.start, length: w.end - cmd.start, downloader: d.prog, interpreter: prog, url: d.url });
    }
  });
  PS_DOWNLOAD_EXEC.lastIndex = 0;
  for (let m = PS_DOWNLOAD_EXEC.exec(text); m; m = PS_DOWNLOAD_EXEC.exec(text)) {
    if (out.some((h) => h.index <= m.index + m[0].length && m.index <= h.index + h.length)) continue;
    const url = /https?:\/\/[^\s'")]+/.exec(m[0])?.[0];
    out.push({ index: m.index, length: m[0].trimEnd().length, downloader: 'Invoke-WebRequest', interpreter: 'Invoke-Expression', url });
  }
  return out.sort((a, b) => a.index - b.index);
}

/**
 * Piping a download into a shell runs whatever the server (or anyone on the path) returns at
 * that moment — unreviewed, unpinned, with the job's variables and tokens.
 */
export default defineRule({
  meta: {
    id: 'curl-pipe-shell',
    kind: 'pipeline',
    title: 'Downloaded code is piped into a shell',
    defaultSeverity: 'warning',
    principle: 'Only reviewed, pinned code runs in a job: nothing fetched at run time is executed unverified.',
    fix: 'Download to a file, verify it against a pinned checksum (`echo "<sha256>  install.sh" | sha256sum -c -`) or signature, then run it; better, bake the tool into a pinned image.',
    messages: {
      pipeToShell: '`{{key}}`{{ofJob}} runs code downloaded{{from}} by `{{downloader}}` straight in `{{interpreter}}`: whatever the server returns runs unreviewed with the job\'s credentials.',
    },
  },
  create(ctx) {
    return {
      pipeline(p) {
        for (const site of scriptSites(p)) {
          for (const [i, h] of findPipeToShell.of(site.line).entries()) {
            let from = '';
            if (h.url) {
              try {
                from = ` from ${new URL(/^[a-z]+:\/\//i.test(h.url) ? h.url : 'https://' + h.url).host}`;
              } catch {
                from = '';
              }
            }
            ctx.report({
              at: locateInScalar(p, site.line.loc, site.line.text, h.index, h.length),
              job: site.job,
              keyPath: site.keyPath,
              discriminator: `${h.downloader}|${h.interpreter}|${i}`,
              messageId: 'pipeToShell', data: { key: site.line.key, ofJob: site.job ? ` of job \`${site.job}\`` : '', from, downloader: h.downloader, interpreter: h.interpreter },
            });
          }
        }
      },
    };
  },
});
