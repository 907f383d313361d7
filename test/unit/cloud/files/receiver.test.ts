import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { FileAck } from '../../../../src/cloud/files/protocol.js';
import { fileTopics } from '../../../../src/cloud/files/protocol.js';
import { FileReceiver, type ReceivedFile } from '../../../../src/cloud/files/receiver.js';
import { silentLogger } from '../../../../src/core/log.js';
import { makeTempDir, stopAllPeers } from '../../../support/process.js';
import { waitFor } from '../../../support/wait.js';
import { MemoryBroker } from './memory-broker.js';

afterAll(async () => {
  await stopAllPeers();
});

const log = silentLogger();
const SEG = 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A receiver on the in-memory broker; `send` publishes as device d1 and resolves with the receiver's next ack. */
async function setup(options: { maxFileBytes?: number } = {}) {
  const dir = await makeTempDir('receiver');
  const broker = new MemoryBroker();
  const files: ReceivedFile[] = [];
  const receiver = new FileReceiver({ client: broker.client(), dir, log, onFile: (f) => files.push(f), ...options });
  await receiver.start();
  const acks: FileAck[] = [];
  broker.subscribe('dl/v1/d1/files/+/ack', (_topic, payload) => acks.push(JSON.parse(payload.toString()) as FileAck));
  const send = async (topic: string, payload: Buffer | string = Buffer.alloc(0)): Promise<FileAck> => {
    const seen = acks.length;
    await broker.publish({ topic, payload: Buffer.from(payload), by: 'd1' });
    await waitFor(() => acks.length > seen, `an ack to ${topic}`);
    return acks[seen];
  };
  return { dir, broker, receiver, files, acks, send, t: fileTopics('d1', 'f1') };
}

const data = randomBytes(2 * SEG + 100);
const init = { name: 'call-1.wav', size: data.length, checksum: sha256(data), segment_size: SEG };
const segment = (i: number) => data.subarray(i * SEG, Math.min(data.length, (i + 1) * SEG));

