// The web UI: on the sim board the virtual phone (draws the phone's framebuffer and drives the sim board over /sim);
// on every board the Orders panel (orders.js).
import { initOrders, setCaller } from './orders.js';

const canvas = document.getElementById('display');
const ctx = canvas.getContext('2d');
const LCD_ON = [32, 40, 24];
const LCD_OFF = [183, 200, 160];
let width = canvas.width;
let height = canvas.height;
let image = ctx.createImageData(width, height);
let socket = null;
let offHook = false;

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

/** Paint a 1-bit region (rows padded to bytes, MSB first) into the canvas. */
function paint({ x, y, width: w, height: h, bits }) {
  const bytes = Uint8Array.from(atob(bits), (c) => c.charCodeAt(0));
  const stride = Math.ceil(w / 8);
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      const on = (bytes[row * stride + (col >> 3)] & (0x80 >> (col & 7))) !== 0;
      const offset = ((y + row) * width + (x + col)) * 4;
      const [r, g, b] = on ? LCD_ON : LCD_OFF;
      image.data[offset] = r; image.data[offset + 1] = g; image.data[offset + 2] = b; image.data[offset + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
}

function setHook(value) {
  offHook = value;
  const button = document.getElementById('hook');
  button.setAttribute('aria-pressed', String(value));
  button.textContent = value ? 'Hang up (replace handset)' : 'Lift handset';
}

/** The screen pop of the ringing call, as text (never HTML: it comes from contact data). */
function showCustomer(pop) {
  const card = document.getElementById('customer-card');
  const set = (field, text) => { card.querySelector(`[data-field="${field}"]`).textContent = text || '–'; };
  const when = (at) => (at ? new Date(at).toLocaleDateString() : 'date unknown');
  set('name', pop.contact ? pop.contact.name : 'Unknown caller');
  set('company', pop.contact ? [pop.contact.company, pop.contact.tag].filter(Boolean).join(' · ') : '');
  set('number', pop.displayNumber);
  set('history', pop.interactionCount === 0 ? 'first contact' : `${pop.interactionCount} before; ${pop.recent.map((r) => `${when(r.at)} ${r.summary}`).join('; ')}`);
  set('order', pop.lastOrder ? `${when(pop.lastOrder.at)} ${pop.lastOrder.summary}` : '');
  set('items', pop.openItems.join('; '));
  set('note', pop.contact ? pop.contact.note : '');
  card.hidden = false;
  document.getElementById('customer-empty').hidden = true;
}

const MAX_SLIPS = 20;
const TEMPLATE_NAMES = { order: 'Order slip', 'customer-card': 'Customer card', 'call-list': 'Call list', 'day-summary': 'Day summary' };

/**
 * A printed slip on the paper strip, newest first. The SVG comes from the virtual printer's renderer (all text
 * XML-escaped) and is shown as an image, which runs no script and loads nothing; the text goes in as text only.
 */
function addSlip(slip) {
  const list = document.getElementById('slips');
  const item = document.createElement('li');
  item.className = 'slip';
  item.dataset.job = slip.job;
  item.dataset.qr = String(slip.qr);
  const caption = document.createElement('p');
  caption.className = 'slip-caption';
  caption.textContent = `${TEMPLATE_NAMES[slip.template] || slip.template} · job ${slip.job}${slip.part > 1 ? ` (copy ${slip.part})` : ''}`;
  item.append(caption);
  if (slip.svg !== null) {
    const img = document.createElement('img');
    img.className = 'slip-image';
    img.alt = slip.text;
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(slip.svg)}`;
    item.append(img);
  }
  const details = document.createElement('details');
  details.className = 'slip-text';
  details.open = slip.svg === null;
  const summary = document.createElement('summary');
  summary.textContent = 'As text';
  const pre = document.createElement('pre');
  pre.textContent = slip.text;
  details.append(summary, pre);
  item.append(details);
  list.prepend(item);
  while (list.children.length > MAX_SLIPS) list.lastElementChild.remove();
  document.getElementById('paper-empty').hidden = true;
}

function showPrinter(printer) {
  const el = document.getElementById('printer-status');
  el.dataset.state = printer.state;
  el.dataset.queued = String(printer.queued);
  el.textContent = printer.label;
}

/** The sim board's scanner and pole display boxes are shown when the board has them. */
function showPos(pos) {
  document.getElementById('scanner-box').hidden = !(pos && pos.scanner);
  document.getElementById('pole-box').hidden = !(pos && pos.poleDisplay);
  if (pos && pos.poleDisplay) {
    const blank = ' '.repeat(pos.poleDisplay.columns);
    showPole({ rows: Array.from({ length: pos.poleDisplay.rows }, () => blank), connected: true });
  }
}

/** What the customer pole display shows: one row of text per line (as text, never HTML). */
function showPole({ rows, connected }) {
  const box = document.getElementById('pole');
  const lines = rows.map((row) => {
    const line = document.createElement('div');
    line.className = 'vfd-row';
    line.textContent = row;
    return line;
  });
  box.replaceChildren(...lines);
  box.dataset.text = rows.join('\n');
  box.dataset.connected = String(connected);
  box.setAttribute('aria-label', connected ? `Pole display: ${rows.map((r) => r.trim()).filter(Boolean).join(' / ') || 'blank'}` : 'Pole display: not connected');
  document.getElementById('pole-unplugged').hidden = connected;
}

function handle(message) {
  switch (message.type) {
    case 'hello':
      width = canvas.width = message.display.width;
      height = canvas.height = message.display.height;
      image = ctx.createImageData(width, height);
      showPos(message.pos);
      break;
    case 'frame': paint(message); break;
    case 'text':
      canvas.setAttribute('aria-label', message.rows.filter(Boolean).join('\n'));
      canvas.dataset.text = message.rows.join('\n');
      break;
    case 'ringer': {
      const el = document.getElementById('ringer');
      const ringing = message.cadence !== null;
      el.dataset.ringing = String(ringing);
      el.setAttribute('aria-label', ringing ? `Ringer on (cadence ${message.cadence.join('/')} ms)` : 'Ringer off');
      break;
    }
    case 'led': {
      const el = document.querySelector(`.led[data-led="${message.led}"]`);
      if (el) el.dataset.state = typeof message.state === 'string' ? message.state : 'blink';
      break;
    }
    case 'hook': setHook(message.offHook); break;
    case 'phone': document.getElementById('phone-state').textContent = message.state; break;
    case 'screenPop': showCustomer(message.pop); break;
    case 'caller': setCaller(message.caller); break;
    case 'slip': addSlip(message); break;
    case 'printer': showPrinter(message); break;
    case 'pole': showPole(message); break;
    case 'error': document.getElementById('error').textContent = message.message; break;
  }
}

function connect() {
  const status = document.getElementById('connection');
  socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sim`);
  socket.addEventListener('open', () => {
    status.textContent = 'connected';
    document.body.dataset.connected = 'true';
    document.getElementById('slips').replaceChildren(); // the service sends its recent slips again
  });
  socket.addEventListener('message', (event) => handle(JSON.parse(event.data)));
  socket.addEventListener('close', () => {
    status.textContent = 'disconnected – retrying…';
    document.body.dataset.connected = 'false';
    setTimeout(connect, 1000);
  });
}

