// Caller-ID-to-display latency over UARTs (socat pty pairs): from the last caller-ID byte written by
// the "decoder chip" to the first display blit the MCU firmware receives for that call.
// `npm run bench -- callerid` -> bench-results/callerid.json
import { performance } from 'node:perf_hooks';
import { encodeMdmf } from '../../drivers/callerid/frame.js';
import { startAnalogRig, writePort } from '../support/analog-rig.js';
import { waitFor } from '../support/mcu.js';
import { stopAllPeers } from '../support/process.js';
import { percentile, report } from './support/report.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 60);
const SEIZURE = Buffer.alloc(30, 0x55);

const rig = await startAnalogRig();
const { app, firmware, callerIdPort } = rig;
const latencies: number[] = [];
try {
  await waitFor(() => app.phone.describe().state === 'idle', 'idle', 5000);
  for (let i = 0; i < CALLS; i++) {
    const number = `21255${String(10000 + i).slice(-5)}`;
    await firmware.ring(true);
    await waitFor(() => app.phone.describe().state === 'ringing', 'ringing', 5000);
    await firmware.ring(false);
    await new Promise((r) => setTimeout(r, 150)); // let the "Incoming call" screen settle
    const message = encodeMdmf([[0x01, '11241405'], [0x02, number], [0x07, `CUSTOMER ${i}`]]);
    let t0 = 0;
    const shown = new Promise<number>((resolve) => {
      const off = firmware.on('blitted', () => {
        if (t0 === 0) return;
        off();
        resolve(performance.now());
      });
    });
    await writePort(callerIdPort, SEIZURE);
    await writePort(callerIdPort, message);
    t0 = performance.now();
    latencies.push((await shown) - t0);
    await firmware.setHook(true);
    await waitFor(() => app.phone.describe().state === 'talking', 'talking', 5000);
    await firmware.setHook(false);
    await waitFor(() => app.phone.describe().state === 'idle' && !firmware.seized, 'idle', 5000);
  }
} finally {
  await rig.stop();
  await stopAllPeers();
}

report('callerid', [
  { metric: 'calls', value: latencies.length, unit: 'count' },
  { metric: 'callerid_to_display_p50', value: percentile(latencies, 50), unit: 'ms' },
  { metric: 'callerid_to_display_p99', value: percentile(latencies, 99), unit: 'ms' },
  { metric: 'callerid_to_display_max', value: Math.max(...latencies), unit: 'ms' },
]);
