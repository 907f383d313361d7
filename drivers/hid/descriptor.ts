/**
 * HID report-descriptor parser.
 *
 * Spec: USB Device Class Definition for HID 1.11 (below "HID 1.11"), section 6.2.2 "Report
 * Descriptor" (items, 6.2.2.2–6.2.2.8) and section 8.4 / Appendix D (report layout); usage names
 * from the HID Usage Tables 1.12+.
 *
 * The parser is general (no offsets or devices are hard-coded): it walks the item stream, keeps
 * the global state (with the Push/Pop stack) and the local state (reset after every Main item),
 * and lays out every Input/Output/Feature item as a field of its report.
 *
 * Input is untrusted device data: the descriptor size and every count are bounded
 * (`HID_DESCRIPTOR_LIMITS`), and any malformed input (truncated item, unbalanced collection, Pop
 * without Push, ...) ends in a `HidDescriptorError`, never in another exception.
 */
import { DriverError } from '../common/errors.js';

/** Bounds applied to untrusted descriptors. */
export const HID_DESCRIPTOR_LIMITS = {
  /** Linux HID_MAX_DESCRIPTOR_SIZE; sysfs never gives more. */
  maxDescriptorBytes: 4096,
  /** Linux refuses Report Size > 256 bits (hid-core.c, "invalid report_size"). */
  maxReportSize: 256,
  /** Report Count per Main item (Linux allows up to HID_MAX_USAGES = 12288; no phone needs that). */
  maxReportCount: 4096,
  /** Data bytes of one report (without its ID byte). */
  maxReportBytes: 4096,
  /** Data bytes of all reports together: bounds the work done per descriptor. */
  maxTotalReportBytes: 16384,
  /** Collection nesting depth. */
  maxCollectionDepth: 32,
  /** Global item stack depth (Push). */
  maxGlobalStackDepth: 16,
  /** Usage / Usage Minimum–Maximum entries attached to one Main item. */
  maxUsagesPerItem: 1024,
} as const;

export type HidDescriptorErrorReason =
  | 'too-large'
  | 'truncated'
  | 'reserved-item'
  | 'bad-value'
  | 'limit'
  | 'unbalanced-collection'
  | 'stack-underflow'
  | 'unbalanced-delimiter'
  | 'mixed-report-ids';

/** A descriptor the parser refuses. `offset` is the byte offset of the offending item. */
export class HidDescriptorError extends DriverError {
  constructor(
    readonly reason: HidDescriptorErrorReason,
    readonly offset: number,
    message: string,
  ) {
    super('DRIVER_INVALID_ARGUMENT', `HID report descriptor: ${message} (byte ${offset})`);
    this.name = 'HidDescriptorError';
  }
}

/**
 * How a 1- or 2-byte Usage (no page of its own) gets its Usage Page.
 * - `'main'` (default): the Usage Page in effect when the Main item is processed. HID 1.11
 *   6.2.2.8 (Local Items, Usage remarks): "When the parser encounters a main item it concatenates
 *   the last declared Usage Page with a Usage to form a complete usage value." Windows follows
 *   this, and so does Linux since 5.3 (hid-core "move Usage Page concatenation to Main item").
 * - `'local'`: the Usage Page in effect when the Usage item itself was read (the reading of 6.2.2.7,
 *   "Any usage that follows is interpreted as a Usage ID and concatenated with the Usage Page",
 *   and of older Linux). Offered so devices written for that reading can be tested and, if needed,
 *   driven; both readings of any descriptor yield a valid parse.
 *
 * Extended (4-byte) usages carry their own page and are unaffected by either rule.
 */
export type UsagePageRule = 'main' | 'local';

export interface ParseOptions {
  usagePageRule?: UsagePageRule;
}

export type ReportKind = 'input' | 'output' | 'feature';

export interface Usage {
  page: number;
  id: number;
}

/** A run of usages on one page (a single Usage has min === max). */
export interface UsageSpan {
  page: number;
  min: number;
  max: number;
}

