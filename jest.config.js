// jest 30 in native ESM mode (NODE_OPTIONS=--experimental-vm-modules, set by scripts/dev/test.mjs)
// so the ESM-only dependencies (sip.js, lowdb) load in TypeScript tests.
/** @type {import('jest').Config} */
const base = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

/** One jest project per suite; scripts/dev/test.mjs runs each with its own time budget. */
export default {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...base, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'], setupFilesAfterEnv: ['<rootDir>/test/support/jest/long-timeout.ts'] },
    { ...base, displayName: 'chaos', testMatch: ['<rootDir>/test/chaos/**/*.test.ts'], setupFilesAfterEnv: ['<rootDir>/test/support/jest/long-timeout.ts'] },
    { ...base, displayName: 'fuzz', testMatch: ['<rootDir>/test/fuzz/**/*.test.ts'], setupFilesAfterEnv: ['<rootDir>/test/support/jest/long-timeout.ts'] },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'], setupFilesAfterEnv: ['<rootDir>/test/support/jest/long-timeout.ts'] },
  ],
};
