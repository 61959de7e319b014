/**
 * ESLint (flat config): JavaScript's and typescript-eslint's recommended rules everywhere, a few rules that read the
 * types (TypeScript files of tsconfig.json, through the project service): no needless `!` or `as` (with
 * noUncheckedIndexedAccess on, the `!`s left are the ones that say "in range"), no promise left floating or passed
 * where a callback's result is ignored; the React hooks rules in the page (src/ui); and eslint-config-prettier last
 * so that no rule argues with the formatter (.prettierrc.json).
 * `npm run lint` runs it with Prettier's check; `npm test` runs that first, beside the import-graph gate.
 */
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

export default defineConfig(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'reports/',
      'test-results/',
      'playwright-report/',
      'public/',
      'gpu-kit/',
      'bench-results/',
      'src/kernels/simd/',
    ],
  }, // simd/: AssemblyScript, checked by its compiler
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx}'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // the portable globals of tsconfig.core.json, outside tsconfig.json's project: read without types
    files: ['types/**'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['src/ui/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat.recommended],
  },
  {
    rules: {
      // TEAM.md: no `any`; typed messages between UI and worker
      '@typescript-eslint/no-explicit-any': 'error',
      // `_name` marks a parameter kept for its position
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': 'error',
    },
  },
  {
    // plain JavaScript run by Node: the CI's scripts, dependency-cruiser's CommonJS config
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
