// Lint rules for tierguard (`npm run lint`, run by `npm test`): typescript-eslint with type
// information over src/ and test/, plain recommended rules over the .mjs/.js scripts.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'bench/', '.bench/', '.vitest/', 'test/fixtures/'],
  },
  // TypeScript: recommended + strict, type-aware (the tsconfig.json project: src, test, scripts).
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Off: a `!` states an invariant the code relies on (a Map entry just set, a required regex
      // group); noUncheckedIndexedAccess already makes each one explicit, and each is reviewed.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Off: style only; `(x) => void_call(x)` arrows are idiomatic here and hide nothing.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Numbers and booleans read fine in messages; objects, undefined and null still may not
      // end up in a template string by accident.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // Keys and messages join strings and numbers (`fp + ':' + line`); operands that may be
      // undefined or objects are still errors.
      '@typescript-eslint/restrict-plus-operands': ['error', { allowNumberAndString: true }],
      // Off: `async` without `await` is how the in-memory queue, MemorySource and the fakes
      // implement Promise-returning interfaces (a throw becomes a rejection, as callers expect).
      '@typescript-eslint/require-await': 'off',
      // `_`-prefixed names and rest siblings (`const { a: _a, ...rest } = o`) are deliberately unused.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Off: rule and live-check contexts (`ctx.locateInScript`, `helm.mapPos`) are object
      // literals of closures that never use `this`, and are passed around as functions by design.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  // Tests walk parsed documents (SARIF, Code Quality, CLI JSON, rendered Kubernetes manifests)
  // as `any` and assert their shape with expect(); typing each document would only restate the
  // assertions. The unsafe-any rules stay on for src/.
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // dockerfile-ast instructions are cast to their class by keyword, and the fakes stringify
      // request parameters of unknown type the way GitLab's Rails does.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      // afterEach guards (`await server?.close()`) also run when the setup before them failed.
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  // Scripts and the launcher (.mjs/.js): plain JavaScript outside any TypeScript project, so
  // without type information; Node's globals.
  {
    files: ['**/*.mjs', '**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
  },
);
