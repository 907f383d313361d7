import { describe, expect, it } from '@jest/globals';
import { ConnectionListeners } from '../../../../drivers/printer/escpos-printer.js';

describe('ConnectionListeners', () => {
  it('fans data out, tells the close listeners once when the connection ends by itself, and a late listener at once', () => {
    const listeners = new ConnectionListeners();
    const seen: string[] = [];
    listeners.onData((bytes) => seen.push(`a ${bytes.length}`));
    listeners.onData((bytes) => seen.push(`b ${bytes.length}`));
    listeners.onClose((error) => seen.push(`closed ${error?.message}`));
    listeners.data(Uint8Array.of(0x12));
    expect(listeners.end(new Error('unplugged'))).toBe(true);
    expect(listeners.end(new Error('again'))).toBe(false);
    listeners.onClose((error) => seen.push(`late ${error?.message}`));
    expect(seen).toEqual(['a 1', 'b 1', 'closed unplugged', 'late unplugged']);
    expect(listeners.ended).toBe(true);
  });

  it('a deliberate close ends it without telling the close listeners', () => {
    const listeners = new ConnectionListeners();
    const seen: string[] = [];
    listeners.onClose(() => seen.push('closed'));
    expect(listeners.end(undefined, false)).toBe(true);
    expect(listeners.end(new Error('unplugged'))).toBe(false);
    expect(seen).toEqual([]);
  });
});
