import { EventEmitter } from 'node:events';
import type { HidBackend, HidBackendDevice, HidHandle } from '../../drivers/hid/backend.js';

const fromHex = (text: string): Uint8Array => Uint8Array.from(text.trim().split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16)));
const toHex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');

/** An open fake HID device: the test pushes input reports (hex or bytes) and sees the output reports written. */
export class FakeHidHandle extends EventEmitter implements HidHandle {
  readonly writes: string[] = [];
  closed = false;
  failWrites = false;

  async write(bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('write on a closed device');
    if (this.failWrites) throw new Error('EPIPE');
    this.writes.push(toHex(bytes));
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  report(bytes: string | Uint8Array): void {
    this.emit('data', typeof bytes === 'string' ? fromHex(bytes) : bytes);
  }
  reports(list: readonly string[]): void {
    for (const bytes of list) this.report(bytes);
  }
}

/** The hidraw byte-source seam: a device list, a report descriptor per path, and the handles the driver opened. */
export class FakeHidBackend implements HidBackend {
  listed: HidBackendDevice[] = [];
  readonly descriptors = new Map<string, Uint8Array>();
  /** every handle opened, oldest first */
  readonly opened: Array<{ path: string; handle: FakeHidHandle }> = [];
  /** the paths whose descriptor was read, in order */
  readonly descriptorReads: string[] = [];
  failList = false;
  failOpen = false;

  /** A device appears: one list entry per top-level collection, sharing one path and descriptor. */
  plug(device: HidBackendDevice | HidBackendDevice[], descriptor: Uint8Array): void {
    const entries = Array.isArray(device) ? device : [device];
    this.listed.push(...entries);
    this.descriptors.set(entries[0].path, descriptor);
  }
  unplug(path: string): void {
    this.listed = this.listed.filter((d) => d.path !== path);
  }
  async list(): Promise<HidBackendDevice[]> {
    if (this.failList) throw new Error('udev went away');
    return this.listed.map((d) => ({ ...d }));
  }
  async readReportDescriptor(path: string): Promise<Uint8Array> {
    this.descriptorReads.push(path);
    const bytes = this.descriptors.get(path);
    if (!bytes) throw new Error(`ENOENT ${path}`);
    return bytes;
  }
  async open(path: string): Promise<HidHandle> {
    if (this.failOpen) throw new Error('EACCES');
    if (!this.descriptors.has(path)) throw new Error(`ENODEV ${path}`);
    const handle = new FakeHidHandle();
    this.opened.push({ path, handle });
    return handle;
  }
  /** The handles opened so far. */
  get handles(): FakeHidHandle[] {
    return this.opened.map((o) => o.handle);
  }
  /** The last handle opened (on `path`, when given). */
  lastHandle(path?: string): FakeHidHandle {
    const handle = this.opened.filter((o) => path === undefined || o.path === path).at(-1)?.handle;
    if (!handle) throw new Error(`${path ?? 'nothing'} was not opened`);
    return handle;
  }
}
