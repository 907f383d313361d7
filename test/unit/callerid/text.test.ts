import { describe, expect, it } from '@jest/globals';
import { MAX_TEXT_LINE, TextLineCallerIdDecoder, absenceWord, classifyTextLine } from '../../../drivers/callerid/text.js';
import type { CallerIdDecoderEvent } from '../../../drivers/callerid/types.js';

function decode(lines: string[], flush = true): CallerIdDecoderEvent[] {
  const decoder = new TextLineCallerIdDecoder();
  const events = lines.flatMap((l) => decoder.pushLine(l));
  if (flush) events.push(...decoder.flush());
  return events;
}

function summary(events: CallerIdDecoderEvent[]): Array<string | object> {
  return events.map((e) => (e.type === 'rejected' ? `rejected:${e.code}` : e.type === 'callerId' ? e.callerId : { messageWaiting: e.messageWaiting }));
}

const ROBOTICS = { format: 'text', number: '8475550001', name: 'U.S.ROBOTICS', numberAbsent: null, nameAbsent: null, month: 10, day: 15, hour: 20, minute: 38 };

describe('text-line units: modem style', () => {
  it('decodes the protocols.md example between RING lines', () => {
    const lines = ['RING', 'DATE = 1015', 'TIME = 2038', 'NMBR = 8475550001', 'NAME = U.S.ROBOTICS', 'RING'];
    expect(summary(decode(lines, false))).toEqual([ROBOTICS]);
  });

  it('P and O (and the words for them) mean private and unavailable', () => {
    expect(summary(decode(['DATE = 1015', 'TIME = 2038', 'NMBR = P', 'NAME = O', 'RING']))).toEqual([
      { ...ROBOTICS, number: null, name: null, numberAbsent: 'private', nameAbsent: 'unavailable' },
    ]);
    expect(summary(decode(['NMBR = O', 'NAME = PRIVATE', '']))).toEqual([
      { format: 'text', number: null, name: null, numberAbsent: 'unavailable', nameAbsent: 'private' },
    ]);
  });

  it('a message ends at a blank line, at a repeated field, or at flush()', () => {
    expect(summary(decode(['DATE=1015', 'TIME=2038', 'NMBR=8475550001', '', 'NMBR = 5551234', 'NMBR = 5554321'], true))).toEqual([
      { format: 'text', number: '8475550001', name: null, numberAbsent: null, nameAbsent: null, month: 10, day: 15, hour: 20, minute: 38 },
      { format: 'text', number: '5551234', name: null, numberAbsent: null, nameAbsent: null },
      { format: 'text', number: '5554321', name: null, numberAbsent: null, nameAbsent: null },
    ]);
    expect(decode(['NMBR = 5551234'], false)).toEqual([]);
  });

  it('MESG = <hex> carries parameters the unit did not decode', () => {
    const events = decode(['DATE = 1015', 'TIME = 2038', 'NMBR = 8475550001', 'MESG = 06014C', 'RING']);
    expect(summary(events)).toEqual([{ ...ROBOTICS, name: null, longDistance: true }]);
    // the unit's own NMBR wins over a number inside MESG; garbage MESG is ignored
    expect(summary(decode(['NMBR = 5551234', 'MESG = 0203393939', '']))).toEqual([{ format: 'text', number: '5551234', name: null, numberAbsent: null, nameAbsent: null }]);
    expect(summary(decode(['NMBR = 5551234', 'MESG = ZZ', '']))).toEqual([{ format: 'text', number: '5551234', name: null, numberAbsent: null, nameAbsent: null }]);
  });

  it('a message with only message waiting comes as messageWaiting', () => {
    expect(summary(decode(['DATE = 1015', 'TIME = 2038', 'MESG = 0B01FF', '']))).toEqual([{ messageWaiting: true }]);
    expect(summary(decode(['MESG = 0B0100', '']))).toEqual([{ messageWaiting: false }]);
  });

  it('DDN_NMBR is the dialable number; unknown fields are ignored', () => {
    expect(summary(decode(['DATE = 1015', 'DDN_NMBR = 18475550001', 'FOO = bar', 'NAME = ACME', '']))).toEqual([
      { format: 'text', number: '18475550001', dialableNumber: '18475550001', name: 'ACME', numberAbsent: null, nameAbsent: null, month: 10, day: 15 },
    ]);
  });

  it('a message with neither number nor name is rejected', () => {
    expect(summary(decode(['DATE = 1015', 'TIME = 2038', 'RING']))).toEqual(['rejected:CALLERID_INCOMPLETE']);
  });

  it('impossible dates and times are left out', () => {
    expect(summary(decode(['DATE = 1340', 'TIME = 2561', 'NMBR = 5551234', '']))).toEqual([{ format: 'text', number: '5551234', name: null, numberAbsent: null, nameAbsent: null }]);
  });
});

