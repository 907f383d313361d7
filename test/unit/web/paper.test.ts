import { describe, expect, it } from '@jest/globals';
import type { PaperItem, TextStyle } from '../../../drivers/printer/virtual/types.js';
import { MAX_SLIP_SVG_CHARS, MAX_SLIP_TEXT_CHARS, printerMessage, slipMessage, splitSlips } from '../../../src/web/paper.js';

const style: TextStyle = { bold: false, underline: 0, invert: false, width: 1, height: 1, align: 'left' };
const text = (t: string): PaperItem => ({ kind: 'text', text: t, style });
const cut: PaperItem = { kind: 'cut', partial: true };
const qr: PaperItem = { kind: 'qr', payload: 'https://maps.example/?q=12 Garden Rd', size: 4, errorCorrection: 'M', align: 'center' };
const ok = { online: true, coverOpen: false, paperNearEnd: false, paperOut: false };

describe('paper strip slips', () => {
  it('splits a job at its cuts (one slip per copy); trailing feeds are not a slip', () => {
    const slips = splitSlips([text('a'), cut, text('b'), cut, { kind: 'feed', lines: 2, dots: 0 }]);
    expect(slips.map((s) => s.map((i) => i.kind))).toEqual([['text', 'cut'], ['text', 'cut']]);
    expect(splitSlips([text('no cut yet')])).toHaveLength(1);
    expect(splitSlips([])).toEqual([]);
  });

  it('draws the slip as SVG with caller text escaped, and gives its text and QR count', () => {
    const message = slipMessage({ id: 'p000001', template: 'order' }, 1, [text('<img src=x onerror=alert(1)> & "Wang"'), qr, cut], 80);
    expect(message).toMatchObject({ type: 'slip', job: 'p000001', template: 'order', part: 1, qr: 1 });
    expect(message.svg).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;Wang&quot;');
    expect(message.svg).not.toContain('<img');
    expect(message.svg).toContain('class="qr"');
    expect(message.text).toBe('<img src=x onerror=alert(1)> & "Wang"\n[QR https://maps.example/?q=12 Garden Rd]');
  });

  it('bounds what it sends: a huge slip goes as text only, cut to size; ids are clipped', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => text(`line ${i} ${'x'.repeat(60)}`));
    const message = slipMessage({ id: 'p'.repeat(500), template: 'order' }, 1, lines, 58);
    expect(message.svg).toBeNull();
    expect(message.text.length).toBeLessThanOrEqual(MAX_SLIP_TEXT_CHARS);
    expect(message.job.length).toBeLessThanOrEqual(64);
    expect(JSON.stringify(message).length).toBeLessThan(MAX_SLIP_SVG_CHARS);
  });
});

describe('printer indicator', () => {
  it('says ready, or the most pressing problem first, with the jobs queued', () => {
    expect(printerMessage(true, ok, 0)).toMatchObject({ type: 'printer', state: 'ready', label: 'Ready', queued: 0 });
    expect(printerMessage(null, null, 0)).toMatchObject({ state: 'unknown', label: 'Status not known yet' });
    expect(printerMessage(false, ok, 2)).toMatchObject({ state: 'disconnected', label: 'Not connected · 2 jobs queued' });
    expect(printerMessage(true, { ...ok, online: false }, 0)).toMatchObject({ state: 'offline', label: 'Offline' });
    expect(printerMessage(true, { ...ok, paperOut: true, paperNearEnd: true }, 1)).toMatchObject({ state: 'paper-out', label: 'Out of paper · 1 job queued' });
    expect(printerMessage(true, { ...ok, paperNearEnd: true }, 0)).toMatchObject({ state: 'paper-near-end', label: 'Paper near end' });
    expect(printerMessage(true, { ...ok, online: false, coverOpen: true, paperOut: true }, 0)).toMatchObject({ state: 'offline', label: 'Offline, cover open, out of paper' });
  });

  it('copies the status it was given', () => {
    const status = { ...ok };
    const message = printerMessage(true, status, 0);
    status.paperOut = true;
    expect(message.status).toEqual(ok);
  });
});
