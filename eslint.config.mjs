// ESLint: typescript-eslint with type information. no-floating-promises catches the classic Pulumi bug (an Output
// or promise nobody awaits: a resource registered after the program returned, an assertion that never runs);
// max-lines-per-function keeps composition steps, component constructors and helpers readable (~150 lines), except
// the file templates of src/files/, whose length is the length of the file they render.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "docs/**", "bootstrap/node_modules/**", "policy/node_modules/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts", "**/*.mts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      // The mock engine and the tests read the SDK's untyped RPC objects and recorded inputs.
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      // Counted as the tree is formatted (Prettier's wrapping of long argument lists adds lines).
      "max-lines-per-function": ["error", { max: 150, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  {
    // File templates: one function renders one file; its length follows the file's.
    files: ["src/files/**/*.ts"],
    rules: { "max-lines-per-function": "off" },
  },
  {
    // A test file's describe() holds its cases; the length rule is for program code.
    files: ["test/**/*.ts"],
    rules: { "max-lines-per-function": "off" },
  },
);
