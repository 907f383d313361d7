import { Type, type Static, type TSchema, type SchemaOptions } from '@sinclair/typebox';

/**
 * The one config schema: the TypeScript type (`Config`) and the published JSON Schema
 * (`deskline config schema`) both come from here. Every field has a default and a description.
 * Custom keywords: `x-restart: true` (a change takes effect after a restart),
 * `x-secret: true` (never logged, never sent to a browser, never allowed in group documents).
 */

interface FieldOptions extends SchemaOptions {
  description: string;
  restart?: boolean;
  secret?: boolean;
}

function field<T extends TSchema>(make: (options: SchemaOptions) => T, options: FieldOptions): T {
  const { restart, secret, ...rest } = options;
  return make({
    ...rest,
    ...(restart ? { 'x-restart': true, description: `${rest.description} (takes effect after a restart)` } : {}),
    ...(secret ? { 'x-secret': true } : {}),
  });
}

function section<P extends Record<string, TSchema>>(description: string, properties: P) {
  return Type.Object(properties, { description, default: {}, additionalProperties: false });
}

export const ConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'Path or URL of this JSON Schema (ignored by the runtime)' })),
    device: section('This phone', {
      id: field((o) => Type.String({ ...o, maxLength: 64, pattern: '^$|^[A-Za-z0-9][A-Za-z0-9_.-]*$' }), {
        default: '',
        description: 'Device id used in cloud topics; empty = derived from the board serial or machine id',
        restart: true,
      }),
      name: field((o) => Type.String({ ...o, maxLength: 64 }), { default: 'Deskline', description: 'Name shown on the idle screen' }),
      country: field((o) => Type.String({ ...o, pattern: '^[A-Z]{2}$' }), {
        default: 'US',
        description: 'ISO 3166-1 alpha-2 country of the phone line, used to normalise numbers to E.164',
      }),
      groups: field((o) => Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { ...o, maxItems: 32 }), {
        default: [],
        description: 'Cloud config groups, applied in this order (later groups win)',
      }),
    }),
    board: field((o) => Type.String({ ...o, minLength: 1, maxLength: 1024 }), {
      default: 'auto',
      description: "Board definition to run on: 'auto' (by /proc/device-tree/compatible; 'sim' where there is no device tree), a board name from board/, or the path of a board file (*.json; its extends may name a board from board/)",
      restart: true,
    }),
    web: section('Local web UI (virtual phone on the sim board, admin)', {
      host: field((o) => Type.String({ ...o, minLength: 1 }), {
        default: '127.0.0.1',
        description: 'Address the web server listens on; 0.0.0.0 to reach it from the shop LAN',
        restart: true,
      }),
      port: field((o) => Type.Integer({ ...o, minimum: 0, maximum: 65535 }), {
        default: 8080,
        description: 'TCP port of the web UI (0 = any free port)',
        restart: true,
      }),
    }),
    log: section('Logging', {
      level: field((o) => Type.Union([
        Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent'),
      ], o), {
        default: 'info',
        description: 'Minimum level written to the log',
      }),
    }),
    clock: section('Time keeping', {
      trustWallTime: field((o) => Type.Union([Type.Literal('auto'), Type.Literal('always'), Type.Literal('timesync')], o), {
        default: 'auto',
        description: "When wall time counts as right: 'timesync' once systemd-timesyncd synchronised, 'always' (a laptop), 'auto' = 'always' on the sim board, else 'timesync'",
        restart: true,
      }),
    }),
    phone: section('The phone itself', {
      dialTimeoutMs: field((o) => Type.Integer({ ...o, minimum: 1000, maximum: 30000 }), {
        default: 4000,
        description: 'Off-hook dialing: the number is dialed this long after the last digit',
      }),
      predialTimeoutMs: field((o) => Type.Integer({ ...o, minimum: 5000, maximum: 300000 }), {
        default: 30000,
        description: 'On-hook predial: digits are cleared this long after the last key',
      }),
      maxDigits: field((o) => Type.Integer({ ...o, minimum: 3, maximum: 64 }), { default: 32, description: 'Most digits a dialed number may have' }),
      ringCadence: field((o) => Type.Array(Type.Integer({ minimum: 50, maximum: 10000 }), { ...o, minItems: 2, maxItems: 8 }), {
        default: [2000, 4000],
        description: 'Ringer cadence in ms, alternating on and off (an even number of entries)',
      }),
      ringVolume: field((o) => Type.Integer({ ...o, minimum: 0, maximum: 100 }), { default: 80, description: 'Ringer volume, 0..100' }),
    }),
    display: section('The graphic display', {
      font: field((o) => Type.String({ ...o, minLength: 1 }), {
        default: '/usr/share/unifont/unifont.hex',
        description: 'GNU Unifont .hex file used to render Latin, CJK and Hangul (Debian package unifont)',
        restart: true,
      }),
      contrast: field((o) => Type.Integer({ ...o, minimum: 0, maximum: 100 }), { default: 50, description: 'Display contrast, 0..100' }),
      backlight: field((o) => Type.Integer({ ...o, minimum: 0, maximum: 100 }), { default: 80, description: 'Backlight level, 0..100' }),
    }),
    simLine: section('The simulated line (until the SIP and analog lines are configured)', {
      enabled: field((o) => Type.Boolean(o), { default: true, description: 'Place and receive calls on a simulated line', restart: true }),
      answerAfterMs: field((o) => Type.Integer({ ...o, minimum: 0, maximum: 120000 }), {
        default: 2000,
        description: 'Outgoing calls on the simulated line are answered after this long',
      }),
      busyNumbers: field((o) => Type.Array(Type.String({ maxLength: 64 }), { ...o, maxItems: 100 }), {
        default: [],
        description: 'Numbers the simulated far end answers with busy',
      }),
    }),
    analogLine: section('The analog line (FXO through the MCU, caller ID from the decoder)', {
      enabled: field((o) => Type.Boolean(o), { default: true, description: 'Use the analog line when the board has one', restart: true }),
      ringTimeoutMs: field((o) => Type.Integer({ ...o, minimum: 2000, maximum: 30000 }), {
        default: 8000,
        description: 'An incoming call counts as missed when no ring burst came for this long (longer than the longest ring pause)',
      }),
      dialToneTimeoutMs: field((o) => Type.Integer({ ...o, minimum: 500, maximum: 10000 }), {
        default: 3000,
        description: 'After seizing the line, wait this long for dial tone before giving up',
      }),
      answerSupervision: field((o) => Type.Union([Type.Literal('polarity'), Type.Literal('none')], o), {
        default: 'none',
        description: "How the far end's answer is known: 'polarity' (the exchange reverses polarity on answer) or 'none' (the call counts as connected once dialed)",
      }),
      dtmfToneMs: field((o) => Type.Integer({ ...o, minimum: 40, maximum: 500 }), { default: 100, description: 'DTMF tone length when dialing' }),
      dtmfGapMs: field((o) => Type.Integer({ ...o, minimum: 40, maximum: 500 }), { default: 100, description: 'Pause between DTMF tones when dialing' }),
      disconnectDebounceMs: field((o) => Type.Integer({ ...o, minimum: 50, maximum: 5000 }), {
        default: 400,
        description: 'Loop current must stay away this long before a call counts as ended by the far end',
      }),
    }),
    sip: section('SIP lines (sip.js; plain SIP over UDP/TCP and RTP/AVP G.711)', {
      listen: section('Local SIP ports', {
        udp: field((o) => Type.Integer({ ...o, minimum: 0, maximum: 65535 }), { default: 5060, description: 'UDP port for SIP (0 = any free port)', restart: true }),
        tcp: field((o) => Type.Integer({ ...o, minimum: 0, maximum: 65535 }), { default: 5060, description: 'TCP port for SIP (0 = any free port)', restart: true }),
        tls: field((o) => Type.Integer({ ...o, minimum: 0, maximum: 65535 }), { default: 5061, description: 'TLS port for SIP (not served yet)', restart: true }),
      }),
      accounts: field((o) => Type.Array(
        Type.Object(
          {
            id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$', maxLength: 32, description: 'Line id shown on the phone and in call records' }),
            uri: Type.String({ pattern: '^sips?:[^@\\s]+@[^\\s]+$', maxLength: 256, description: 'Address of record, e.g. sip:1000@pbx.example.com' }),
            password: Type.String({ maxLength: 256, description: 'Digest password (secret: never logged or sent to a browser)', 'x-secret': true }),
            authorizationUsername: Type.Optional(Type.String({ maxLength: 128, description: 'Digest user name when it differs from the URI user' })),
            registrar: Type.Optional(Type.String({ pattern: '^sips?:', maxLength: 256, description: 'Registrar URI; default the URI domain' })),
            backupRegistrar: Type.Optional(Type.String({
              pattern: '^sips?:', maxLength: 256,
              description: 'Registrar URI used while the registrar times out, cannot be reached or answers 5xx (udp and tcp accounts)',
            })),
            outboundProxy: Type.Optional(Type.String({ pattern: '^sips?:', maxLength: 256, description: 'Outbound proxy URI' })),
            transport: Type.Union([Type.Literal('udp'), Type.Literal('tcp'), Type.Literal('tls'), Type.Literal('ws'), Type.Literal('wss')], {
              default: 'udp',
              description: 'SIP transport: udp, tcp, tls (server certificate verified, see sip.tls), ws or wss (the registrar URI names the WebSocket port)',
            }),
            expires: Type.Integer({ minimum: 60, maximum: 86400, default: 600, description: 'Requested registration lifetime in seconds' }),
          },
          { additionalProperties: false },
        ),
        { ...o, maxItems: 8 },
      ), { default: [], description: 'SIP accounts; the first one places outgoing calls when there is no other line', restart: true }),
      tls: section('TLS and WSS connections to SIP servers', {
        caFile: field((o) => Type.String({ ...o, maxLength: 1024 }), {
          default: '',
          description: 'PEM file of the CAs trusted for SIP servers (a private PBX CA); empty = the system roots',
          restart: true,
        }),
        verify: field((o) => Type.Boolean(o), {
          default: true,
          description: 'Refuse a SIP server whose certificate cannot be verified (turn off only in a lab)',
          restart: true,
        }),
      }),
      autoAnswer: field((o) => Type.Boolean(o), { default: false, description: 'Answer incoming SIP calls at once (intercom, tests)' }),
      allowFrom: field((o) => Type.Array(Type.String({ maxLength: 64 }), { ...o, maxItems: 64 }), {
        default: [],
        description: 'IP addresses or CIDR ranges (e.g. 192.168.1.20, 10.0.0.0/8) allowed to send INVITEs besides the registrar and outbound proxy; others get 403',
      }),
    }),
    recording: section('Call recording', {
      mode: field((o) => Type.Union([Type.Literal('always'), Type.Literal('on-demand'), Type.Literal('off')], o), {
        default: 'always',
        description: "Record calls 'always', only when asked ('on-demand'), or never ('off'); WAV files under <data>/recordings/. `rules` may decide otherwise per call",
      }),
      rules: field((o) => Type.Array(
        Type.Object(
          {
            direction: Type.Optional(Type.Union([Type.Literal('inbound'), Type.Literal('outbound')], { description: 'Calls this rule applies to; absent = both directions' })),
            tag: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "A contact tag (e.g. 'vip'): the rule applies to calls with contacts carrying it; absent = any caller" })),
            mode: Type.Union([Type.Literal('always'), Type.Literal('on-demand'), Type.Literal('off')], { description: 'How calls this rule applies to are recorded' }),
          },
          { additionalProperties: false },
        ),
        { ...o, maxItems: 32 },
      ), {
        default: [],
        description: "Per-call exceptions to `mode`, tried in order, the first that applies wins: e.g. [{\"tag\": \"staff\", \"mode\": \"off\"}, {\"direction\": \"outbound\", \"mode\": \"on-demand\"}]",
      }),
      notice: field((o) => Type.Union([Type.Literal('none'), Type.Literal('beep'), Type.Literal('announcement')], o), {
        default: 'none',
        description: "Tell the far end the call is recorded when recording starts: 'beep' (a short two-tone beep), 'announcement' (plays `announcementFile`) or 'none'",
      }),
      announcementFile: field((o) => Type.String({ ...o, maxLength: 1024 }), {
        default: '',
        description: "16-bit PCM WAV (mono or stereo, 8000 Hz) played as the 'announcement' notice; empty = none (falls back to the beep)",
      }),
      quotaMb: field((o) => Type.Integer({ ...o, minimum: 1, maximum: 1048576 }), {
        default: 2048,
        description: 'Most space recordings may use (MB); beyond it the oldest uploaded recordings are deleted, and when none is left to delete new calls are not recorded',
      }),
      minFreeMb: field((o) => Type.Integer({ ...o, minimum: 0, maximum: 1048576 }), {
        default: 200,
        description: 'Keep at least this much of the disk free (MB), deleting uploaded recordings or not recording new calls, as for the quota',
      }),
      retentionDays: field((o) => Type.Integer({ ...o, minimum: 0, maximum: 36500 }), {
        default: 0,
        description: 'Delete uploaded recordings older than this many days (0 = keep them until the quota or free space needs the room); recordings not uploaded are never deleted',
      }),
    }),
    cloud: section('Cloud link over MQTT (src/cloud/TOPICS.md): config push, commands, events, sync, uploads', {
      url: field((o) => Type.String({ ...o, maxLength: 512, pattern: '^$|^mqtts?://[^\\s/]+(:[0-9]{1,5})?/?$' }), {
        default: '',
        description: "Broker URL, mqtts://host:8883 (TLS) or mqtt://host:1883; empty = no cloud link",
        restart: true,
      }),
      ca: field((o) => Type.String({ ...o, maxLength: 1024 }), {
        default: '',
        description: "PEM file of the CA the broker's certificate must chain to; empty = the system's CAs",
        restart: true,
      }),
      cert: field((o) => Type.String({ ...o, maxLength: 1024 }), {
        default: '',
        description: "PEM file of this device's client certificate (its identity, from provisioning); empty = user name and password",
        restart: true,
      }),
      key: field((o) => Type.String({ ...o, maxLength: 1024 }), {
        default: '',
        description: 'PEM file of the private key of `cert`',
        restart: true,
      }),
      username: field((o) => Type.String({ ...o, maxLength: 256 }), {
        default: '',
        description: 'MQTT user name when there is no client certificate; empty = the device id',
        restart: true,
      }),
      password: field((o) => Type.String({ ...o, maxLength: 256 }), {
        default: '',
        description: 'MQTT password (never logged or sent to a browser)',
        restart: true,
        secret: true,
      }),
      reconnectMaxS: field((o) => Type.Integer({ ...o, minimum: 1, maximum: 3600 }), {
        default: 300,
        description: 'Longest wait between two attempts to reach the broker (the wait doubles from 1 s up to this, with jitter)',
        restart: true,
      }),
      health: section('Deadlines that guard a config pushed from the cloud: a push that misses one is reverted to the last good config', {
        sipRegisteredS: field((o) => Type.Integer({ ...o, minimum: 1, maximum: 600 }), {
          default: 30,
          description: 'Seconds for changed SIP accounts to register',
        }),
        linkBackS: field((o) => Type.Integer({ ...o, minimum: 1, maximum: 3600 }), {
          default: 60,
          description: 'Seconds for the cloud link to come back after a change under cloud.*',
        }),
      }),
      upload: section('Recording upload to the cloud', {
        auto: field((o) => Type.Boolean(o), { default: true, description: 'Upload each recording when it is saved (else only on the recordings.upload command)' }),
        maxBytesPerSecond: field((o) => Type.Integer({ ...o, minimum: 0 }), {
          default: 262144,
          description: 'Upload bandwidth cap in bytes per second (0 = no cap)',
        }),
        duringCalls: field((o) => Type.Boolean(o), { default: false, description: 'Keep uploading while a call is active (default: pause)' }),
        mode: field((o) => Type.Union([Type.Literal('generic'), Type.Literal('emqx')], o), {
          default: 'generic',
          description: "'generic': the dl/v1/{deviceId}/files topics any broker carries; 'emqx': EMQX's native $file topics",
        }),
      }),
    }),
    printing: section('Receipt printing: slips from templates (src/printing)', {
      encoding: field((o) => Type.Union(['gb18030', 'euc-kr', 'big5', 'shift_jis', 'cp437', 'cp852', 'cp858', 'cp866', 'cp1252'].map((e) => Type.Literal(e)), o), {
        default: 'gb18030',
        description: 'Printer text encoding: gb18030 = Chinese printers, euc-kr = Korean printers (FS & + ESC R 13), a cp* code page for Latin text',
      }),
      locale: field((o) => Type.Union([Type.Literal(''), Type.Literal('en'), Type.Literal('zh'), Type.Literal('ko')], o), {
        default: '',
        description: "Language of the slips' labels; empty = from the encoding (zh for gb18030, ko for euc-kr, else en)",
      }),
      timeZone: field((o) => Type.String({ ...o, maxLength: 64 }), { default: '', description: "IANA time zone for times on slips ('Asia/Shanghai'); empty = the system's" }),
      daySummaryAt: field((o) => Type.String({ ...o, pattern: '^$|^([01][0-9]|2[0-3]):[0-5][0-9]$' }), {
        default: '',
        description: "Closing time: the end-of-day summary prints by itself at this local time (HH:MM in printing.timeZone), once a business day; empty = off",
      }),
      logo: field((o) => Type.String({ ...o, maxLength: 65_536, pattern: '^$|^[A-Za-z0-9+/]+={0,2}$' }), {
        default: '',
        description: "The shop's logo, a PNG in base64, printed centered at the top of the built-in slips; at most 384 px wide (58 mm paper) or 576 px (80 mm), 400 px tall; black and white prints best; empty = none",
      }),
      drawer: section('The cash drawer on the receipt printer\'s drawer port (ESC p)', {
        pin: field((o) => Type.Union([Type.Literal(2), Type.Literal(5)], o), { default: 2, description: 'Drawer kick-out connector pin: 2 (drawer 1, most drawers) or 5 (drawer 2)' }),
        pulseMs: field((o) => Type.Integer({ ...o, minimum: 10, maximum: 500 }), { default: 100, description: "Length of the kick pulse in ms (the drawer's solenoid; 100 opens most)" }),
      }),
      mapUrlBase: field((o) => Type.String({ ...o, maxLength: 200, pattern: '^https?://\\S+$' }), {
        default: 'https://maps.google.com/?q=',
        description: "Map link of the order slip's QR: this plus the URL-encoded address (e.g. https://uri.amap.com/search?keyword= or https://map.naver.com/p/search/)",
      }),
      templates: section('Receipt templates (receiptline markup) pushed from the cloud, replacing the built-in ones; one that fails to render falls back to the built-in one', {
        order: field((o) => Type.String({ ...o, maxLength: 16384 }), { default: '', description: 'Order and delivery slip; empty = the built-in one' }),
        'customer-card': field((o) => Type.String({ ...o, maxLength: 16384 }), { default: '', description: 'Customer card; empty = the built-in one' }),
        'call-list': field((o) => Type.String({ ...o, maxLength: 16384 }), { default: '', description: 'Call-list slip; empty = the built-in one' }),
        'day-summary': field((o) => Type.String({ ...o, maxLength: 16384 }), { default: '', description: 'End-of-day summary; empty = the built-in one' }),
      }),
    }),
    orders: section('Phone orders (src/orders): the catalog typed on the keypad, the currency and the shop on the slips', {
      catalog: field((o) => Type.Array(
        Type.Object(
          {
            code: Type.String({ pattern: '^[0-9]{1,6}$', description: 'Item code typed on the keypad (1-6 digits)' }),
            name: Type.String({ minLength: 1, maxLength: 40, description: 'Item name on the display, the slip and the timeline' }),
            unitPrice: Type.Integer({ minimum: 0, maximum: 100_000_000, description: "Price of one, in the currency's minor unit (fen, cents)" }),
            barcode: Type.Optional(Type.String({ pattern: '^[\\x21-\\x7e]{1,64}$', description: 'Barcode on the product (EAN/UPC digits or any printable ASCII); a scan adds one to the order being taken' })),
          },
          { additionalProperties: false },
        ),
        { ...o, maxItems: 1000 },
      ), {
        default: [],
        description: 'Items that can be ordered, e.g. [{"code": "12", "name": "Noodles", "unitPrice": 1800}]; the first item with a code wins',
      }),
      currency: field((o) => Type.String({ ...o, pattern: '^[A-Z]{3}$' }), { default: 'USD', description: 'ISO 4217 currency of the prices (CNY, KRW, USD, ...)' }),
      shop: section('The shop as the delivery slip shows it', {
        name: field((o) => Type.String({ ...o, maxLength: 64 }), { default: '', description: 'Shop name on the slip; empty = device.name' }),
        phone: field((o) => Type.String({ ...o, maxLength: 32 }), { default: '', description: 'Shop phone number on the slip; empty = none' }),
        address: field((o) => Type.String({ ...o, maxLength: 200 }), { default: '', description: 'Shop address on the slip; empty = none' }),
      }),
    }),
    control: section('Local control socket used by the deskline CLI', {
      socket: field((o) => Type.String(o), {
        default: '',
        description: 'Unix socket path; empty = $RUNTIME_DIRECTORY/deskline.sock under systemd, else <data>/run/deskline.sock',
        restart: true,
      }),
    }),
  },
  { additionalProperties: false, description: 'Deskline configuration', default: {} },
);