describe('text-line units: caller-ID box lines', () => {
  const line = '01 I S 0000 G A1 09/26 11:28 AM 800-555-1212   ACME HARDWARE';
  const acme = { format: 'text', number: '8005551212', name: 'ACME HARDWARE', numberAbsent: null, nameAbsent: null, month: 9, day: 26, hour: 11, minute: 28 };

  it('parses every field of a call record', () => {
    expect(classifyTextLine('02 I E 0276 B B3 09/26 11:28 PM 800-555-1212   AT&T INFORMATIO')).toEqual({
      kind: 'boxCall',
      record: {
        line: 2, direction: 'in', phase: 'end', durationSec: 276, checksumGood: false, ring: { type: 'B', count: 3 },
        month: 9, day: 26, hour: 23, minute: 28, number: '8005551212', numberAbsent: null, name: 'AT&T INFORMATIO', nameAbsent: null,
      },
    });
  });

  it('a Good start record is a caller ID', () => {
    expect(summary(decode([line]))).toEqual([acme]);
  });

  it('a Bad checksum never yields a caller ID', () => {
    const events = decode([line.replace(' G ', ' B ')]);
    expect(summary(events)).toEqual(['rejected:CALLERID_UNIT_BAD_CHECKSUM']);
    expect(new TextDecoder().decode((events[0] as { bytes: Uint8Array }).bytes)).toContain('800-555-1212');
    expect(summary(decode(['03 I E 0031 B A2 09/26 11:28 AM 800-555-1212   ACME']))).toEqual(['rejected:CALLERID_UNIT_BAD_CHECKSUM']);
  });

  it('an end record after its start record is not reported again; alone it is', () => {
    const end = '01 I E 0125 G A2 09/26 11:28 AM 800-555-1212   ACME HARDWARE';
    expect(summary(decode([line, end]))).toEqual([acme]);
    expect(summary(decode([end]))).toEqual([acme]);
    expect(summary(decode([line, end, end]))).toEqual([acme, acme]); // a second call that only had an end record
    // lines are kept apart
    expect(summary(decode([line, end.replace(/^01/, '02')]))).toEqual([acme, acme]);
  });

  it('outbound records and detail records are not caller ID', () => {
    expect(decode(['01 O S 0000 G A0 09/26 11:30 AM 5551234        ', '01 R 09/26 07:43:52', '01 F 09/26 17:45:04', '02 N     11/07 10:46:23', '01 H 09/26 22:11:08'])).toEqual([]);
    expect(classifyTextLine('01 F     11/07 17:45:04')).toEqual({ kind: 'boxDetail', record: { line: 1, event: 'offHook', month: 11, day: 7, hour: 17, minute: 45, second: 4 } });
  });

  it('12-hour times: 12 AM is 0, 12 PM is 12, 1 PM is 13', () => {
    const at = (t: string) => classifyTextLine(`01 I S 0000 G A1 09/26 ${t} 5551234`);
    expect(at('12:05 AM')).toMatchObject({ record: { hour: 0, minute: 5 } });
    expect(at('12:30 PM')).toMatchObject({ record: { hour: 12, minute: 30 } });
    expect(at('01:15 PM')).toMatchObject({ record: { hour: 13, minute: 15 } });
    expect(at('13:15 PM')).toMatchObject({ record: { number: '5551234' } });
    expect(at('13:15 PM')).not.toMatchObject({ record: { hour: expect.anything() } });
  });

  it('private and out-of-area in the number field; name-only and number-only lines', () => {
    expect(summary(decode(['01 I S 0000 G A1 09/26 11:28 AM Private        PRIVATE']))).toEqual([
      { ...acme, number: null, name: null, numberAbsent: 'private', nameAbsent: 'private' },
    ]);
    expect(summary(decode(['01 I S 0000 G A1 09/26 11:28 AM Out-of-Area    ACME']))).toEqual([{ ...acme, number: null, name: 'ACME', numberAbsent: 'unavailable' }]);
    expect(summary(decode(['01 I S 0000 G A1 09/26 11:28 AM O              O']))).toEqual([
      { ...acme, number: null, name: null, numberAbsent: 'unavailable', nameAbsent: 'unavailable' },
    ]);
    expect(summary(decode(['01 I S 0000 G A1 09/26 11:28 AM                ACME HARDWARE']))).toEqual([{ ...acme, number: null }]);
    expect(summary(decode(['01 I S 0000 G A1 09/26 11:28 AM 770-263-7111']))).toEqual([{ ...acme, number: '7702637111', name: null }]);
  });

  it('variants: a date with a space for its leading zero, no ring field, $ and Ethernet prefixes', () => {
    expect(summary(decode(['02 I S 0000 G A0  9/26 01:28 AM 770-263-7111   CALLERID.COM']))).toEqual([
      { format: 'text', number: '7702637111', name: 'CALLERID.COM', numberAbsent: null, nameAbsent: null, month: 9, day: 26, hour: 1, minute: 28 },
    ]);
    expect(summary(decode(['01 I S 0000 G 09/26 11:28 AM 800-555-1212   ACME HARDWARE']))).toEqual([acme]);
    expect(summary(decode(['$01 I S 0000 G A1 09/26 11:28 AM 800-555-1212   ACME HARDWARE']))).toEqual([acme]);
    expect(summary(decode(['^^<U>000001<S>123456$01 I S 0000 G A1 09/26 11:28 AM 800-555-1212   ACME HARDWARE']))).toEqual([acme]);
  });

  it('a box line ends an open modem-style message first', () => {
    expect(summary(decode(['NMBR = 5551234', line]))).toEqual([{ format: 'text', number: '5551234', name: null, numberAbsent: null, nameAbsent: null }, acme]);
  });
});

describe('text-line units: bounds and odd lines', () => {
  it('a line over MAX_TEXT_LINE characters is rejected unparsed', () => {
    expect(summary(decode([`NMBR = ${'1'.repeat(MAX_TEXT_LINE)}`]))).toEqual(['rejected:CALLERID_TOO_LONG']);
  });

  it('control characters and tabs do not break a field', () => {
    expect(summary(decode(['NMBR\t= 555\u00071234', '']))).toEqual([{ format: 'text', number: '5551234', name: null, numberAbsent: null, nameAbsent: null }]);
  });

  it('classifies RING, OK and garbage as other lines', () => {
    expect(classifyTextLine('RING')).toEqual({ kind: 'other', text: 'RING' });
    expect(classifyTextLine('   ')).toEqual({ kind: 'blank' });
    expect(classifyTextLine('01 X S 0000 G A1 09/26 11:28 AM 5551234').kind).toBe('other');
  });

  it('absenceWord', () => {
    expect(absenceWord('Out of Area')).toBe('unavailable');
    expect(absenceWord('anonymous')).toBe('private');
    expect(absenceWord('ACME')).toBeNull();
  });
});
