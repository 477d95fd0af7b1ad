import { describe, expect, it } from 'vitest';
import { mergeValues, Renderer, TemplateError } from './render.js';

function render(src: string, data: unknown, helpers = ''): string {
  const r = new Renderer();
  if (helpers) r.addFile('c/templates/_helpers.tpl', helpers);
  r.addFile('c/templates/t.yaml', src);
  return r.renderFile('c/templates/t.yaml', data);
}

describe('Go-template subset renderer', () => {
  it('trims whitespace around {{- and -}} only', () => {
    expect(render('a  \n  {{- .x -}}  \n  b', { x: 1 })).toBe('a1b');
    expect(render('a {{ .x }} b', { x: 'v' })).toBe('a v b');
  });

  it('prints a missing key as empty but fails on a field of nil, like Helm', () => {
    expect(render('[{{ .a.b }}]', { a: {} })).toBe('[]');
    expect(() => render('{{ .a.b.c }}', { a: {} })).toThrow(/nil pointer evaluating \.a\.b\.c/);
  });

  it('evaluates if / else if / else with Go truthiness', () => {
    const t = '{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}';
    expect(render(t, { a: [1], b: true })).toBe('A');
    expect(render(t, { a: [], b: 'x' })).toBe('B');
    expect(render(t, { a: {}, b: 0 })).toBe('C');
  });

  it('with rebinds dot; range visits lists in order and maps in key order', () => {
    expect(render('{{ with .m }}{{ .k }}{{ else }}none{{ end }}', { m: { k: 'v' } })).toBe('v');
    expect(render('{{ with .m }}{{ .k }}{{ else }}none{{ end }}', { m: {} })).toBe('none');
    expect(render('{{ range .l }}<{{ . }}>{{ end }}', { l: [3, 1] })).toBe('<3><1>');
    expect(render('{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}', { m: { b: 2, a: 1 } })).toBe('a=1;b=2;');
    expect(render('{{ range .l }}x{{ else }}empty{{ end }}', { l: [] })).toBe('empty');
    expect(render('{{ $n := .n }}{{ range .l }}{{ $n }}{{ $.n }}{{ end }}', { n: 'N', l: [1] })).toBe('NN');
  });

  it('includes defines with their own dot and root', () => {
    const helpers = '{{- define "x.name" -}}{{ .n | default "dflt" }}{{- end }}';
    expect(render('{{ include "x.name" . }}/{{ include "x.name" .sub }}', { n: '', sub: { n: 's' } }, helpers)).toBe('dflt/s');
  });

  it('implements the pipeline functions the chart uses', () => {
    expect(render('{{ .v | quote }}', { v: 8080 })).toBe('"8080"');
    expect(render('{{ .v | b64enc }}', { v: 'tok' })).toBe('dG9r');
    expect(render('{{ "abcdef-" | trunc 7 | trimSuffix "-" }}', {})).toBe('abcdef');
    expect(render('x:{{ .m | toYaml | nindent 2 }}', { m: { b: 1, a: [1] } })).toBe('x:\n  a:\n    - 1\n  b: 1');
    expect(render('{{ "a\nb" | indent 2 }}', {})).toBe('  a\n  b');
    expect(render('{{ printf "%s-%s" "a" .b }}', { b: 'c' })).toBe('a-c');
    expect(render('{{ and .a (not .b) }}|{{ and .a .b }}|{{ or .b "y" }}|{{ eq .a "x" }}|{{ gt (int .n) 1 }}', { a: 'x', b: '', n: 2 })).toBe('true||y|true|true');
    expect(render('{{ "a" | sha256sum }}', {})).toBe('ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb');
  });

  it('required and fail stop the render with the message', () => {
    expect(() => render('{{ required "x is required" .x }}', { x: '' })).toThrow(/x is required/);
    expect(render('{{ required "x is required" .x }}', { x: 'ok' })).toBe('ok');
    expect(() => render('{{ fail "boom" }}', {})).toThrow(/boom/);
  });

  it('rejects templates outside the subset instead of guessing', () => {
    expect(() => render('{{ lookup "v1" "Secret" "ns" "n" }}', {})).toThrow(TemplateError);
    expect(() => render('{{ if .a }}open', {})).toThrow(/missing \{\{ end \}\}/);
    expect(() => render('{{ template "x" . }}', {})).toThrow(/outside the renderer subset/);
    expect(() => render('{{ .m }}', { m: { a: 1 } })).toThrow(/use toYaml/);
  });
});

describe('values merge (helm coalescing)', () => {
  it('merges maps deeply, replaces lists and scalars, and deletes on null', () => {
    const base = { a: { b: 1, c: [1, 2], d: 'x' }, e: 1 };
    expect(mergeValues(base, { a: { c: [3], d: null }, f: true })).toEqual({ a: { b: 1, c: [3] }, e: 1, f: true });
    expect(base.a.d).toBe('x');
  });
});
