import { describe, expect, it } from '@jest/globals';
import receiptline from 'receiptline';
import { decodeEscPos } from '../../../../../drivers/printer/virtual/decoder.js';
import { VirtualReceiptPrinter } from '../../../../../drivers/printer/virtual/printer.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('VirtualReceiptPrinter', () => {
  it('decodes what it is sent, across writes that split commands; jobsText splits at cuts', async () => {
    const printer = new VirtualReceiptPrinter({ paperWidthMm: 58 });
    await printer.open();
    await printer.write(hex('1b40 1c26 b2e2'));
    await printer.write(hex('cad4 0a 1c2e 1d28 6b 0500 3150 30 4142'));
    await printer.write(hex('1d286b 0300 3151 30 1d5642 00 4f4b0a 1b70 00 19 fa'));
    expect(printer.jobsText()).toEqual(['测试\n[QR AB]', 'OK\n[drawer pin 2]']);
    expect(printer.paper().items.map((i) => i.kind)).toEqual(['text', 'qr', 'cut', 'text', 'drawer']);
    expect(printer.output()).toEqual(Buffer.concat(printer.written));
    expect(printer.svg()).toMatch(/^<svg [^>]*width="384"/);
  });

  it('answers status() from settable state and emits statusChanged', async () => {
    const printer = new VirtualReceiptPrinter();
    const seen: unknown[] = [];
    printer.on('statusChanged', (s) => seen.push(s));
    printer.setStatus({ paperNearEnd: true });
    expect(await printer.status()).toEqual({ online: true, coverOpen: false, paperNearEnd: true, paperOut: false });
    expect(seen).toEqual([{ online: true, coverOpen: false, paperNearEnd: true, paperOut: false }]);
  });

  it('unplugged: write, status and open fail with typed errors; replugged it prints again and keeps the earlier paper', async () => {
    const printer = new VirtualReceiptPrinter();
    const events: boolean[] = [];
    printer.on('connectionChanged', ({ connected }) => events.push(connected));
    await printer.write(hex('6f6e650a 1d28'));
    printer.setConnected(false);
    await expect(printer.write(hex('0a'))).rejects.toMatchObject({ code: 'DRIVER_IO' });
    await expect(printer.status()).rejects.toMatchObject({ code: 'DRIVER_IO' });
    await expect(printer.open()).rejects.toMatchObject({ code: 'DRIVER_OPEN_FAILED' });
    printer.setConnected(true);
    await printer.open();
    await printer.write(hex('74776f0a'));
    expect(printer.jobsText()).toEqual(['one\ntwo']);
    expect(events).toEqual([false, true]);
    printer.clearPaper();
    expect(printer.paper().items).toEqual([]);
  });
});

describe('receiptline output', () => {
  const doc = '^^^BIG\nHello\n{code:https://example.com/a; option:qrcode,4,m}\n测试中文\n=\n';

  it('decodes receiptline escpos (gb18030): big text, the QR (drawn as GS 8 L graphics), Chinese and the cut, with nothing unknown', () => {
    const bytes = Buffer.from(receiptline.transform(doc, { command: 'escpos', encoding: 'gb18030' }), 'binary');
    const paper = decodeEscPos(bytes);
    expect(paper.unknown).toEqual([]);
    const big = paper.items.find((i) => i.kind === 'text' && i.text === 'BIG');
    expect(big).toMatchObject({ style: { width: 2, height: 2 } });
    expect(paper.items.some((i) => i.kind === 'text' && i.text === '测试中文')).toBe(true);
    // receiptline 4 renders QR codes itself and sends them as graphics: 25 modules (version 2) x cell 4
    const qr = paper.items.find((i) => i.kind === 'image');
    expect(qr).toMatchObject({ width: 100, height: 100, align: 'center', source: 'GS ( L' });
    expect(paper.items.filter((i) => i.kind === 'cut')).toEqual([{ kind: 'cut', partial: true, feedDots: 0 }, { kind: 'cut', partial: true, feedDots: 0 }]);
    expect(paper.notes?.map((n) => n.note)).toContain('GS r 1: status request');
  });

  it('decodes the Korean form (FS & ESC R 13, EUC-KR)', () => {
    const bytes = Buffer.from(receiptline.transform('한국\n', { command: 'escpos', encoding: 'ksc5601' }), 'binary');
    expect(bytes.includes(hex('1c261b520d'))).toBe(true);
    const paper = decodeEscPos(bytes);
    expect(paper.items.some((i) => i.kind === 'text' && i.text === '한국')).toBe(true);
    expect(paper.unknown).toEqual([]);
  });
});
