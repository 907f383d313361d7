// A raw MQTT 3.1.1 CONNECT/CONNACK exchange: proves a broker speaks MQTT without any client library.

import { createConnection } from 'node:net';

function mqttString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** The bytes of an MQTT 3.1.1 CONNECT packet (clean session). */
export function mqttConnectPacket(o: { clientId: string; username?: string; password?: string; keepAlive?: number }): Buffer {
  let flags = 0x02; // clean session
  if (o.username !== undefined) flags |= 0x80;
  if (o.password !== undefined) flags |= 0x40;
  const keep = Buffer.alloc(2);
  keep.writeUInt16BE(o.keepAlive ?? 30);
  const variable = Buffer.concat([mqttString('MQTT'), Buffer.from([4, flags]), keep]);
  const payload = Buffer.concat([
    mqttString(o.clientId),
    ...(o.username !== undefined ? [mqttString(o.username)] : []),
    ...(o.password !== undefined ? [mqttString(o.password)] : []),
  ]);
  const body = Buffer.concat([variable, payload]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/**
 * Connects, sends CONNECT, resolves with the CONNACK return code (0 accepted, 4 bad user name or
 * password, 5 not authorised) or null if no CONNACK came within timeoutMs.
 */
export function mqttConnack(
  port: number,
  o: { host?: string; clientId?: string; username?: string; password?: string; timeoutMs?: number } = {},
): Promise<number | null> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: o.host ?? '127.0.0.1' });
    let buf = Buffer.alloc(0);
    const done = (rc: number | null) => {
      clearTimeout(timer);
      if (rc === 0) sock.end(Buffer.from([0xe0, 0x00])); // DISCONNECT
      else sock.destroy();
      resolve(rc);
    };
    const timer = setTimeout(() => done(null), o.timeoutMs ?? 1000);
    sock.on('error', () => done(null));
    sock.on('connect', () => {
      sock.write(
        mqttConnectPacket({ clientId: o.clientId ?? `probe-${process.pid}-${Date.now()}`, username: o.username, password: o.password }),
      );
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4) done(buf[0] === 0x20 && buf[1] === 0x02 ? buf[3] : null);
    });
  });
}
