// ESLint: the recommended JavaScript rules and typescript-eslint's type-aware recommended ones,
// over the library, its tests, benchmarks and scripts. Formatting is prettier's business, not
// ESLint's (.prettierrc.json; `npm run format:check`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'docs/**', 'node_modules/**', 'build/**', 'addons/**', '.device/**', 'coverage/**',
    // Compiled only as an installed package's consumer (test/package/typings.test.ts), with its own tsconfig.
    'test/package/consumer/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.json', './test/tsconfig.json', './bench/tsconfig.json', './scripts/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Unused names are tsc's job (noUnusedLocals, noUnusedParameters); an underscore marks one kept on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Plain JavaScript (the install hook, the prebuild shims, configs): CommonJS, no type information.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' } },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
);