/** Main item data bits, HID 1.11 6.2.2.5 (Input, Output, and Feature Items). */
export interface MainItemFlags {
  /** bit 0: Data (0) | Constant (1) */
  constant: boolean;
  /** bit 1: Array (0) | Variable (1) */
  variable: boolean;
  /** bit 2: Absolute (0) | Relative (1) */
  relative: boolean;
  /** bit 3: No Wrap | Wrap */
  wrap: boolean;
  /** bit 4: Linear | Non Linear */
  nonLinear: boolean;
  /** bit 5: Preferred State | No Preferred */
  noPreferredState: boolean;
  /** bit 6: No Null position | Null state */
  nullState: boolean;
  /** bit 7: Non Volatile | Volatile (Output and Feature only; reserved for Input) */
  volatile: boolean;
  /** bit 8: Bit Field | Buffered Bytes */
  bufferedBytes: boolean;
  /** The raw data value of the Main item. */
  bits: number;
}

/** Collection types, HID 1.11 6.2.2.6 (Collection, End Collection Items). */
export type CollectionType = 'physical' | 'application' | 'logical' | 'report' | 'named-array' | 'usage-switch' | 'usage-modifier' | 'reserved' | 'vendor';

export interface HidCollection {
  type: CollectionType;
  /** The raw Collection item data (0x00–0xFF). */
  typeCode: number;
  /** The collection's usage (the first usage declared before it), if any. */
  usage: Usage | null;
  /** Index of the enclosing collection in `HidReportDescriptor.collections`, or null at top level. */
  parent: number | null;
  depth: number;
}

/** One Input/Output/Feature item laid out in its report. */
export interface HidField {
  kind: ReportKind;
  /** 0 when the device uses no report IDs. */
  reportId: number;
  /** Offset of the first element, in bits from the start of the report data (after the ID byte). */
  bitOffset: number;
  /** Report Size: bits per element. */
  size: number;
  /** Report Count: number of elements. */
  count: number;
  flags: MainItemFlags;
  /**
   * Usages in declaration order. Variable fields: element i has the i-th usage, and the last usage
   * repeats for any further elements (HID 1.11 6.2.2.8). Array fields: an element's value v
   * selects usage number v - logicalMinimum.
   */
  usages: readonly UsageSpan[];
  logicalMinimum: number;
  logicalMaximum: number;
  physicalMinimum: number;
  physicalMaximum: number;
  unitExponent: number;
  unit: number;
  /** Enclosing collections, outermost first (indices into `HidReportDescriptor.collections`). */
  collections: readonly number[];
}

export interface HidReport {
  kind: ReportKind;
  id: number;
  bitLength: number;
  /** Data bytes, without the report ID byte. */
  byteLength: number;
  /** Bytes on the wire (hidraw): `byteLength`, plus 1 for the ID byte when IDs are used. */
  wireLength: number;
  fields: readonly HidField[];
}

export interface HidReportDescriptor {
  /** True when a Report ID item appears: every report is then preceded by its ID byte (HID 1.11 6.2.2.7). */
  usesReportIds: boolean;
  usagePageRule: UsagePageRule;
  collections: readonly HidCollection[];
  reports: readonly HidReport[];
}

// Item prefix, HID 1.11 6.2.2.2 (Short Items): bSize in bits 0-1 (0, 1, 2 or 4 data bytes),
// bType in bits 2-3 (0 Main, 1 Global, 2 Local, 3 Reserved), bTag in bits 4-7.
const ITEM_TYPE_MAIN = 0;
const ITEM_TYPE_GLOBAL = 1;
const ITEM_TYPE_LOCAL = 2;
/** 6.2.2.3 Long Items: prefix 0xFE, then bDataSize, bLongItemTag, data. No long item tags are defined. */
const LONG_ITEM_PREFIX = 0xfe;
const DATA_SIZES = [0, 1, 2, 4] as const;

// Main item tags, 6.2.2.4
const MAIN_INPUT = 0x8;
const MAIN_OUTPUT = 0x9;
const MAIN_COLLECTION = 0xa;
const MAIN_FEATURE = 0xb;
const MAIN_END_COLLECTION = 0xc;

