import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { FileReceiver } from '../../../../src/cloud/files/receiver.js';
import { FileUploader, type FileUploaderOptions } from '../../../../src/cloud/files/uploader.js';
import { silentLogger } from '../../../../src/core/log.js';
import { FakeClock } from '../../../support/fake-clock.js';
import { makeTempDir, stopAllPeers } from '../../../support/process.js';
import { waitFor } from '../../../support/wait.js';
import { MemoryBroker } from './memory-broker.js';

afterAll(async () => {
  await stopAllPeers(); // removes the temp dirs
});

const KIB = 1024;
const log = silentLogger();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function fixture(bytes: number) {
  const dir = await makeTempDir('uploader');
  const data = randomBytes(bytes);
  const path = join(dir, 'call-1.wav');
  writeFileSync(path, data);
  return { dir, data, path, stateDir: join(dir, 'state'), receiveDir: join(dir, 'received') };
}

/** A generic-mode setup: the device's uploader and a real FileReceiver, joined by the in-memory broker. */
async function genericSetup(bytes: number, options: Partial<FileUploaderOptions> = {}) {
  const f = await fixture(bytes);
  const broker = new MemoryBroker();
  const clock = new FakeClock();
  const receiver = new FileReceiver({ client: broker.client(), dir: f.receiveDir, log });
  await receiver.start();
  const uploader = new FileUploader({ link: broker.link('dev-1'), clock, log, stateDir: f.stateDir, segmentSize: KIB, ...options });
  const segmentOffsets = () => broker.topicsMatching(/^dl\/v1\/dev-1\/files\/f1\/(\d+)\//).map(([offset]) => Number(offset));
  return { ...f, broker, clock, receiver, uploader, segmentOffsets };
}

/** Waits until `count()` reaches `expected`, then checks that it stays there (nothing more was on its way). */
async function settlesAt(count: () => number, expected: number, what: string): Promise<void> {
  await waitFor(() => count() >= expected, `${what} to reach ${expected}`);
  await new Promise((r) => setTimeout(r, 30));
  expect(count()).toBe(expected);
}

describe('FileUploader (generic protocol)', () => {
  it('uploads a file through the receiver and resolves only with the sha256 the cloud confirmed', async () => {
    const s = await genericSetup(10 * KIB + 17);
    const result = await s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav', sha256: sha256(s.data) });
    expect(result).toEqual({ fileId: 'f1', name: 'call-1.wav', size: 10 * KIB + 17, sha256: sha256(s.data), segmentsSent: 11, segmentsResumed: 0, segmentsTotal: 11 });
    expect(readFileSync(join(s.receiveDir, 'dev-1', 'call-1.wav')).equals(s.data)).toBe(true);
    expect(s.segmentOffsets().sort((a, b) => a - b)).toEqual(Array.from({ length: 11 }, (_, i) => i * KIB));
    // the fin carried size and checksum; the progress file is gone once confirmed
    expect(s.broker.published.some((p) => p.topic === `dl/v1/dev-1/files/f1/fin/${10 * KIB + 17}/${sha256(s.data)}`)).toBe(true);
    expect(existsSync(join(s.stateDir, 'f1.json'))).toBe(false);
    await s.uploader.close();
  });

  it('refuses a file that is not the one described, and a second upload of the same id at once', async () => {
    const s = await genericSetup(4 * KIB);
    await expect(s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav', sha256: 'cd'.repeat(32) })).rejects.toMatchObject({ code: 'FILE_UPLOAD_SOURCE_CHANGED' });
    await expect(s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav', size: 1 })).rejects.toMatchObject({ code: 'FILE_UPLOAD_SOURCE_CHANGED' });
    await expect(s.uploader.upload({ fileId: 'f/1', path: s.path, name: 'x' })).rejects.toMatchObject({ code: 'FILE_BAD_INPUT' });
    await expect(s.uploader.upload({ fileId: 'f1', path: s.path, name: 'a/b' })).rejects.toMatchObject({ code: 'FILE_BAD_INPUT' });
    const first = s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' });
    await expect(s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' })).rejects.toMatchObject({ code: 'FILE_UPLOAD_BUSY' });
    await expect(first).resolves.toMatchObject({ sha256: sha256(s.data) });
    expect(s.broker.published.filter((p) => p.topic.endsWith('/init'))).toHaveLength(1);
    await s.uploader.close();
  });

  it('keeps to the bandwidth cap on the injected clock', async () => {
    // 2 KiB/s with 1 KiB segments: one segment at once (the bucket holds one), then one every 500 ms
    const s = await genericSetup(20 * KIB, { bytesPerSecond: 2 * KIB, maxInFlight: 50 });
    const upload = s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' });
    await settlesAt(() => s.segmentOffsets().length, 1, 'the first segment');
    s.clock.advance(499);
    await settlesAt(() => s.segmentOffsets().length, 1, 'segments before 500 ms');
    s.clock.advance(1);
    await settlesAt(() => s.segmentOffsets().length, 2, 'the second segment at 500 ms');
    // time the uploader does not use is not saved up beyond one segment: step by step, one more each 500 ms
    for (let sent = 3; sent <= 10; sent++) {
      s.clock.advance(500);
      await settlesAt(() => s.segmentOffsets().length, sent, `segments by ${(sent - 1) * 500} ms`);
    }
    // 5 s more: the segment due at 5 s, then the 4.5 s it went unused buy one segment (the bucket holds one), no more
    s.clock.advance(5000);
    await settlesAt(() => s.segmentOffsets().length, 12, 'segments after an idle stretch');
    for (let sent = 13; sent <= 20; sent++) {
      s.clock.advance(500);
      await waitFor(() => s.segmentOffsets().length >= sent, `segment ${sent}`);
    }
    await expect(upload).resolves.toMatchObject({ segmentsSent: 20 });
    await s.uploader.close();
  });

  it('sends no segment while paused(), and goes on when woken or when the pause check comes round', async () => {
    let inCall = true;
    const s = await genericSetup(6 * KIB, { paused: () => inCall, pauseCheckMs: 1000 });
    const upload = s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' });
    await waitFor(() => s.broker.published.some((p) => p.topic.endsWith('/init')), 'the init');
    s.clock.advance(5000);
    await settlesAt(() => s.segmentOffsets().length, 0, 'segments during the call');
    inCall = false;
    s.uploader.wake();
    await expect(upload).resolves.toMatchObject({ segmentsSent: 6 });

    // the same without wake(): the next pause check notices
    inCall = true;
    const again = s.uploader.upload({ fileId: 'f2', path: s.path, name: 'call-2.wav' });
    // the init was answered and the only timer left is the pause check: the uploader waits for the call to end
    await waitFor(() => s.broker.published.some((p) => p.topic === 'dl/v1/dev-1/files/f2/ack') && s.clock.pending === 1, 'the uploader waiting out the call');
    s.clock.advance(999);
    const sentF2 = () => s.broker.topicsMatching(/^dl\/v1\/dev-1\/files\/f2\/(\d+)\//).length;
    await settlesAt(sentF2, 0, 'segments of f2 during the call');
    inCall = false;
    await settlesAt(sentF2, 0, 'segments of f2 before the pause check');
    s.clock.advance(1);
    await expect(again).resolves.toMatchObject({ segmentsSent: 6 });
    await s.uploader.close();
  });

  it('keeps at most maxInFlight segments unconfirmed and resends one that was not confirmed in time', async () => {
    const s = await genericSetup(8 * KIB, { maxInFlight: 3, confirmTimeoutMs: 10_000 });
    // the receiver never sees the first copy of segment 0 and segment 1
    const lost = new Set(['0', String(KIB)]);
    s.broker.intercept = (p) => {
      const m = /^dl\/v1\/dev-1\/files\/f1\/(\d+)\//.exec(p.topic);
      if (m && lost.delete(m[1])) return 'drop';
      return undefined;
    };
    const upload = s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' });
    // 0 and 1 wait for their confirmation; 2 is confirmed and frees its slot for 3, 4, ...: two slots stay taken
    await settlesAt(() => s.segmentOffsets().length, 8, 'segments while 0 and 1 are unconfirmed');
    expect(s.segmentOffsets()).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => i * KIB));
    s.clock.advance(9999);
    await settlesAt(() => s.segmentOffsets().length, 8, 'segments before the confirm timeout');
    s.clock.advance(1);
    await expect(upload).resolves.toMatchObject({ segmentsSent: 10 });
    expect(s.segmentOffsets().slice(8).sort((a, b) => a - b)).toEqual([0, KIB]);
    await s.uploader.close();
  });

  it('resumes from what the receiver holds: a new uploader without progress sends only the rest', async () => {
    const s = await genericSetup(8 * KIB, { maxInFlight: 1 });
    // segments from 5 KiB on are held at the broker; the uploader is closed with 5 confirmed
    s.broker.intercept = (p) => (/\/files\/f1\/(\d+)\//.exec(p.topic) && Number(/\/files\/f1\/(\d+)\//.exec(p.topic)![1]) >= 5 * KIB ? 'hold' : undefined);
    const first = s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' });
    await settlesAt(() => s.segmentOffsets().length, 6, 'segments until one is held');
    await s.uploader.close();
    await expect(first).rejects.toMatchObject({ code: 'FILE_UPLOAD_STOPPED' });
    const progress = JSON.parse(readFileSync(join(s.stateDir, 'f1.json'), 'utf8')) as { confirmed: string };
    expect(Buffer.from(progress.confirmed, 'base64')[0]).toBe(0b11111);

    // a new uploader whose state directory is empty: the receiver's init answer lists the 5 it stored
    s.broker.intercept = () => undefined;
    const before = s.segmentOffsets().length;
    const second = new FileUploader({ link: s.broker.link('dev-1'), clock: s.clock, log, stateDir: join(s.dir, 'other-state'), segmentSize: KIB });
    await expect(second.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' })).resolves.toMatchObject({ segmentsSent: 3, segmentsResumed: 0 });
    expect(s.segmentOffsets().slice(before)).toEqual([5 * KIB, 6 * KIB, 7 * KIB]);
    expect(readFileSync(join(s.receiveDir, 'dev-1', 'call-1.wav')).equals(s.data)).toBe(true);
    s.broker.releaseHeld();
    await second.close();
  });

  it('sends everything again when the assembled file does not match, and gives up after a second mismatch', async () => {
    const s = await genericSetup(3 * KIB);
    let corruptions = 1;
    s.broker.intercept = (p) => {
      // damage the stored partial file just before the receiver sees the fin
      if (p.topic.includes('/fin/') && corruptions-- > 0) writeFileSync(join(s.receiveDir, '.partial', 'dev-1', 'f1', 'data'), Buffer.alloc(10), { flag: 'r+' });
      return undefined;
    };
    await expect(s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' })).resolves.toMatchObject({ segmentsSent: 6, sha256: sha256(s.data) });
    expect(readFileSync(join(s.receiveDir, 'dev-1', 'call-1.wav')).equals(s.data)).toBe(true);

    s.broker.intercept = (p) => {
      if (p.topic.includes('/files/f2/fin/')) writeFileSync(join(s.receiveDir, '.partial', 'dev-1', 'f2', 'data'), Buffer.alloc(10), { flag: 'r+' });
      return undefined;
    };
    await expect(s.uploader.upload({ fileId: 'f2', path: s.path, name: 'call-2.wav' })).rejects.toMatchObject({ code: 'FILE_UPLOAD_CHECKSUM_MISMATCH' });
    expect(existsSync(join(s.receiveDir, 'dev-1', 'call-2.wav'))).toBe(false);
    await s.uploader.close();
  });

  it('fails with the receiver refusal instead of retrying forever', async () => {
    const s = await genericSetup(2 * KIB);
    await s.receiver.stop();
    const tiny = new FileReceiver({ client: s.broker.client(), dir: s.receiveDir, log, maxFileBytes: KIB });
    await tiny.start();
    await expect(s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' })).rejects.toMatchObject({ code: 'FILE_UPLOAD_REJECTED', message: expect.stringMatching(/bad_init.*size/) });
    await s.uploader.close();
  });
});

describe('FileUploader (EMQX $file commands)', () => {
  async function emqxSetup(bytes: number, options: Partial<FileUploaderOptions> = {}, protocolVersion: 4 | 5 = 5) {
    const f = await fixture(bytes);
    const broker = new MemoryBroker();
    const clock = new FakeClock();
    const uploader = new FileUploader({ link: broker.link('dev-1', protocolVersion), clock, log, stateDir: f.stateDir, segmentSize: KIB, mode: 'emqx', ...options });
    const segmentOffsets = () => broker.topicsMatching(/^\$file(?:-async)?\/f1\/(\d+)\//).map(([offset]) => Number(offset));
    return { ...f, broker, clock, uploader, segmentOffsets };
  }

  it('treats PUBACK reason codes as EIP-0021 says: 0x80 resends the segment, 0x97 holds back, 0x00 confirms', async () => {
    const s = await emqxSetup(4 * KIB, { quotaPauseMs: 5000, maxInFlight: 1 });
    const codes = new Map<string, number[]>([[`${KIB}`, [0x80]], [`${2 * KIB}`, [0x97]]]);
    s.broker.intercept = (p) => {
      const offset = /^\$file\/f1\/(\d+)\//.exec(p.topic)?.[1];
      return { reasonCode: (offset !== undefined ? codes.get(offset)?.shift() : undefined) ?? 0 };
    };
    const upload = s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' });
    // one slot: segment 2 takes the slot segment 1 freed, and is answered "quota exceeded"
    await settlesAt(() => s.segmentOffsets().length, 3, 'segments until quota exceeded');
    expect(s.segmentOffsets()).toEqual([0, KIB, 2 * KIB]);
    s.clock.advance(4999);
    await settlesAt(() => s.segmentOffsets().length, 3, 'segments during the pause');
    s.clock.advance(1);
    await expect(upload).resolves.toMatchObject({ sha256: sha256(s.data), segmentsSent: 6 });
    expect(s.segmentOffsets()).toEqual([0, KIB, 2 * KIB, KIB, 2 * KIB, 3 * KIB]);
    const topics = s.broker.published.map((p) => p.topic);
    expect(topics[0]).toBe('$file/f1/init');
    expect(JSON.parse(s.broker.published[0].payload.toString())).toEqual({ name: 'call-1.wav', size: 4 * KIB, checksum: sha256(s.data) });
    expect(topics.at(-1)).toBe(`$file/f1/fin/${4 * KIB}/${sha256(s.data)}`);
    // every segment topic carries the segment's sha256
    for (const p of s.broker.published.filter((x) => /^\$file\/f1\/\d+\//.test(x.topic))) expect(p.topic.split('/')[3]).toBe(sha256(p.payload));
    await s.uploader.close();
  });

  it('starts over on 0x10 and on 0x80 for fin, cancels on 0x83', async () => {
    const s = await emqxSetup(2 * KIB);
    let finCodes = [0x80];
    s.broker.intercept = (p) => ({ reasonCode: p.topic.includes('/fin/') ? finCodes.shift() ?? 0 : 0 });
    await expect(s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' })).resolves.toMatchObject({ segmentsSent: 4 });
    expect(s.broker.published.filter((p) => p.topic === '$file/f1/init')).toHaveLength(2);

    finCodes = [];
    s.broker.intercept = (p) => ({ reasonCode: p.topic.endsWith('/init') ? 0x83 : 0 });
    await expect(s.uploader.upload({ fileId: 'f2', path: s.path, name: 'call-2.wav' })).rejects.toMatchObject({ code: 'FILE_UPLOAD_REJECTED', message: expect.stringMatching(/0x83/) });

    // a broker without file transfer answers every $file publish with "no matching subscribers"
    s.broker.intercept = () => ({ reasonCode: 0x10 });
    await expect(s.uploader.upload({ fileId: 'f3', path: s.path, name: 'call-3.wav' })).rejects.toMatchObject({ code: 'FILE_UPLOAD_NOT_ACCEPTED' });
    await s.uploader.close();
  });

  it('resumes from its own progress file: a new uploader sends only the segments EMQX had not acknowledged', async () => {
    const s = await emqxSetup(6 * KIB, { maxInFlight: 2 });
    s.broker.intercept = (p) => (/^\$file\/f1\/(\d+)\//.test(p.topic) && Number(p.topic.split('/')[2]) >= 3 * KIB ? 'hold' : { reasonCode: 0 });
    const first = s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' });
    await settlesAt(() => s.segmentOffsets().length, 5, 'segments until two are held');
    await waitFor(() => existsSync(join(s.stateDir, 'f1.json')) && Buffer.from((JSON.parse(readFileSync(join(s.stateDir, 'f1.json'), 'utf8')) as { confirmed: string }).confirmed, 'base64')[0] === 0b111, 'the progress of 3 segments');
    await s.uploader.close();
    await expect(first).rejects.toMatchObject({ code: 'FILE_UPLOAD_STOPPED' });

    s.broker.intercept = () => ({ reasonCode: 0 });
    const before = s.segmentOffsets().length;
    const second = new FileUploader({ link: s.broker.link('dev-1'), clock: s.clock, log, stateDir: s.stateDir, segmentSize: KIB, mode: 'emqx' });
    await expect(second.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' })).resolves.toMatchObject({ segmentsSent: 3, segmentsResumed: 3 });
    expect(s.segmentOffsets().slice(before)).toEqual([3 * KIB, 4 * KIB, 5 * KIB]);
    expect(existsSync(join(s.stateDir, 'f1.json'))).toBe(false);
    await second.close();
  });

  it('on an MQTT 3.1.1 session uses $file-async and waits for $file-response/{clientId}', async () => {
    const s = await emqxSetup(2 * KIB, {}, 4);
    let segmentFailures = 1;
    s.broker.intercept = (p) => {
      if (!p.topic.startsWith('$file-async/')) return undefined;
      // what EMQX does: PUBACK at once, the result later on the response topic
      const failed = /\/\d+\//.test(p.topic) && segmentFailures-- > 0;
      const response = { vsn: '0.1', topic: p.topic, packet_id: 1, reason_code: failed ? 0x80 : 0, reason_description: failed ? 'unspecified_error' : 'success' };
      setTimeout(() => void s.broker.publish({ topic: '$file-response/dev-1', payload: Buffer.from(JSON.stringify(response)), by: 'emqx' }), 5);
      return { reasonCode: 0 };
    };
    await expect(s.uploader.upload({ fileId: 'f1', path: s.path, name: 'call-1.wav' })).resolves.toMatchObject({ segmentsSent: 3 });
    expect(s.broker.published.filter((p) => p.by === 'dev-1').map((p) => p.topic.split('/').slice(0, 3).join('/'))).toEqual([
      '$file-async/f1/init', '$file-async/f1/0', `$file-async/f1/${KIB}`, '$file-async/f1/0', `$file-async/f1/fin`,
    ]);
    await s.uploader.close();
  });
});
