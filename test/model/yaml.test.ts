import { describe, expect, it } from 'vitest';
import { linePositions, parseCiYaml } from '../../src/model/yaml.js';
import { LineCounter } from 'yaml';
import { get, str, toJS, type YMap } from '../../src/model/node.js';
import { readVariables } from '../../src/model/variables.js';

describe('parseCiYaml: GitLab loader semantics (Psych, YAML 1.1)', () => {
  it('merge key: the merged map overwrites keys before `<<`, keys after it win', () => {
    const r = parseCiYaml('f.yml', ['.base: &base', '  a: 1', '  b: 2', 'job:', '  b: 0', '  <<: *base', '  c: 3', '  a: 9'].join('\n'));
    expect(r.diagnostics).toEqual([]);
    expect(toJS(get(r.root, 'job'))).toEqual({ b: 2, a: 9, c: 3 });
    // `b` came from the anchor: its location is where the anchor wrote it.
    expect(get(r.root, 'job', 'b')!.loc).toMatchObject({ line: 3, column: 6 });
    expect(get(r.root, 'job', 'a')!.loc).toMatchObject({ line: 8, column: 6 });
  });

  it('merge key with a list: earlier maps win', () => {
    const r = parseCiYaml('f.yml', 'x:\n  <<: [{k: 1}, {k: 2, j: 3}]\n');
    expect(toJS(get(r.root, 'x'))).toEqual({ k: 1, j: 3 });
  });

  it('duplicate keys are accepted and the last wins, keeping the first position', () => {
    const r = parseCiYaml('f.yml', 'a: 1\nb: 2\na: 3\n');
    expect(r.diagnostics).toEqual([]);
    expect([...r.root!.entries.keys()]).toEqual(['a', 'b']);
    expect(toJS(r.root)).toEqual({ a: 3, b: 2 });
  });

  // `ruby/psych` `lib/psych/scalar_scanner.rb` (`tokenize`) and its own tests
  // (`test/psych/test_scalar_scanner.rb`); what differs from the `yaml` package's 1.1 schema is marked.
  it('resolves every plain scalar as Psych does, and prints numbers as Ruby does', () => {
    const cases: [string, unknown, string?][] = [
      ['~', null], ['null', null], ['nUlL', null], // any case (yaml: three spellings)
      ['yes', true], ['yEs', true], ['ON', true], ['no', false], ['OfF', false], ['True', true],
      ['y', 'y'], ['N', 'N'], // not booleans to Psych (yaml: booleans)
      ['1', 1, '1'], ['+1', 1, '1'], ['-1', -1, '-1'], ['017', 15, '15'], ['0x1F', 31, '31'], ['0b101', 5, '5'],
      ['1,000', 1000, '1000'], ['123_456_789', 123456789, '123456789'], ['1_2,3,4_5,6_789', 123456789, '123456789'], // commas (yaml: a string)
      ['08', '08'], ['100_', '100_'], ['_100', '_100'], ['450D', '450D'], ['0x_,_', '0x_,_'], // (yaml: 8 for `08`)
      ['12345678901234567890', Number('12345678901234567890'), '12345678901234567890'], // the text exact, as Ruby's Integer
      ['1.2', 1.2, '1.2'], ['1.0', 1, '1.0'], ['100.0', 100, '100.0'], ['.5', 0.5, '0.5'], ['1.', 1, '1.0'], ['3.10', 3.1, '3.1'],
      ['1.5e+3', 1500, '1500.0'], ['0.E+0', 0, '0.0'], ['1.0e-5', 0.00001, '1.0e-05'], ['1.0e+20', 1e20, '1.0e+20'],
      ['1e3', '1e3'], ['1.5e3', '1.5e3'], ['e5', 'e5'], // a float needs its `.` and its exponent's sign (yaml: numbers)
      ['.', '.'], ['+.', '+.'],
      ['.inf', Infinity, 'Infinity'], ['+.inf', Infinity, 'Infinity'], ['-.inf', -Infinity, '-Infinity'],
      ['190:20:30', 685230, '685230'], ['190:20:30.15', 685230.15, '685230.15'],
      ['1:30', 5400, '5400'], // hours and minutes to Psych (yaml: 90)
      ['00:00:00:00:00', '00:00:00:00:00'], // at most three parts (yaml: 0)
      [':foo', 'foo'], // a Symbol, read as its name
      ['2024-13-01', '2024-13-01'], ['abc', 'abc'], ['ü', 'ü'], ['hello world', 'hello world'], ['$VAR', '$VAR'], ['node:20', 'node:20'],
      ['!!str 12', '12'], ['!!int "7"', 7, '7'],
    ];
    const text = cases.map(([v], i) => `k${i}: ${v}\n`).join('');
    const r = parseCiYaml('f.yml', text);
    expect(r.diagnostics).toEqual([]);
    const got = cases.map((_, i) => {
      const n = get(r.root, `k${i}`);
      return n?.kind === 'scalar' ? [n.value, n.value === null || typeof n.value !== 'number' ? undefined : str(n)] : n;
    });
    expect(got).toEqual(cases.map(([, value, text]) => [value, text]));
    // As keys too (GitLab's job names), and as variable values: Ruby's text.
    const k = parseCiYaml('k.yml', '1.0: a\n1,000: b\nvariables:\n  V: 1.0\n  W: 1e3\n  X: 08\n');
    expect([...k.root!.entries.keys()]).toEqual(['1.0', '1000', 'variables']);
    expect([...readVariables(get(k.root, 'variables') as YMap).values()].map((d) => d.value)).toEqual(['1.0', '1e3', '08']);
  });

  it('YAML 1.1 booleans', () => {
    const r = parseCiYaml('f.yml', 'a: yes\nb: on\nc: "yes"\nd: off\ne: n\nY: y\n');
    // Psych reads yes/on/off as booleans but not y/n (the `yaml` package's 1.1 schema does).
    expect(toJS(r.root)).toEqual({ a: true, b: true, c: 'yes', d: false, e: 'n', Y: 'y' });
  });

  it('refuses a plain date or time as GitLab does (safe_load permits no Date or Time); quoted, or tagged !!binary, it stays as written', () => {
    for (const [yaml, line, column, cls] of [
      ['job:\n  variables:\n    RELEASE: 2024-01-02\n', 3, 14, 'Date'],
      ['a: x\n2024-03-04: x\n', 2, 1, 'Date'],
      ['b: 2001-12-14 21:59:43.10 -5\n', 1, 4, 'Time'],
    ] as const) {
      const r = parseCiYaml('f.yml', yaml);
      expect(r.root).toBeUndefined();
      expect(r.diagnostics).toEqual([
        { kind: 'invalid', location: expect.objectContaining({ file: 'f.yml', line, column }), keyPath: [], message: expect.stringContaining(`GitLab's YAML loader refuses ("Tried to load unspecified class: ${cls}")`) },
      ]);
    }
    const r = parseCiYaml('f.yml', 'a: "2024-01-02"\nb: !!binary aGk=\n\'2024-03-04\': x\n!!binary aGk=: y\n');
    expect(r.diagnostics).toEqual([]);
    expect(toJS(r.root)).toEqual({ a: '2024-01-02', b: 'aGk=', '2024-03-04': 'x', 'aGk=': 'y' });
  });

  it('keeps !reference as an unresolved node with its path', () => {
    const r = parseCiYaml('f.yml', 'job:\n  script: !reference [.setup, script]\n');
    expect(get(r.root, 'job', 'script')).toMatchObject({ kind: 'reference', path: ['.setup', 'script'], loc: { line: 2, column: 22 } });
  });

  it('rejects an empty or non-string !reference', () => {
    const r = parseCiYaml('f.yml', 'job:\n  script: !reference []\n');
    expect(r.diagnostics[0]).toMatchObject({ kind: 'invalid', location: { line: 2 } });
    expect(r.diagnostics[0]?.message).toContain('!reference');
  });

  it('refuses an alias bomb quickly with a clear message', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    const names = 'abcdefghij';
    for (let i = 1; i < names.length; i++) lines.push(`${names[i]}: &${names[i]} [${Array(9).fill('*' + names[i - 1]).join(',')}]`);
    const r = parseCiYaml('bomb.yml', lines.join('\n'));
    expect(r.root).toBeUndefined();
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]?.message).toMatch(/alias bomb/);
    expect(r.diagnostics[0]?.location.file).toBe('bomb.yml');
  });

  it('refuses deep nesting with GitLab limit wording', () => {
    const r = parseCiYaml('deep.yml', 'a: ' + '['.repeat(150) + ']'.repeat(150));
    expect(r.diagnostics[0]?.message).toMatch(/nested too deeply/);
    const r2 = parseCiYaml('deeper.yml', 'a: ' + '['.repeat(20000) + ']'.repeat(20000));
    expect(r2.diagnostics[0]?.message).toMatch(/nested too deeply/);
  });

  it('refuses nesting past 100 levels before composing it, at the first collection too deep', () => {
    // 99 brackets inside the root map: the innermost collection is at depth 100, allowed.
    expect(parseCiYaml('ok.yml', 'a: ' + '['.repeat(99) + ']'.repeat(99)).diagnostics).toEqual([]);
    const flow = parseCiYaml('flow.yml', 'a: ' + '['.repeat(100) + ']'.repeat(100));
    expect(flow.diagnostics).toEqual([{ kind: 'invalid', message: "the YAML is nested too deeply (over 100 levels, GitLab's limit)", location: expect.objectContaining({ file: 'flow.yml', line: 1, column: 103 }), keyPath: [] }]);
    // Block sequences written compactly (`- - - x`) and block maps by indentation.
    const compact = parseCiYaml('compact.yml', 'x: 1\n' + '- '.repeat(20000) + 'x\n');
    expect(compact.diagnostics[0]?.message).toMatch(/nested too deeply \(over 100 levels/);
    expect(compact.diagnostics[0]?.location).toMatchObject({ line: 2, column: 203 });
    const maps = parseCiYaml('maps.yml', Array.from({ length: 120 }, (_, i) => ' '.repeat(i) + `k${i}:`).join('\n') + ' v\n');
    expect(maps.diagnostics[0]?.message).toMatch(/nested too deeply \(over 100 levels/);
    expect(maps.diagnostics[0]?.location).toMatchObject({ line: 101, column: 101 });
    // Keys are measured as values are: an explicit key, and a flow map's key.
    const key = parseCiYaml('key.yml', '? ' + '['.repeat(120) + ']'.repeat(120) + '\n: v\n');
    expect(key.diagnostics[0]?.message).toMatch(/nested too deeply \(over 100 levels/);
    const flowKey = parseCiYaml('flow-key.yml', 'a: {' + '['.repeat(120) + ']'.repeat(120) + ': v}\n');
    expect(flowKey.diagnostics[0]?.message).toMatch(/nested too deeply \(over 100 levels/);
  });

  it('a process that reads many deeply nested files goes on running (the composer never sees them)', async () => {
    // Nesting thousands deep exhausts the yaml composer's stack; after a few such files V8 aborted
    // the process ("RegExpCompiler Allocation failed - process out of memory"), which a try/catch
    // cannot stop. The compiled module (built before the tests) runs in a child process.
    const script = `
      const { parseCiYaml } = await import(${JSON.stringify(new URL('../../dist/model/yaml.js', import.meta.url).href)});
      for (const n of [100, 1000, 3000, 5000, 8000, 8000, 12000, 20000, 8000, 8000]) {
        const r = parseCiYaml('deep.yml', 'a: ' + '['.repeat(n) + ']'.repeat(n));
        if (!/nested too deeply/.test(r.diagnostics[0]?.message ?? '')) throw new Error('not refused at ' + n);
      }
      console.log('survived');`;
    const { execFile } = await import('node:child_process');
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : child.exitCode) : 0, stdout, stderr }),
      );
    });
    expect(out.stderr).not.toMatch(/FATAL ERROR/);
    expect(out).toMatchObject({ code: 0, stdout: 'survived\n' });
  });

  it('refuses an oversized file', () => {
    const r = parseCiYaml('big.yml', 'a: "' + 'x'.repeat(2 * 1024 * 1024) + '"');
    expect(r.diagnostics[0]?.message).toMatch(/too big/);
  });

  it('reports a syntax error at its line and column', () => {
    const r = parseCiYaml('bad.yml', 'job:\n  script: [a, b\n  other: 1\n');
    expect(r.diagnostics[0]?.message).toMatch(/^YAML syntax error/);
    expect(r.diagnostics[0]?.location.line).toBeGreaterThanOrEqual(2);
  });

  it('reads a spec header document and the config after it', () => {
    const r = parseCiYaml('c.yml', 'spec:\n  inputs:\n    stage:\n      default: test\n---\njob:\n  script: echo\n');
    expect(r.header && r.header.entries.has('spec')).toBe(true);
    expect(Object.keys(toJS(r.root) as object)).toEqual(['job']);
  });

  it('rejects a non-mapping configuration', () => {
    const r = parseCiYaml('c.yml', '- a\n- b\n');
    expect(r.diagnostics[0]?.message).toMatch(/must be a mapping/);
  });
});