export type Config = Static<typeof ConfigSchema>;

/** The published JSON Schema document. */
export function jsonSchema(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://deskline.invalid/schema/config.json',
    title: 'Deskline configuration',
    ...JSON.parse(JSON.stringify(ConfigSchema)),
  };
}

/**
 * A copy of `value` with every `x-secret` field replaced by '[secret]' (walks the schema and the value
 * together, through objects and arrays): for `config show`, logs and anything sent to a browser.
 */
export function redactSecrets<T>(value: T, schema: Record<string, unknown> = ConfigSchema as unknown as Record<string, unknown>): T {
  if (schema['x-secret'] === true) return (value === undefined || value === '' ? value : '[secret]') as T;
  if (Array.isArray(value)) {
    const items = schema.items as Record<string, unknown> | undefined;
    return (items ? value.map((v) => redactSecrets(v, items)) : value) as T;
  }
  const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
  if (value && typeof value === 'object' && properties) {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = properties[key] ? redactSecrets(v, properties[key]) : v;
    return out as T;
  }
  return value;
}

/** Dotted paths of fields that need a restart, and of secret fields (walks the schema; array items as `[]`). */
export function fieldsMarked(keyword: 'x-restart' | 'x-secret'): string[] {
  const found: string[] = [];
  const walk = (schema: Record<string, unknown>, path: string) => {
    if (schema[keyword] === true) found.push(path);
    const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
    if (properties) for (const [key, child] of Object.entries(properties)) walk(child, path ? `${path}.${key}` : key);
    const items = schema.items as Record<string, unknown> | undefined;
    if (items && typeof items === 'object') walk(items, `${path}[]`);
  };
  walk(ConfigSchema as unknown as Record<string, unknown>, '');
  return found;
}