// Global item tags, 6.2.2.7
const GLOBAL_USAGE_PAGE = 0x0;
const GLOBAL_LOGICAL_MINIMUM = 0x1;
const GLOBAL_LOGICAL_MAXIMUM = 0x2;
const GLOBAL_PHYSICAL_MINIMUM = 0x3;
const GLOBAL_PHYSICAL_MAXIMUM = 0x4;
const GLOBAL_UNIT_EXPONENT = 0x5;
const GLOBAL_UNIT = 0x6;
const GLOBAL_REPORT_SIZE = 0x7;
const GLOBAL_REPORT_ID = 0x8;
const GLOBAL_REPORT_COUNT = 0x9;
const GLOBAL_PUSH = 0xa;
const GLOBAL_POP = 0xb;

// Local item tags, 6.2.2.8 (designator and string indexes are accepted and not kept)
const LOCAL_USAGE = 0x0;
const LOCAL_USAGE_MINIMUM = 0x1;
const LOCAL_USAGE_MAXIMUM = 0x2;
const LOCAL_DELIMITER = 0xa;

const COLLECTION_TYPES: Record<number, CollectionType> = {
  0x00: 'physical',
  0x01: 'application',
  0x02: 'logical',
  0x03: 'report',
  0x04: 'named-array',
  0x05: 'usage-switch',
  0x06: 'usage-modifier',
};

/** A numeric item value as read: both readings are kept until we know which applies. */
interface RawValue {
  unsigned: number;
  signed: number;
}

interface GlobalState {
  usagePage: number;
  logicalMinimum: number;
  logicalMaximum: RawValue;
  physicalMinimum: number;
  physicalMaximum: RawValue;
  unitExponent: number;
  unit: number;
  reportSize: number;
  reportId: number;
  reportCount: number;
}

/** A Usage, Usage Minimum or Usage Maximum as read, page not yet resolved. */
interface PendingUsage {
  value: number;
  /** A 4-byte item: the high 16 bits are the page ("extended usage", 6.2.2.8). */
  extended: boolean;
  /** The Usage Page in effect when the local item was read (for the 'local' rule). */
  pageAtItem: number;
}

type LocalEntry = { kind: 'usage'; usage: PendingUsage } | { kind: 'range'; min: PendingUsage; max: PendingUsage };

interface LocalState {
  entries: LocalEntry[];
  min: PendingUsage | null;
  max: PendingUsage | null;
  /** Delimiter open (6.2.2.8): only the first usage of a delimited set is kept. */
  inDelimiter: boolean;
  delimiterTaken: boolean;
}

const emptyLocal = (): LocalState => ({ entries: [], min: null, max: null, inDelimiter: false, delimiterTaken: false });

const emptyGlobal = (): GlobalState => ({
  usagePage: 0,
  logicalMinimum: 0,
  logicalMaximum: { unsigned: 0, signed: 0 },
  physicalMinimum: 0,
  physicalMaximum: { unsigned: 0, signed: 0 },
  unitExponent: 0,
  unit: 0,
  reportSize: 0,
  reportId: 0,
  reportCount: 0,
});

/** Unsigned little-endian item data (6.2.2.2: "data ... in little-endian format"). */
function readUnsigned(bytes: Uint8Array, at: number, size: number): number {
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + bytes[at + i];
  return value;
}

/** Two's complement of `size` bytes (Logical/Physical Minimum and Maximum are signed, 6.2.2.7). */
function toSigned(value: number, size: number): number {
  if (size === 0) return 0;
  const bits = size * 8;
  const half = 2 ** (bits - 1);
  return value >= half ? value - 2 ** bits : value;
}

/**
 * Logical/Physical Maximum: signed per spec, but many devices write e.g. `26 FF 00` or `25 FF`
 * meaning 255. As Linux does (hid-core.c), the maximum is read unsigned when the minimum is >= 0.
 */
function resolveMaximum(minimum: number, maximum: RawValue): number {
  return minimum < 0 ? maximum.signed : maximum.unsigned;
}