describe('FileReceiver', () => {
  it('stores segments, confirms each, verifies the sha256 at fin and moves the file to <dir>/<deviceId>/<name>', async () => {
    const r = await setup();
    expect(await r.send(r.t.init, JSON.stringify(init))).toEqual({ type: 'init', received: [], complete: false });
    for (const i of [2, 0, 1]) expect(await r.send(r.t.segment(i * SEG, sha256(segment(i))), segment(i))).toEqual({ type: 'segment', offset: i * SEG, status: 'ok' });
    expect(readFileSync(join(r.dir, '.partial', 'd1', 'f1', 'received'), 'utf8')).toBe(`${2 * SEG}\n0\n${SEG}\n`);
    expect(await r.send(r.t.fin(data.length, init.checksum))).toEqual({ type: 'fin', status: 'ok', size: data.length, checksum: init.checksum });
    expect(readFileSync(join(r.dir, 'd1', 'call-1.wav')).equals(data)).toBe(true);
    expect(r.files).toEqual([{ deviceId: 'd1', fileId: 'f1', name: 'call-1.wav', path: join(r.dir, 'd1', 'call-1.wav'), size: data.length, sha256: init.checksum }]);
    // a repeated fin or init (the device did not hear the answer) is answered from the record, nothing is stored again
    expect(await r.send(r.t.fin(data.length, init.checksum))).toMatchObject({ type: 'fin', status: 'ok' });
    expect(await r.send(r.t.init, JSON.stringify(init))).toEqual({ type: 'init', received: [], complete: true });
    expect(r.receiver.stats).toEqual({ segments: 3, duplicateSegments: 0, files: 1, refused: 0 });
    await r.receiver.stop();
  });

  it('lets a second receiver on the same directory continue, and lists what is missing at an early fin', async () => {
    const r = await setup();
    await r.send(r.t.init, JSON.stringify(init));
    await r.send(r.t.segment(0), segment(0));
    await r.receiver.stop();
    const next = new FileReceiver({ client: r.broker.client('rx2'), dir: r.dir, log });
    await next.start();
    expect(await r.send(r.t.init, JSON.stringify(init))).toEqual({ type: 'init', received: [0], complete: false });
    expect(await r.send(r.t.fin(data.length, init.checksum))).toEqual({ type: 'fin', status: 'incomplete', missing: [SEG, 2 * SEG] });
    expect(await r.send(r.t.segment(0), segment(0))).toEqual({ type: 'segment', offset: 0, status: 'ok' });
    expect(next.stats.duplicateSegments).toBe(1);
    await next.stop();
  });

  it('refuses what does not fit: names, sizes, offsets, lengths, conflicting ids; asks for a damaged segment again', async () => {
    const r = await setup({ maxFileBytes: 10 * SEG });
    expect(await r.send(r.t.init, JSON.stringify({ ...init, name: '../../etc/passwd' }))).toMatchObject({ type: 'rejected', code: 'bad_init', message: expect.stringMatching(/path separator/) });
    expect(await r.send(r.t.init, JSON.stringify({ ...init, size: 11 * SEG }))).toMatchObject({ type: 'rejected', code: 'bad_init' });
    expect(await r.send(r.t.init, 'not json')).toMatchObject({ type: 'rejected', code: 'bad_init' });
    // a segment for a transfer it does not know: start over with init
    expect(await r.send(r.t.segment(0), segment(0))).toMatchObject({ type: 'restart' });
    await r.send(r.t.init, JSON.stringify(init));
    expect(await r.send(r.t.init, JSON.stringify({ ...init, name: 'other.wav' }))).toMatchObject({ type: 'rejected', code: 'conflict' });
    expect(await r.send(r.t.segment(3 * SEG), segment(0))).toMatchObject({ type: 'rejected', code: 'bad_segment' });
    expect(await r.send(r.t.segment(100), segment(0))).toMatchObject({ type: 'rejected', code: 'bad_segment' });
    expect(await r.send(r.t.segment(0), segment(0).subarray(1))).toMatchObject({ type: 'rejected', code: 'bad_segment' });
    expect(await r.send(r.t.segment(0, sha256(segment(1))), segment(0))).toEqual({ type: 'segment', offset: 0, status: 'retry', reason: 'segment checksum mismatch' });
    expect(await r.send(r.t.fin(data.length + 1, init.checksum))).toMatchObject({ type: 'rejected', code: 'conflict' });
    expect(existsSync(join(r.dir, '.partial', 'd1', 'f1', 'data'))).toBe(false);
    expect(r.receiver.stats).toMatchObject({ segments: 0, refused: 9 });
    await r.receiver.stop();
  });

  it('drops the stored segments when the assembled file does not match, and keeps two different files of one name', async () => {
    const r = await setup();
    await r.send(r.t.init, JSON.stringify(init));
    for (const i of [0, 1, 2]) await r.send(r.t.segment(i * SEG), segment(i));
    writeFileSync(join(r.dir, '.partial', 'd1', 'f1', 'data'), Buffer.from('damage'), { flag: 'r+' });
    expect(await r.send(r.t.fin(data.length, init.checksum))).toMatchObject({ type: 'fin', status: 'checksum_mismatch' });
    expect(await r.send(r.t.fin(data.length, init.checksum))).toEqual({ type: 'fin', status: 'incomplete', missing: [0, SEG, 2 * SEG] });

    const other = Buffer.from('another recording with the same name');
    const t2 = fileTopics('d1', 'f2');
    for (const [t, content] of [[r.t, data], [t2, other]] as const) {
      await r.send(t.init, JSON.stringify({ name: 'call-1.wav', size: content.length, checksum: sha256(content), segment_size: SEG }));
      for (let offset = 0; offset < content.length; offset += SEG) await r.send(t.segment(offset), content.subarray(offset, offset + SEG));
      expect(await r.send(t.fin(content.length, sha256(content)))).toMatchObject({ type: 'fin', status: 'ok' });
    }
    expect(readFileSync(join(r.dir, 'd1', 'call-1.wav')).equals(data)).toBe(true);
    expect(readFileSync(join(r.dir, 'd1', 'call-1.f2.wav')).equals(other)).toBe(true);
    await r.receiver.stop();
  });
});
