import { describe, expect, it } from 'vitest';
import { caret, escapeControls, renderText, summaryLine } from '../../src/findings/render/text.js';
import { SourceFiles } from '../../src/findings/sources.js';
import type { Finding } from '../../src/findings/finding.js';
import { findings, input, SECRET } from './fixtures.js';

const at = (line: number, column: number, endLine: number, endColumn: number) => ({
  file: 'f.yml',
  line,
  column,
  endLine,
  endColumn,
});

describe('caret', () => {
  it('marks a multi-column range with ^ then ~ under the exact columns', () => {
    expect(caret('  image: alpine:latest', at(1, 10, 1, 23))).toEqual({ padding: ' '.repeat(9), marks: '^~~~~~~~~~~~~' });
  });

  it('marks a point location with a single ^', () => {
    expect(caret('abc def', at(1, 5, 1, 5))).toEqual({ padding: '    ', marks: '^' });
  });

  it('copies tabs into the padding so the caret lines up at any tab width', () => {
    expect(caret('\t\tkey: v', at(1, 3, 1, 6))).toEqual({ padding: '\t\t', marks: '^~~' });
    expect(caret('a\tb\tkey', at(1, 5, 1, 8))).toEqual({ padding: ' \t \t', marks: '^~~' });
  });

  it('marks a range continuing on later lines up to the end of the first line text', () => {
    expect(caret('  script: |   ', at(1, 3, 4, 10))).toEqual({ padding: '  ', marks: '^~~~~~~~~' }); // "script: |"
  });

  it('clamps columns past the end of the (masked) line', () => {
    expect(caret('ab', at(1, 2, 1, 40))).toEqual({ padding: ' ', marks: '^' });
    expect(caret('ab', at(1, 9, 1, 12))).toEqual({ padding: '  ', marks: '^' });
  });
});

describe('renderText', () => {
  it('prints header, masked source line, caret, related notes, fix hints and the summary', () => {
    const out = renderText(input({ diagnostics: ['include remote https://x.example/a.yml not fetched'] }));
    expect(out.split('\n')).toEqual([
      '.gitlab-ci.yml:2:17: error: literal GitLab token glpa************ in variables [hardcoded-credential]',
      // Source snippets mask secrets with a same-length run so carets stay aligned.
      '    2 |   DEPLOY_TOKEN: ' + '*'.repeat(SECRET.length),
      '      |                 ^' + '~'.repeat(SECRET.length - 1),
      '  fix: remove glpa************',
      '.gitlab-ci.yml:3:1: warning: job "deploy" has no tags [untagged-job]',
      '    3 | deploy:',
      '      | ^~~~~~',
      '.gitlab-ci.yml:3:1: note: job "deploy" has no tags (suppressed by exception: legacy runner until 2030-01-01) [untagged-job]',
      '    3 | deploy:',
      '      | ^~~~~~',
      '.gitlab-ci.yml:5:3: error: deploy job "deploy" can run in merge request pipelines [deploy-unprotected-ref]',
      '    5 |   environment: production',
      '      |   ^~~~~~~~~~~~~~~~~~~~~~~',
      '  .gitlab-ci.yml:3:1: note: the job has no rules (token glpa************ nearby)',
      '  fix: only deploy from protected refs',
      '.gitlab-ci.yml:7:21: note: CI_DEBUG_TRACE is enabled (suppressed by inline comment: debugging a flaky deploy) [debug-trace-enabled]',
      '    7 |     CI_DEBUG_TRACE: "true"',
      '      |                     ^~~~~~',
      'runners/config.toml:3:2: error: runner "shared" runs privileged containers [runner-privileged]',
      '    3 | \tprivileged = true',
      '      | \t^~~~~~~~~~~~~~~~~',
      'note: include remote https://x.example/a.yml not fetched',
      '3 errors (2 blocking), 1 warning, 2 suppressed',
      '',
    ]);
  });

  it('never prints the secret, even when a rule put it into its message', () => {
    const out = renderText(input());
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain('AbCdEf1234');
  });

  it('prints "no findings" for an empty list, with diagnostics before it', () => {
    expect(renderText(input({ findings: [] }))).toBe('no findings\n');
    expect(renderText(input({ findings: [], diagnostics: ['x'] }))).toBe('note: x\nno findings\n');
  });

  it('omits the snippet when the file or line is unknown', () => {
    const f: Finding = { ...findings()[1]!, location: at(1, 1, 1, 2), message: 'm', fix: undefined };
    expect(renderText(input({ findings: [f] }))).toBe(
      'f.yml:1:1: error: m [hardcoded-credential]\n1 error (1 blocking), 0 warnings, 0 suppressed\n',
    );
  });

  it('has no ANSI escapes by default and colours severity words when color=true', () => {
    expect(renderText(input())).not.toContain('\u001b');
    const coloured = renderText(input({ color: true }));
    expect(coloured).toContain('\u001b[1;31merror\u001b[0m');
    expect(coloured).toContain('\u001b[1;33mwarning\u001b[0m');
    expect(coloured).toContain('\u001b[1;36mnote\u001b[0m');
    expect(coloured).toContain('\u001b[1;32m^~~~~~\u001b[0m');
  });

  it('neutralises terminal control characters coming from untrusted input', () => {
    const sources = new SourceFiles();
    sources.add('f.yml', 'job\u001b[2J: x');
    const f: Finding = {
      ...findings()[1]!,
      location: at(1, 1, 1, 4),
      message: 'job "\u001b]0;pwned\u0007" \u202eevil',
      fix: undefined,
    };
    const out = renderText({ ...input({ findings: [f] }), sources });
    // eslint-disable-next-line no-control-regex -- the escape and bell characters must not reach the terminal
    expect(out).not.toMatch(/[\u001b\u0007\u202e]/);
    expect(out).toContain('job "\\x1b]0;pwned\\x07" \\u202eevil');
    expect(out).toContain('    1 | job\ufffd[2J: x');
  });
});

describe('escapeControls', () => {
  it('keeps column positions in source mode and shows escapes in message mode', () => {
    expect(escapeControls('a\tb\rc', true)).toBe('a\tb\ufffdc');
    expect(escapeControls('a\tb\rc')).toBe('a b\\x0dc');
  });
});

describe('summaryLine', () => {
  it('counts errors, blocking errors, warnings and suppressed findings', () => {
    expect(summaryLine([])).toBe('no findings');
    expect(summaryLine(findings())).toBe('3 errors (2 blocking), 1 warning, 2 suppressed');
    const [suppressed] = findings();
    expect(summaryLine([suppressed!])).toBe('0 errors (0 blocking), 0 warnings, 1 suppressed');
  });
});
