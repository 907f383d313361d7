import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../src/core/clock.js';
import type { CallInfo } from '../../src/core/events.js';
import { silentLogger } from '../../src/core/log.js';
import type { MediaEngine } from '../../src/media/engine.js';
import { SipLine, type SipLineSettings } from '../../src/sip/line.js';

export interface TestSipLineOptions {
  /** the registrar's SIP domain (Kamailio's `domain`) */
  domain: string;
  engine: MediaEngine;
  clock: Clock;
  settings: () => SipLineSettings;
  /** record every call to <recordDir>/<callId>.wav (created here)... */
  recordDir?: string;
  /** ...or decide per call */
  recordPath?: (call: CallInfo) => string | null;
}

/** The phone's line as the SIP tests use it: alice/alicepw at the test Kamailio, on loopback, a free port; started. */
export async function startTestSipLine(o: TestSipLineOptions): Promise<SipLine> {
  const { recordDir } = o;
  if (recordDir) await mkdir(recordDir, { recursive: true });
  const line = new SipLine({
    account: { user: 'alice', domain: o.domain, password: 'alicepw', transport: 'udp', localHost: '127.0.0.1', localPort: 0, expires: 60 },
    engine: o.engine,
    localAddress: '127.0.0.1',
    rtpBindAddress: '127.0.0.1',
    clock: o.clock,
    log: silentLogger(),
    settings: o.settings,
    recordPath: o.recordPath ?? (recordDir ? (call) => join(recordDir, `${call.callId}.wav`) : undefined),
  });
  await line.start();
  return line;
}
