// A fake of EMQX's File Transfer over MQTT, for the uploader's 'emqx' mode. EMQX itself is not installable
// here, so this is a minimal MQTT broker endpoint (mqtt-packet's parser and generator, so the PUBACK reason
// codes and $file-response documents are real bytes on a real socket) that implements only what EMQX's
// published protocol says, and nothing it does not say:
//   EIP-0021 https://github.com/emqx/eip/blob/main/implemented/0021-transfer-files-over-mqtt.md
//   https://docs.emqx.com/en/emqx/latest/file-transfer/client.html
// - `$file/{fileId}/init` (JSON: name required, <= 240 bytes; size, checksum, expire_at, segments_ttl, user_data),
//   `$file/{fileId}/{offset}[/{checksum}]`, `$file/{fileId}/fin/{fileSize}[/{checksum}]`, `$file/{fileId}/abort`,
//   and the same under `$file-async/` with the result on `$file-response/{clientId}`
//   ({vsn, topic, packet_id, reason_code, reason_description}).
// - a transfer is identified by clientId + fileId ("Broker SHOULD consider clientId + fileId pair as ... unique");
// - reason codes: 0x00 stored, 0x80 a segment failing its checksum (resend it) or a fin whose file is missing
//   segments or fails its checksum (resend all), 0x83 an init conflicting with the transfer's metadata;
// - clients may not subscribe to `$file/#` or `$file-async/#` (SUBACK 0x87);
// - a verified file is "exported" to <exportDir>/<clientId>/<fileId>/<name>, like EMQX's local exporter.
// Everything else is a plain little broker: CONNECT/CONNACK (MQTT 5 or 3.1.1), SUBSCRIBE with + and #, QoS 0/1
// delivery, PINGREQ, DISCONNECT. Tests can make the next command of a kind answer with a chosen reason code
// (`failNext`), to see the uploader act on 0x97/0x10/0x83 as the EIP says.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { freeTcpPort } from './ports.js';

interface Transfer {
  meta: { name: string; size?: number; checksum?: string };
  segments: Map<number, Buffer>;
  done: boolean;
}

interface Connection {
  socket: Socket;
  clientId: string;
  protocolVersion: 4 | 5;
  subscriptions: Set<string>;
  nextMessageId: number;
}

export type FileCommand = 'init' | 'segment' | 'fin' | 'abort';

export interface FakeEmqx {
  url: string;
  port: number;
  /** every $file/$file-async command received, in order: [clientId, topic] */
  commands: Array<{ clientId: string; topic: string; reasonCode: number }>;
  /** files exported: <exportDir>/<clientId>/<fileId>/<name> */
  exportDir: string;
  /** the next `count` commands of this kind answer `reasonCode` without being processed */
  failNext(command: FileCommand, reasonCode: number, count?: number): void;
  /** accept only MQTT 3.1.1 (CONNACK 0x84 "unsupported protocol version" to MQTT 5 clients) */
  mqtt311Only: boolean;
  /** drops every client connection (a broker restart, as far as the client can tell; transfers are kept) */
  dropConnections(): void;
  close(): Promise<void>;
}

const REASON_TEXT: Record<number, string> = { 0x00: 'success', 0x10: 'no_matching_subscribers', 0x80: 'unspecified_error', 0x83: 'implementation_specific_error', 0x97: 'quota_exceeded' };

