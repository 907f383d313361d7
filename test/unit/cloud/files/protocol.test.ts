import { describe, expect, it } from '@jest/globals';
import {
  MAX_LISTED_OFFSETS, emqxFileTopics, emqxResponseTopic, fileAckFilter, fileNameProblem, fileReceiverFilter, fileTopics, parseEmqxResponse,
  parseFileAck, parseFileInit, parseFileTopic,
} from '../../../../src/cloud/files/protocol.js';

const SHA = 'ab'.repeat(32);
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('file transfer topics', () => {
  it('builds the generic topics under dl/v1/{deviceId}/files/{fileId} and reads them back', () => {
    const t = fileTopics('shop-1', 'rec-42');
    expect([t.init, t.segment(0), t.segment(65536, SHA), t.fin(100, SHA), t.abort, t.ack]).toEqual([
      'dl/v1/shop-1/files/rec-42/init',
      'dl/v1/shop-1/files/rec-42/0',
      `dl/v1/shop-1/files/rec-42/65536/${SHA}`,
      `dl/v1/shop-1/files/rec-42/fin/100/${SHA}`,
      'dl/v1/shop-1/files/rec-42/abort',
      'dl/v1/shop-1/files/rec-42/ack',
    ]);
    expect(parseFileTopic(t.init)).toEqual({ deviceId: 'shop-1', fileId: 'rec-42', command: 'init' });
    expect(parseFileTopic(t.segment(65536, SHA))).toEqual({ deviceId: 'shop-1', fileId: 'rec-42', command: 'segment', offset: 65536, checksum: SHA });
    expect(parseFileTopic(t.segment(0))).toEqual({ deviceId: 'shop-1', fileId: 'rec-42', command: 'segment', offset: 0 });
    expect(parseFileTopic(t.fin(100, SHA))).toEqual({ deviceId: 'shop-1', fileId: 'rec-42', command: 'fin', size: 100, checksum: SHA });
    expect(parseFileTopic(t.ack)).toEqual({ deviceId: 'shop-1', fileId: 'rec-42', command: 'ack' });
    expect(fileAckFilter('shop-1')).toBe('dl/v1/shop-1/files/+/ack');
    expect(fileReceiverFilter()).toBe('dl/v1/+/files/#');
    expect(fileReceiverFilter('rx')).toBe('$share/rx/dl/v1/+/files/#');
  });

  it('refuses ids that are not one topic level and reads nothing malformed', () => {
    for (const bad of ['', 'a/b', '+', '#', '$x', '.hidden', 'x'.repeat(65)]) {
      expect(() => fileTopics('d1', bad)).toThrow(expect.objectContaining({ code: 'FILE_BAD_INPUT' }));
      expect(() => emqxFileTopics(bad)).toThrow(expect.objectContaining({ code: 'FILE_BAD_INPUT' }));
    }
    expect(() => fileTopics('d/1', 'f')).toThrow(expect.objectContaining({ code: 'CLOUD_BAD_TOPIC_LEVEL' }));
    expect(() => fileTopics('d1', 'f').segment(-1)).toThrow(expect.objectContaining({ code: 'FILE_BAD_INPUT' }));
    expect(() => fileTopics('d1', 'f').fin(1, 'nothex')).toThrow(expect.objectContaining({ code: 'FILE_BAD_INPUT' }));
    expect(() => fileReceiverFilter('a/#')).toThrow(expect.objectContaining({ code: 'FILE_BAD_INPUT' }));
    for (const foreign of [
      'dl/v1/d1/files/f1', 'dl/v1/d1/files/f1/007', 'dl/v1/d1/files/f1/-1', 'dl/v1/d1/files/f1/1e3', `dl/v1/d1/files/f1/0/${SHA}/x`,
      'dl/v1/d1/files/f1/0/ABCD', 'dl/v1/d1/files/f1/fin/10', `dl/v1/d1/files/f1/fin/x/${SHA}`, 'dl/v1/d1/files/../init', 'dl/v1/+/files/f1/init',
      'dl/v1/d1/other/f1/init', `dl/v1/d1/files/f1/${'1'.repeat(16)}`, `dl/v1/d1/files/${'f'.repeat(600)}/init`,
    ]) {
      expect(parseFileTopic(foreign)).toBeUndefined();
    }
  });

  it("builds EMQX's $file and $file-async topics and its response topic", () => {
    const sync = emqxFileTopics('f1');
    expect([sync.init, sync.segment(10), sync.segment(10, SHA), sync.fin(20), sync.fin(20, SHA), sync.abort]).toEqual([
      '$file/f1/init', '$file/f1/10', `$file/f1/10/${SHA}`, '$file/f1/fin/20', `$file/f1/fin/20/${SHA}`, '$file/f1/abort',
    ]);
    expect(emqxFileTopics('f1', { async: true }).init).toBe('$file-async/f1/init');
    expect(emqxResponseTopic('dev-1')).toBe('$file-response/dev-1');
    expect(parseEmqxResponse(json({ vsn: '0.1', topic: '$file-async/f1/init', packet_id: 3, reason_code: 0, reason_description: 'success' }))).toEqual({
      vsn: '0.1', topic: '$file-async/f1/init', packet_id: 3, reason_code: 0, reason_description: 'success',
    });
    expect(() => parseEmqxResponse(json({ topic: 't', reason_code: 300 }))).toThrow(expect.objectContaining({ code: 'FILE_BAD_INPUT' }));
  });
});

