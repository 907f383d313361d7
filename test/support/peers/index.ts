// The real peers of the integration suites (DESIGN.md "Test peers"). Each starter writes its
// config into a fresh temp dir on free loopback ports and registers the process, so
// `afterAll(stopAllPeers)` stops whatever a test file started.

export * from './socat.js';
export * from './kamailio.js';
export * from './mosquitto.js';
export * from './baresip.js';
export * from './sipp.js';
export * from './chromium.js';
export * from './templates.js';
