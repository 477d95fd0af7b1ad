import { describe, expect, it } from 'vitest';
import rule, { findPipeToShell } from '../../src/rules/pipeline/curl-pipe-shell.js';
import { checkRule } from './harness.js';

const hits = (t: string) => findPipeToShell(t).map((h) => `${h.downloader}>${h.interpreter}@${h.index}+${h.length}`);

describe('curl-pipe-shell detection', () => {
  it('finds download-and-execute forms', () => {
    expect(hits('curl -sSL https://get.example.com | sh')).toEqual(['curl>sh@0+38']);
    expect(hits('wget -qO- https://x.example.com/i.sh | sudo bash -s -- --yes')).toEqual(['wget>bash@0+48']);
    expect(hits('curl -fsSL https://x.example.com/i.sh | tee /tmp/i.sh | bash')).toHaveLength(1);
    expect(hits('bash <(curl -s https://x.example.com/i.sh)')).toEqual(['curl>bash@0+42']);
    expect(hits('sh -c "$(curl -fsSL https://x.example.com/install.sh)"')).toHaveLength(1);
    expect(hits('eval "$(wget -qO- https://x.example.com/env)"')).toHaveLength(1);
    expect(hits('curl -s https://x.example.com/get.py | python3 -')).toHaveLength(1);
    expect(hits("iwr https://x.example.com/i.ps1 -UseBasicParsing | iex")).toHaveLength(1);
    expect(hits("iex ((New-Object System.Net.WebClient).DownloadString('https://x.example.com/i.ps1'))")).toHaveLength(1);
  });
  it('leaves downloads that are not executed alone', () => {
    for (const t of [
      'curl -sSLo install.sh https://get.example.com && sha256sum -c install.sh.sha256 && sh install.sh',
      'curl -s https://api.example.com/data.json | python3 parse.py',
      'curl -s https://api.example.com/data.json | jq .version',
      'echo "curl https://x | sh"',
      'curl -s https://x.example.com | bash -c "cat > /tmp/out"',
    ]) {
      expect(hits(t), t).toEqual([]);
    }
  });
});

describe('curl-pipe-shell', () => {
  it('reports the download-and-execute span once per place', async () => {
    await checkRule(rule, {
      valid: ['build:\n  script:\n    - curl -fsSLo tool.tgz https://dl.example.com/tool-1.2.tgz\n    - echo "3f1c…  tool.tgz" | sha256sum -c -\n'],
      invalid: [
        {
          code: 'default:\n  before_script:\n    - curl -sSL https://get.example.com/install.sh | sh\na:\n  script: make\nb:\n  script:\n    - |\n      set -e\n      wget -qO- https://x.example.com/i.sh | sudo bash\n',
          errors: [
            { line: 3, column: 7, severity: 'warning', message: /^`before_script` runs code downloaded from get\.example\.com by `curl` straight in `sh`/ },
            { line: 10, column: 7, job: 'b', message: /^`script` of job `b` runs code downloaded from x\.example\.com by `wget` straight in `bash`/ },
          ],
        },
      ],
    });
  });

  it('reads a script item GitLab rejects as a mapping (`- curl -H "A: b" … | sh`)', async () => {
    await checkRule(rule, {
      valid: [],
      invalid: [
        {
          code: 'build:\n  script:\n    - curl -H "Accept: text/x-sh" https://get.example.com/i.sh | sh\n',
          errors: [{ line: 3, column: 7, job: 'build', message: /downloaded from get\.example\.com by `curl` straight in `sh`/ }],
        },
      ],
    });
  });
});
