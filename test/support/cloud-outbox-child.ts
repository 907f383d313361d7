// A device stand-in for the outbox tests (test/integration/cloud-link.test.ts): the runtime's own FileStore,
// EventOutbox and MqttLink in a process of their own, so a test can SIGKILL it mid-outage.
//
//   node --import tsx test/support/cloud-outbox-child.ts <storeDir> <brokerUrl> <deviceId> <password>
//
// stdin, one command per line:   emit <count> <stream>   appends count events to the stream, one after another
// stdout:   ready                     the outbox is open and the link started
//           appended <stream> <seq>   printed after the append resolved (the event is on disk)
//           pending <n>               after each emit command: events not yet acknowledged

import { createInterface } from 'node:readline';
import { SystemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { MqttLink } from '../../src/cloud/link.js';
import { EventOutbox } from '../../src/cloud/outbox.js';
import { FileStore } from '../../src/store/file-store.js';

const [storeDir, url, deviceId, password] = process.argv.slice(2);
const clock = new SystemClock('always');
const log = silentLogger();
const store = new FileStore({ dir: storeDir, log });
const outbox = new EventOutbox({ store, clock, log });
await outbox.open();
const link = new MqttLink({ deviceId, url, username: deviceId, password, clock, log, backoff: { initialMs: 200, maxMs: 1000 } });
link.start();
outbox.attach(link);
process.stdout.write('ready\n');

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, count, stream] = line.trim().split(' ');
  if (command !== 'emit') return;
  queue = queue.then(async () => {
    for (let i = 0; i < Number(count); i++) {
      const event = await outbox.append(stream, 'test.tick', { i });
      process.stdout.write(`appended ${stream} ${event.seq}\n`);
    }
    process.stdout.write(`pending ${outbox.pending}\n`);
  });
});