function decodeFlags(bits: number): MainItemFlags {
  return {
    constant: (bits & 0x001) !== 0,
    variable: (bits & 0x002) !== 0,
    relative: (bits & 0x004) !== 0,
    wrap: (bits & 0x008) !== 0,
    nonLinear: (bits & 0x010) !== 0,
    noPreferredState: (bits & 0x020) !== 0,
    nullState: (bits & 0x040) !== 0,
    volatile: (bits & 0x080) !== 0,
    bufferedBytes: (bits & 0x100) !== 0,
    bits,
  };
}

/**
 * Parse a report descriptor. Throws `HidDescriptorError` (a `DriverError`, code
 * `DRIVER_INVALID_ARGUMENT`) for anything malformed or beyond `HID_DESCRIPTOR_LIMITS`; never
 * anything else.
 */
export function parseReportDescriptor(bytes: Uint8Array, options: ParseOptions = {}): HidReportDescriptor {
  const rule: UsagePageRule = options.usagePageRule ?? 'main';
  const limits = HID_DESCRIPTOR_LIMITS;
  if (bytes.length > limits.maxDescriptorBytes) {
    throw new HidDescriptorError('too-large', 0, `${bytes.length} bytes exceeds ${limits.maxDescriptorBytes}`);
  }

  let global = emptyGlobal();
  const globalStack: GlobalState[] = [];
  let local = emptyLocal();
  const collections: HidCollection[] = [];
  const collectionStack: number[] = [];
  const reports = new Map<string, { kind: ReportKind; id: number; bits: number; fields: HidField[] }>();
  let totalBits = 0;
  let usesReportIds = false;
  let sawUnnumberedData = false;

  /** Resolve the page of a short usage according to the chosen rule (see `UsagePageRule`). */
  const resolve = (u: PendingUsage): Usage =>
    u.extended ? { page: Math.floor(u.value / 0x10000), id: u.value % 0x10000 } : { page: rule === 'main' ? global.usagePage : u.pageAtItem, id: u.value };

  const resolveUsages = (): UsageSpan[] => {
    const spans: UsageSpan[] = [];
    for (const entry of local.entries) {
      if (entry.kind === 'usage') {
        const u = resolve(entry.usage);
        spans.push({ page: u.page, min: u.id, max: u.id });
      } else {
        const min = resolve(entry.min);
        const max = resolve(entry.max);
        // A range must stay on one page and not run backwards; like Linux, a bad range adds no usages.
        if (min.page === max.page && min.id <= max.id) spans.push({ page: min.page, min: min.id, max: max.id });
      }
    }
    return spans;
  };

  const addLocal = (entry: LocalEntry, at: number): void => {
    if (local.inDelimiter) {
      // 6.2.2.8 Delimiter: alternative usages for one control; the first one is the preferred one.
      if (local.delimiterTaken) return;
      local.delimiterTaken = true;
    }
    if (local.entries.length >= limits.maxUsagesPerItem) {
      throw new HidDescriptorError('limit', at, `more than ${limits.maxUsagesPerItem} usages on one item`);
    }
    local.entries.push(entry);
  };

  let offset = 0;
  while (offset < bytes.length) {
    const at = offset;
    const prefix = bytes[at];

    if (prefix === LONG_ITEM_PREFIX) {
      // 6.2.2.3: no long item tags are defined; skip the item whole.
      if (at + 3 > bytes.length) throw new HidDescriptorError('truncated', at, 'long item header cut short');
      const dataSize = bytes[at + 1];
      if (at + 3 + dataSize > bytes.length) throw new HidDescriptorError('truncated', at, 'long item data cut short');
      offset = at + 3 + dataSize;
      continue;
    }

    const size = DATA_SIZES[prefix & 0x03];
    const type = (prefix >> 2) & 0x03;
    const tag = prefix >> 4;
    if (at + 1 + size > bytes.length) throw new HidDescriptorError('truncated', at, `item 0x${prefix.toString(16)} needs ${size} data bytes`);
    const data = readUnsigned(bytes, at + 1, size);
    offset = at + 1 + size;

    if (type === ITEM_TYPE_MAIN) {
      if (local.inDelimiter) throw new HidDescriptorError('unbalanced-delimiter', at, 'main item inside an open delimiter set');
      switch (tag) {
        case MAIN_INPUT:
        case MAIN_OUTPUT:
        case MAIN_FEATURE: {
          const kind: ReportKind = tag === MAIN_INPUT ? 'input' : tag === MAIN_OUTPUT ? 'output' : 'feature';
          const bits = global.reportSize * global.reportCount;
          if (bits > 0) {
            if (global.reportId === 0) sawUnnumberedData = true;
            if (usesReportIds && sawUnnumberedData) {
              // 6.2.2.7 Report ID: "If a Report ID tag is used anywhere in Report descriptor, all data
              // reports for the device are preceded by a single byte ID field."
              throw new HidDescriptorError('mixed-report-ids', at, 'data item without a report ID in a descriptor that uses report IDs');
            }
            const key = `${kind}:${global.reportId}`;
            let report = reports.get(key);
            if (!report) {
              report = { kind, id: global.reportId, bits: 0, fields: [] };
              reports.set(key, report);
            }
            if (report.bits + bits > limits.maxReportBytes * 8) {
              throw new HidDescriptorError('limit', at, `${kind} report ${global.reportId} longer than ${limits.maxReportBytes} bytes`);
            }
            totalBits += bits;
            if (totalBits > limits.maxTotalReportBytes * 8) {
              throw new HidDescriptorError('limit', at, `reports longer than ${limits.maxTotalReportBytes} bytes in all`);
            }
            const logicalMaximum = resolveMaximum(global.logicalMinimum, global.logicalMaximum);
            report.fields.push({
              kind,
              reportId: global.reportId,
              bitOffset: report.bits,
              size: global.reportSize,
              count: global.reportCount,
              flags: decodeFlags(data),
              usages: resolveUsages(),
              logicalMinimum: global.logicalMinimum,
              logicalMaximum,
              physicalMinimum: global.physicalMinimum,
              physicalMaximum: resolveMaximum(global.physicalMinimum, global.physicalMaximum),
              unitExponent: global.unitExponent,
              unit: global.unit,
              collections: [...collectionStack],
            });
            report.bits += bits;
          }
          break;
        }
        case MAIN_COLLECTION: {
          if (collectionStack.length >= limits.maxCollectionDepth) {
            throw new HidDescriptorError('limit', at, `collections nested deeper than ${limits.maxCollectionDepth}`);
          }
          const typeCode = data & 0xff;
          const spans = resolveUsages();
          collections.push({
            type: COLLECTION_TYPES[typeCode] ?? (typeCode >= 0x80 ? 'vendor' : 'reserved'),
            typeCode,
            // The collection's usage is the usage declared before the Collection item (6.2.2.6).
            usage: spans.length > 0 ? { page: spans[0].page, id: spans[0].min } : null,
            parent: collectionStack.length > 0 ? collectionStack[collectionStack.length - 1] : null,
            depth: collectionStack.length,
          });
          collectionStack.push(collections.length - 1);
          break;
        }
        case MAIN_END_COLLECTION:
          if (collectionStack.length === 0) throw new HidDescriptorError('unbalanced-collection', at, 'End Collection without Collection');
          collectionStack.pop();
          break;
        default:
          // Reserved main tags: skipped, as Linux does; the locals still end here.
          break;
      }
      // 6.2.2.8: "Local items only describe the data fields defined by the next Main item."
      local = emptyLocal();
    } else if (type === ITEM_TYPE_GLOBAL) {
      switch (tag) {
        case GLOBAL_USAGE_PAGE:
          if (data > 0xffff) throw new HidDescriptorError('bad-value', at, `usage page 0x${data.toString(16)} wider than 16 bits`);
          global.usagePage = data;
          break;
        case GLOBAL_LOGICAL_MINIMUM:
          global.logicalMinimum = toSigned(data, size);
          break;
        case GLOBAL_LOGICAL_MAXIMUM:
          global.logicalMaximum = { unsigned: data, signed: toSigned(data, size) };
          break;
        case GLOBAL_PHYSICAL_MINIMUM:
          global.physicalMinimum = toSigned(data, size);
          break;
        case GLOBAL_PHYSICAL_MAXIMUM:
          global.physicalMaximum = { unsigned: data, signed: toSigned(data, size) };
          break;
        case GLOBAL_UNIT_EXPONENT:
          // Written as a 4-bit two's complement nibble in practice (HID 1.11 6.2.2.7 table, Linux hid-core).
          global.unitExponent = data <= 0x0f ? (data >= 8 ? data - 16 : data) : toSigned(data, size);
          break;
        case GLOBAL_UNIT:
          global.unit = data;
          break;
        case GLOBAL_REPORT_SIZE:
          if (data > limits.maxReportSize) throw new HidDescriptorError('limit', at, `report size ${data} > ${limits.maxReportSize}`);
          global.reportSize = data;
          break;
        case GLOBAL_REPORT_ID:
          // 6.2.2.7: Report ID zero is reserved; IDs are one byte on the wire.
          if (data === 0 || data > 0xff) throw new HidDescriptorError('bad-value', at, `report ID ${data} outside 1..255`);
          if (sawUnnumberedData) throw new HidDescriptorError('mixed-report-ids', at, 'report ID after data items without one');
          usesReportIds = true;
          global.reportId = data;
          break;
        case GLOBAL_REPORT_COUNT:
          if (data > limits.maxReportCount) throw new HidDescriptorError('limit', at, `report count ${data} > ${limits.maxReportCount}`);
          global.reportCount = data;
          break;
        case GLOBAL_PUSH:
          // "Places a copy of the global item state table on the stack."
          if (globalStack.length >= limits.maxGlobalStackDepth) throw new HidDescriptorError('limit', at, `global stack deeper than ${limits.maxGlobalStackDepth}`);
          globalStack.push({ ...global });
          break;
        case GLOBAL_POP: {
          // "Replaces the item state table with the top structure from the stack."
          const top = globalStack.pop();
          if (!top) throw new HidDescriptorError('stack-underflow', at, 'Pop without Push');
          global = top;
          break;
        }
        default:
          // Reserved global tags: skipped.
          break;
      }
    } else if (type === ITEM_TYPE_LOCAL) {
      // 6.2.2.8: "If the bSize field = 3 then the item is interpreted as a 32 bit unsigned value where
      // the high order 16 bits defines the Usage Page and the low order 16 bits defines the Usage ID."
      // (bSize = 3 means four data bytes.)
      const pending: PendingUsage = { value: data, extended: size === 4, pageAtItem: global.usagePage };
      switch (tag) {
        case LOCAL_USAGE:
          addLocal({ kind: 'usage', usage: pending }, at);
          break;
        case LOCAL_USAGE_MINIMUM:
        case LOCAL_USAGE_MAXIMUM:
          if (tag === LOCAL_USAGE_MINIMUM) local.min = pending;
          else local.max = pending;
          // Minimum and Maximum pair up in either order; a lone one adds nothing.
          if (local.min && local.max) {
            addLocal({ kind: 'range', min: local.min, max: local.max }, at);
            local.min = null;
            local.max = null;
          }
          break;
        case LOCAL_DELIMITER:
          // 6.2.2.8: Delimiter 1 opens a set, 0 closes it; sets do not nest.
          if (data === 1) {
            if (local.inDelimiter) throw new HidDescriptorError('unbalanced-delimiter', at, 'nested delimiter set');
            local.inDelimiter = true;
            local.delimiterTaken = false;
          } else if (data === 0) {
            if (!local.inDelimiter) throw new HidDescriptorError('unbalanced-delimiter', at, 'delimiter close without open');
            local.inDelimiter = false;
          } else {
            throw new HidDescriptorError('bad-value', at, `delimiter value ${data}`);
          }
          break;
        default:
          // Designator and string indexes and reserved tags carry nothing the drivers use.
          break;
      }
    } else {
      // bType 3 is reserved for short items (only the 0xFE long item prefix uses it).
      throw new HidDescriptorError('reserved-item', at, `reserved item type in prefix 0x${prefix.toString(16)}`);
    }
  }

  if (collectionStack.length > 0) throw new HidDescriptorError('unbalanced-collection', bytes.length, `${collectionStack.length} collection(s) not closed`);
  if (local.inDelimiter) throw new HidDescriptorError('unbalanced-delimiter', bytes.length, 'delimiter set not closed');

  const laidOut: HidReport[] = [...reports.values()].map((r) => {
    const byteLength = Math.ceil(r.bits / 8);
    return { kind: r.kind, id: r.id, bitLength: r.bits, byteLength, wireLength: byteLength + (usesReportIds ? 1 : 0), fields: r.fields };
  });
  return { usesReportIds, usagePageRule: rule, collections, reports: laidOut };
}

