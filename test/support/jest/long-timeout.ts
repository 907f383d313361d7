import { jest } from '@jest/globals';

// Suites with real peers and processes get a longer per-test timeout (see jest.config.js).
jest.setTimeout(Number(process.env.DESKLINE_TEST_TIMEOUT_MS ?? 60_000));