describe('file transfer payloads', () => {
  const init = { name: 'call-1.wav', size: 100_000, checksum: SHA, segment_size: 65_536 };

  it('accepts a well-formed init and refuses names, sizes and segment sizes out of bounds', () => {
    expect(parseFileInit(json({ ...init, expire_at: 1_800_000_000, user_data: { callId: 'c1' } }), { maxFileBytes: 1e9 })).toEqual({ ...init, expire_at: 1_800_000_000, user_data: { callId: 'c1' } });
    const bad: Array<[unknown, RegExp]> = [
      [{ ...init, name: '../etc/passwd' }, /path separator/],
      [{ ...init, name: 'a\\b' }, /path separator/],
      [{ ...init, name: '.hidden' }, /start with '\.'/],
      [{ ...init, name: 'a\nb' }, /control/],
      [{ ...init, name: 'é'.repeat(121) }, /240 bytes/],
      [{ ...init, size: 2e9 }, /size/],
      [{ ...init, size: -1 }, /size/],
      [{ ...init, checksum: 'AB'.repeat(32) }, /checksum/],
      [{ ...init, segment_size: 10 }, /segment_size/],
      [{ ...init, segment_size: 2 * 1024 * 1024 }, /segment_size/],
      [{ ...init, user_data: [1] }, /user_data/],
      [[init], /JSON object/],
    ];
    for (const [doc, message] of bad) expect(() => parseFileInit(json(doc), { maxFileBytes: 1e9 })).toThrow(expect.objectContaining({ code: 'FILE_BAD_INPUT', message: expect.stringMatching(message) }));
    expect(() => parseFileInit(Buffer.from('{'), { maxFileBytes: 1e9 })).toThrow(/not JSON/);
    expect(() => parseFileInit(json({ ...init, user_data: { pad: 'x'.repeat(5000) } }), { maxFileBytes: 1e9 })).toThrow(/more than 4096/);
    expect(fileNameProblem('call 1 (Wang Li).wav')).toBeNull();
  });

  it('reads every ack the receiver sends and refuses anything else', () => {
    const acks = [
      { type: 'init', received: [0, 65536], complete: false },
      { type: 'segment', offset: 65536, status: 'ok' },
      { type: 'segment', offset: 0, status: 'retry', reason: 'segment checksum mismatch' },
      { type: 'restart', reason: 'no transfer' },
      { type: 'fin', status: 'ok', size: 10, checksum: SHA },
      { type: 'fin', status: 'incomplete', missing: [0] },
      { type: 'fin', status: 'checksum_mismatch', checksum: SHA },
      { type: 'rejected', code: 'bad_init', message: 'no' },
    ];
    for (const ack of acks) expect(parseFileAck(json(ack))).toEqual(ack);
    for (const bad of [
      { type: 'init', received: [-1], complete: false },
      { type: 'init', received: new Array(MAX_LISTED_OFFSETS + 1).fill(0), complete: false },
      { type: 'segment', offset: 1.5, status: 'ok' },
      { type: 'segment', offset: 1, status: 'maybe' },
      { type: 'fin', status: 'ok', size: 1, checksum: 'x' },
      { type: 'fin', status: 'done' },
      { type: 'rejected', code: 'x'.repeat(501), message: '' },
      { type: 'other' },
    ]) {
      expect(() => parseFileAck(json(bad))).toThrow(expect.objectContaining({ code: 'FILE_BAD_INPUT' }));
    }
    expect(() => parseFileAck(Buffer.alloc(65 * 1024, 0x20))).toThrow(/more than/);
  });
});