/** The report of a kind and ID (0 when the device uses no IDs). */
export function findReport(descriptor: HidReportDescriptor, kind: ReportKind, id: number): HidReport | undefined {
  return descriptor.reports.find((r) => r.kind === kind && r.id === id);
}

/** Number of usages a field lists (ranges expanded). */
export function usageCount(field: HidField): number {
  let n = 0;
  for (const span of field.usages) n += span.max - span.min + 1;
  return n;
}

/** The index-th usage of a field's usage list (ranges expanded), or undefined past its end. */
export function usageAt(field: HidField, index: number): Usage | undefined {
  if (!Number.isInteger(index) || index < 0) return undefined;
  let rest = index;
  for (const span of field.usages) {
    const n = span.max - span.min + 1;
    if (rest < n) return { page: span.page, id: span.min + rest };
    rest -= n;
  }
  return undefined;
}

/**
 * The usage of element `element` of a Variable field: HID 1.11 6.2.2.8, "if an Input item defining
 * five controls is preceded by three Usage tags, the three usages would be assigned sequentially to
 * the first three controls, and the third usage would also be assigned to the fourth and fifth".
 */
export function variableUsage(field: HidField, element: number): Usage | undefined {
  const n = usageCount(field);
  if (n === 0) return undefined;
  return usageAt(field, Math.min(element, n - 1));
}