describe('linePositions: the yaml package\'s LineCounter.linePos, searched from the last answer', () => {
  it('gives linePos\'s answer for every offset, asked in order, backwards, and at random', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const texts = ['', 'a', '\n', 'a: 1\n', 'a: 1\nb: 2\n\n\nc: [x, y]\n  - z\n', Array.from({ length: 200 }, (_, i) => 'k'.repeat(i % 7) + ': v').join('\n')];
    for (const text of texts) {
      const counter = new LineCounter();
      // The lexer reports line starts as the CST parser does: offset 0, then after each newline.
      counter.addNewLine(0);
      for (let i = 0; i < text.length; i++) if (text[i] === '\n') counter.addNewLine(i + 1);
      const offsets = Array.from({ length: text.length + 3 }, (_, i) => i);
      const orders = [offsets, [...offsets].reverse(), offsets.map(() => Math.floor(random() * (text.length + 3))), offsets.flatMap((o) => [o, Math.max(0, o - 2)])];
      for (const order of orders) {
        const pos = linePositions(counter.lineStarts);
        for (const o of order) expect([o, pos(o)]).toEqual([o, counter.linePos(o)]);
      }
      // and with no line start known at all (line 0, as linePos says)
      const none = linePositions([]);
      expect(none(5)).toEqual(new LineCounter().linePos(5));
    }
  });
});

