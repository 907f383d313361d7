// Test harness: free ports, peer processes, and the real peers (see peers/index.ts).
export * from './ports.js';
export * from './process.js';
export * from './sip.js';
export * from './mqtt.js';
export * from './audio.js';
export * from './peers/index.js';
