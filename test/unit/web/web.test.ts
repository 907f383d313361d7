import { describe, expect, it } from '@jest/globals';
import { parseClientMessage } from '../../../src/web/messages.js';
import { hostAllowed, originAllowed } from '../../../src/web/origin.js';

describe('virtual phone origin check', () => {
  it('accepts only the page\'s own loopback origin', () => {
    expect(originAllowed('http://localhost:8080', 'localhost:8080', '127.0.0.1')).toBe(true);
    expect(originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080', '127.0.0.1')).toBe(true);
    expect(originAllowed('http://192.168.1.20:8080', '192.168.1.20:8080', '192.168.1.20')).toBe(true);
  });

  it('refuses foreign, missing, mismatched and rebinding origins', () => {
    expect(originAllowed('https://evil.example', 'localhost:8080', '127.0.0.1')).toBe(false);
    expect(originAllowed(undefined, 'localhost:8080', '127.0.0.1')).toBe(false);
    expect(originAllowed('null', 'localhost:8080', '127.0.0.1')).toBe(false);
    expect(originAllowed('http://localhost:9999', 'localhost:8080', '127.0.0.1')).toBe(false);
    // DNS rebinding: Host and Origin agree but name the attacker's domain.
    expect(originAllowed('http://evil.example:8080', 'evil.example:8080', '0.0.0.0')).toBe(false);
    expect(originAllowed('file:///tmp/x.html', 'localhost:8080', '127.0.0.1')).toBe(false);
  });

  it('on the shop LAN (listening on 0.0.0.0) accepts the page at the device\'s literal address, which no DNS answer can rebind', () => {
    expect(originAllowed('http://192.168.1.20:8080', '192.168.1.20:8080', '0.0.0.0')).toBe(true);
    expect(originAllowed('http://[fe80::1]:8080', '[fe80::1]:8080', '::')).toBe(true);
    // another machine's page posting to the device
    expect(originAllowed('http://192.168.1.99:8080', '192.168.1.20:8080', '0.0.0.0')).toBe(false);
    expect(originAllowed('http://deskline.lan:8080', 'deskline.lan:8080', '0.0.0.0')).toBe(false);
  });
});

describe('Host check', () => {
  it('accepts loopback names, literal addresses and the configured listen name; refuses other names and junk', () => {
    expect(hostAllowed('localhost:8080', '127.0.0.1')).toBe(true);
    expect(hostAllowed('127.0.0.1', '127.0.0.1')).toBe(true);
    expect(hostAllowed('[::1]:8080', '127.0.0.1')).toBe(true);
    expect(hostAllowed('10.0.0.5:80', '0.0.0.0')).toBe(true);
    expect(hostAllowed('phone.shop:8080', 'phone.shop')).toBe(true);
    expect(hostAllowed('evil.example:8080', '0.0.0.0')).toBe(false);
    expect(hostAllowed('phone.shop:8080', '0.0.0.0')).toBe(false);
    expect(hostAllowed(undefined, '127.0.0.1')).toBe(false);
    expect(hostAllowed('localhost/x', '127.0.0.1')).toBe(false);
    expect(hostAllowed('user@localhost', '127.0.0.1')).toBe(false);
  });
});

describe('virtual phone messages', () => {
  it('parses valid messages', () => {
    expect(parseClientMessage('{"type":"key","key":"5"}')).toEqual({ type: 'key', key: '5', long: false });
    expect(parseClientMessage('{"type":"hook","offHook":true}')).toEqual({ type: 'hook', offHook: true });
    expect(parseClientMessage('{"type":"incomingCall","number":"+8613800138000","name":"王力"}')).toEqual({ type: 'incomingCall', number: '+8613800138000', name: '王力', line: 'sim' });
    expect(parseClientMessage('{"type":"incomingCall","number":"123","name":""}')).toEqual({ type: 'incomingCall', number: '123', name: null, line: 'sim' });
    expect(parseClientMessage('{"type":"incomingCall","number":"123","line":"analog"}')).toMatchObject({ line: 'analog' });
    expect(parseClientMessage('{"type":"incomingCall","number":"123","line":"isdn"}')).toMatchObject({ error: expect.stringMatching(/line/) });
  });

  it('rejects malformed, unknown and oversized input with a reason', () => {
    expect(parseClientMessage('not json')).toEqual({ error: 'message is not JSON' });
    expect(parseClientMessage('{"type":"key","key":"F13"}')).toEqual({ error: 'unknown key "F13"' });
    expect(parseClientMessage('{"type":"incomingCall","number":"12ab"}')).toMatchObject({ error: expect.stringMatching(/caller number/) });
    expect(parseClientMessage(JSON.stringify({ type: 'incomingCall', number: '1', name: 'x'.repeat(65) }))).toMatchObject({ error: expect.stringMatching(/caller name/) });
    expect(parseClientMessage(`{"type":"key","key":"${'1'.repeat(5000)}"}`)).toMatchObject({ error: expect.stringMatching(/exceeds/) });
    expect(parseClientMessage('{"type":"reboot"}')).toEqual({ error: 'unknown message type "reboot"' });
  });

  it('scan: 1 to 256 printable ASCII characters, as typed', () => {
    expect(parseClientMessage('{"type":"scan","code":"6901234567892"}')).toEqual({ type: 'scan', code: '6901234567892' });
    expect(parseClientMessage(JSON.stringify({ type: 'scan', code: ' ]C1(01)09501101530003~' }))).toEqual({ type: 'scan', code: ' ]C1(01)09501101530003~' });
    expect(parseClientMessage(JSON.stringify({ type: 'scan', code: 'x'.repeat(256) }))).toEqual({ type: 'scan', code: 'x'.repeat(256) });
    const refused = { error: 'barcode: 1 to 256 printable ASCII characters' };
    expect(parseClientMessage(JSON.stringify({ type: 'scan', code: 'x'.repeat(257) }))).toEqual(refused);
    for (const code of ['', '123\r456', 'tab\there', 'café', '王', '\u0000', 42, null, ['1']]) {
      expect(parseClientMessage(JSON.stringify({ type: 'scan', code }))).toEqual(refused);
    }
    expect(parseClientMessage('{"type":"scan"}')).toEqual(refused);
  });
});
