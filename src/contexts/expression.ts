/**
 * `rules:if` / `only:variables` expressions (GitLab's `lib/gitlab/ci/pipeline/expression/`):
 * the lexer, the parser, the regex translation and the three-valued evaluator, one module each
 * under `expression/`.
 */
export * from './expression/lexer.js';
export * from './expression/parser.js';
export * from './expression/regex.js';
export * from './expression/evaluate.js';