function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if ((f[0] === '#' || f[0] === '+') && topic.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

export async function startFakeEmqx(options: { exportDir: string }): Promise<FakeEmqx> {
  const port = await freeTcpPort();
  const transfers = new Map<string, Transfer>();
  const connections = new Set<Connection>();
  const injected: Array<{ command: FileCommand; reasonCode: number }> = [];
  const commands: FakeEmqx['commands'] = [];

  const send = (conn: Connection, packet: Packet) => {
    if (!conn.socket.destroyed) conn.socket.write(mqttPacket.generate(packet, { protocolVersion: conn.protocolVersion }));
  };
  const deliver = (topic: string, payload: Buffer) => {
    for (const conn of connections) {
      if (![...conn.subscriptions].some((filter) => matches(filter, topic))) continue;
      conn.nextMessageId = (conn.nextMessageId % 65535) + 1;
      send(conn, { cmd: 'publish', topic, payload, qos: 1, messageId: conn.nextMessageId, retain: false, dup: false });
    }
  };

  /** One file transfer command, as EIP-0021 "Protocol messages" describes it; returns its reason code. */
  const fileCommand = (conn: Connection, levels: string[], payload: Buffer): number => {
    const [, fileId, ...rest] = levels;
    const command: FileCommand | null = rest[0] === 'init' && rest.length === 1 ? 'init'
      : rest[0] === 'fin' && (rest.length === 2 || rest.length === 3) ? 'fin'
        : rest[0] === 'abort' && rest.length === 1 ? 'abort'
          : /^\d+$/.test(rest[0] ?? '') && rest.length <= 2 ? 'segment' : null;
    if (!fileId || command === null) return 0x80;
    const injectedIndex = injected.findIndex((i) => i.command === command);
    if (injectedIndex >= 0) return injected.splice(injectedIndex, 1)[0].reasonCode;
    const key = `${conn.clientId}/${fileId}`;
    const transfer = transfers.get(key);
    switch (command) {
      case 'init': {
        let meta: Transfer['meta'];
        try {
          meta = JSON.parse(payload.toString('utf8')) as Transfer['meta'];
        } catch {
          return 0x80;
        }
        // "the only required field is name"; "The binary length of the name should not exceed 240 bytes"
        if (typeof meta.name !== 'string' || !meta.name || Buffer.byteLength(meta.name) > 240) return 0x80;
        // "Broker MAY refuse to accept the file transfer in case of the metadata conflict"
        if (transfer && (transfer.meta.name !== meta.name || transfer.meta.checksum !== meta.checksum)) return 0x83;
        if (!transfer) transfers.set(key, { meta, segments: new Map(), done: false });
        return 0x00;
      }
      case 'segment': {
        if (!transfer) return 0x80;
        // "If checksum is included in topic name, Broker MUST use it to verify integrity"
        if (rest[1] !== undefined && createHash('sha256').update(payload).digest('hex') !== rest[1].toLowerCase()) return 0x80;
        transfer.segments.set(Number(rest[0]), Buffer.from(payload));
        return 0x00;
      }
      case 'fin': {
        if (!transfer) return 0x80;
        // "If the file transfer has already been completed, EMQX will immediately respond with success"
        if (transfer.done) return 0x00;
        const size = Number(rest[1]);
        const file = Buffer.alloc(size);
        let covered = 0;
        for (const [offset, data] of [...transfer.segments].sort((a, b) => a[0] - b[0])) {
          if (offset > covered) break;
          data.copy(file, offset);
          covered = Math.max(covered, offset + data.length);
        }
        // the fin checksum "takes priority over the checksum field provided in the init command"
        const checksum = rest[2] ?? transfer.meta.checksum;
        if (covered < size || (checksum !== undefined && createHash('sha256').update(file).digest('hex') !== checksum.toLowerCase())) {
          transfer.segments.clear(); // 0x80 for fin: "retransmit all segments"
          return 0x80;
        }
        const dir = join(options.exportDir, conn.clientId, fileId);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, transfer.meta.name.replace(/[/\\]/g, '%2F')), file);
        transfer.done = true;
        return 0x00;
      }
      case 'abort':
        transfers.delete(key);
        return 0x00;
    }
  };

  const onPacket = (conn: Connection, packet: Packet) => {
    switch (packet.cmd) {
      case 'connect': {
        conn.clientId = packet.clientId;
        conn.protocolVersion = packet.protocolVersion === 5 ? 5 : 4;
        if (fake.mqtt311Only && conn.protocolVersion === 5) {
          send(conn, { cmd: 'connack', reasonCode: 0x84, sessionPresent: false });
          conn.socket.end();
          return;
        }
        send(conn, conn.protocolVersion === 5 ? { cmd: 'connack', reasonCode: 0, sessionPresent: false } : { cmd: 'connack', returnCode: 0, sessionPresent: false });
        return;
      }
      case 'subscribe': {
        const granted = packet.subscriptions.map((s) => {
          if (/^\$file(-async)?\//.test(s.topic)) return 0x87; // "Broker MUST NOT let clients subscribe to Topics starting with $file/"
          conn.subscriptions.add(s.topic);
          return Math.min(s.qos, 1);
        });
        send(conn, { cmd: 'suback', messageId: packet.messageId, granted });
        return;
      }
      case 'unsubscribe':
        for (const topic of packet.unsubscriptions) conn.subscriptions.delete(topic);
        send(conn, { cmd: 'unsuback', messageId: packet.messageId, ...(conn.protocolVersion === 5 ? { granted: packet.unsubscriptions.map(() => 0) } : {}) } as Packet);
        return;
      case 'publish':
        return onPublish(conn, packet);
      case 'pingreq':
        send(conn, { cmd: 'pingresp' });
        return;
      case 'disconnect':
        conn.socket.end();
        return;
      default:
        return; // puback from clients for our deliveries: nothing to do
    }
  };

  const onPublish = (conn: Connection, packet: IPublishPacket) => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const levels = packet.topic.split('/');
    let reasonCode: number;
    if (levels[0] === '$file' || levels[0] === '$file-async') {
      const asynchronous = levels[0] === '$file-async';
      reasonCode = fileCommand(conn, levels, payload);
      commands.push({ clientId: conn.clientId, topic: packet.topic, reasonCode });
      if (asynchronous) {
        // EIP-0021 "Asynchronous mode": PUBACK 0 (accepted), the result as a document on $file-response/{clientId}
        const response = { vsn: '0.1', topic: packet.topic, packet_id: packet.messageId ?? 0, reason_code: reasonCode, reason_description: REASON_TEXT[reasonCode] ?? 'error' };
        setImmediate(() => deliver(`$file-response/${conn.clientId}`, Buffer.from(JSON.stringify(response))));
        reasonCode = 0;
      }
    } else {
      let subscribers = 0;
      for (const other of connections) if ([...other.subscriptions].some((f) => matches(f, packet.topic))) subscribers += 1;
      deliver(packet.topic, payload);
      reasonCode = subscribers > 0 ? 0x00 : 0x10;
    }
    if (packet.qos === 1) {
      send(conn, conn.protocolVersion === 5 ? { cmd: 'puback', messageId: packet.messageId, reasonCode } : { cmd: 'puback', messageId: packet.messageId });
    }
  };

  const server: Server = createServer((socket) => {
    const conn: Connection = { socket, clientId: '', protocolVersion: 5, subscriptions: new Set(), nextMessageId: 0 };
    connections.add(conn);
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on('packet', (packet: Packet) => onPacket(conn, packet));
    parser.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => connections.delete(conn));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  const fake: FakeEmqx = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    commands,
    exportDir: options.exportDir,
    mqtt311Only: false,
    failNext: (command, reasonCode, count = 1) => {
      for (let i = 0; i < count; i++) injected.push({ command, reasonCode });
    },
    dropConnections: () => {
      for (const conn of connections) conn.socket.destroy();
    },
    close: async () => {
      for (const conn of connections) conn.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