/** Whether any of the field's usages is on `page` with an id in [min, max]. */
export function fieldHasUsage(field: HidField, page: number, min: number, max = min): boolean {
  return field.usages.some((s) => s.page === page && s.min <= max && s.max >= min);
}

/**
 * Bits are numbered little-endian across the report (HID 1.11 8.4 / Appendix D): bit n is bit
 * (n mod 8) of byte floor(n / 8), and a multi-bit value has its least significant bit first.
 * Sizes up to 32 bits; the caller checks the range lies inside `data`.
 */
export function readBits(data: Uint8Array, bitOffset: number, size: number): number {
  let value = 0;
  for (let i = size - 1; i >= 0; i--) {
    const bit = bitOffset + i;
    value = value * 2 + ((data[bit >> 3] >> (bit & 7)) & 1);
  }
  return value;
}

/** Write the low `size` bits of `value` (two's complement for negatives) at `bitOffset`, LSB first. */
export function writeBits(data: Uint8Array, bitOffset: number, size: number, value: number): void {
  let v = value < 0 ? value + 2 ** size : value;
  for (let i = 0; i < size; i++) {
    const bit = bitOffset + i;
    const mask = 1 << (bit & 7);
    if (v % 2 === 1) data[bit >> 3] |= mask;
    else data[bit >> 3] &= ~mask & 0xff;
    v = Math.floor(v / 2);
  }
}

/**
 * Element `element` of a field read from report data (without the ID byte); signed when the
 * logical minimum is negative. Undefined when the element lies beyond `data` or is wider than 32 bits.
 */
export function readElement(data: Uint8Array, field: HidField, element: number): number | undefined {
  if (field.size > 32 || element < 0 || element >= field.count) return undefined;
  const bitOffset = field.bitOffset + element * field.size;
  if (bitOffset + field.size > data.length * 8) return undefined;
  const raw = readBits(data, bitOffset, field.size);
  if (field.logicalMinimum < 0 && raw >= 2 ** (field.size - 1)) return raw - 2 ** field.size;
  return raw;
}