document.querySelectorAll('[data-key]').forEach((button) => {
  button.addEventListener('click', () => send({ type: 'key', key: button.dataset.key }));
});
document.getElementById('hook').addEventListener('click', () => send({ type: 'hook', offHook: !offHook }));
document.getElementById('incoming').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  document.getElementById('error').textContent = '';
  send({ type: 'incomingCall', number: String(form.get('number')), name: String(form.get('name') || '') || null, line: String(form.get('line') || 'sim') });
});
document.getElementById('remote-hangup').addEventListener('click', () => send({ type: 'remoteHangup' }));
// the scanner box: Scan (or Enter in the field) is the scanner reading the code; the code stays for the next scan
document.getElementById('scanner').addEventListener('submit', (event) => {
  event.preventDefault();
  const field = document.getElementById('scan-code');
  document.getElementById('error').textContent = '';
  send({ type: 'scan', code: field.value });
  field.select();
});
const KEYS = '0123456789*#';
document.addEventListener('keydown', (event) => {
  // typing in a form (the incoming-call form, the Orders panel) is not pressing the phone's keys
  if (event.target instanceof Element && event.target.closest('input, textarea, select, #orders')) return;
  if (KEYS.includes(event.key)) send({ type: 'key', key: event.key });
  else if (event.key === 'Backspace') send({ type: 'key', key: 'backspace' });
  else if (event.key === 'Enter') send({ type: 'key', key: 'ok' });
  else if (event.key === 'Escape') send({ type: 'key', key: 'cancel' });
});

/** The virtual phone exists on the sim board only; elsewhere the page is the Orders panel. */
async function boot() {
  let status;
  try {
    const res = await fetch('/api/status', { cache: 'no-store' });
    status = await res.json();
  } catch {
    setTimeout(boot, 1000); // the phone is starting
    return;
  }
  document.body.dataset.virtualPhone = String(status.virtualPhone === true);
  initOrders({ pushedCaller: status.virtualPhone === true });
  if (status.virtualPhone === true) connect();
}
void boot();
