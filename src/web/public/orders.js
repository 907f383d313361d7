// The Orders panel (every board): the clerk picks items from the catalog, checks the customer's number (prefilled with
// the caller of the current or last call), adds a note and places the order, optionally printing its delivery slip.
// Talks to /api/orders (src/web/orders-api.ts). Everything from the server goes into the page as text, never HTML.

const MAX_QTY = 99;
const MAX_NOTE = 200;
const CALLER_POLL_MS = 3000;

const $ = (id) => document.getElementById(id);

let currency = 'XXX';
let digits = 2;
/** [{ code, name, unitPrice }] as the server sent it */
let catalog = [];
/** the number this panel last filled in from a call: replaced by the next caller unless the clerk changed it */
let prefilled = '';
let busy = false;

function formatPrice(minor) {
  const amount = minor / 10 ** digits;
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(amount);
  } catch {
    return `${amount.toFixed(digits)} ${currency}`;
  }
}

/** A quantity field's state: 0 (not ordered), a valid 1–99, or invalid (sent as typed; the server says why). */
function quantityOf(input) {
  const text = input.value.trim();
  if (input.validity.badInput) return { state: 'invalid', value: null };
  if (text === '') return { state: 'none', value: 0 };
  const value = Number(text);
  if (value === 0) return { state: 'none', value: 0 };
  return { state: Number.isInteger(value) && value >= 1 && value <= MAX_QTY ? 'ok' : 'invalid', value };
}

function rows() {
  return Array.from($('catalog-rows').querySelectorAll('tr[data-code]'));
}

function update() {
  let total = 0;
  let lines = 0;
  for (const row of rows()) {
    const input = row.querySelector('input');
    const { state, value } = quantityOf(input);
    const item = catalog.find((c) => c.code === row.dataset.code);
    row.dataset.qty = state;
    if (state === 'invalid') input.setAttribute('aria-invalid', 'true');
    else if (input.getAttribute('aria-invalid') === 'true' && input.dataset.serverError !== 'true') input.removeAttribute('aria-invalid');
    if (state === 'ok' && item) {
      total += value * item.unitPrice;
      lines += 1;
    }
  }
  $('order-total').textContent = lines === 0 ? '–' : `${formatPrice(total)} (${lines} ${lines === 1 ? 'item' : 'items'})`;
  $('order-total').dataset.minor = String(total);
  $('note-count').textContent = String($('order-note').value.length);
}

function renderCatalog(keep = new Map()) {
  const body = $('catalog-rows');
  body.replaceChildren();
  for (const item of catalog) {
    const row = document.createElement('tr');
    row.dataset.code = item.code;
    const cell = (text, className) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (className) td.className = className;
      return td;
    };
    const qty = document.createElement('td');
    qty.className = 'qty';
    const less = document.createElement('button');
    less.type = 'button';
    less.dataset.step = '-1';
    less.textContent = '−';
    less.setAttribute('aria-label', `One less ${item.name}`);
    const input = document.createElement('input');
    input.type = 'number';
    input.min = '0';
    input.max = String(MAX_QTY);
    input.step = '1';
    input.inputMode = 'numeric';
    input.value = keep.get(item.code) ?? '0';
    input.setAttribute('aria-label', `Quantity of ${item.name}`);
    const more = document.createElement('button');
    more.type = 'button';
    more.dataset.step = '1';
    more.textContent = '+';
    more.setAttribute('aria-label', `One more ${item.name}`);
    qty.append(less, input, more);
    row.append(cell(item.name, 'name'), cell(item.code, 'code'), cell(formatPrice(item.unitPrice), 'num price'), qty);
    body.append(row);
  }
  $('catalog-empty').hidden = catalog.length > 0;
  update();
}

async function loadCatalog() {
  const keep = new Map(rows().map((row) => [row.dataset.code, row.querySelector('input').value]));
  try {
    const res = await fetch('/api/orders/catalog', { cache: 'no-store' });
    const data = await res.json();
    if (!res.ok) throw new Error(data && data.message ? data.message : `HTTP ${res.status}`);
    currency = data.currency;
    digits = data.digits;
    catalog = data.items;
    $('orders-unavailable').hidden = true;
    $('order-form').hidden = false;
    renderCatalog(keep);
  } catch (error) {
    $('orders-unavailable').textContent = `Orders are not available: ${error.message}`;
    $('orders-unavailable').hidden = false;
    $('order-form').hidden = true;
  }
}

/** The customer of the current or last call: shown, and their number put in the form unless the clerk typed another. */
export function setCaller(caller) {
  const line = $('order-caller');
  const number = caller && caller.number ? caller.number : '';
  if (!caller) line.textContent = 'No call yet.';
  else line.textContent = `${caller.active ? 'On the line' : 'Last call'}: ${caller.name || 'unknown caller'} · ${caller.displayNumber || 'number not known'}`;
  line.dataset.callId = caller ? caller.callId : '';
  const field = $('order-number');
  if (field.value === prefilled || field.value.trim() === '') field.value = number;
  prefilled = number;
}

async function pollCaller() {
  try {
    const res = await fetch('/api/orders/caller', { cache: 'no-store' });
    if (res.ok) setCaller((await res.json()).caller);
  } catch {
    // the phone restarts: the next poll
  }
}

function clearErrors() {
  $('order-error').textContent = '';
  for (const el of $('order-form').querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    delete el.dataset.serverError;
  }
}

/** The server's answer to a bad order, next to the form; the field at fault marked. What the clerk typed stays. */
function showError(data, sent) {
  const field = data && typeof data.field === 'string' ? data.field : '';
  let message = data && typeof data.message === 'string' ? data.message : 'The order was not placed.';
  if (field && message.startsWith(`${field}: `)) message = message.slice(field.length + 2);
  $('order-error').textContent = `Not placed: ${message}`;
  $('order-error').dataset.code = data && typeof data.error === 'string' ? data.error : '';
  let target = null;
  const item = /^items\[(\d+)\]/.exec(field);
  if (item && sent[Number(item[1])]) target = rows().find((row) => row.dataset.code === sent[Number(item[1])].code)?.querySelector('input') ?? null;
  else if (field === 'number') target = $('order-number');
  else if (field === 'note') target = $('order-note');
  if (target) {
    target.setAttribute('aria-invalid', 'true');
    target.dataset.serverError = 'true';
    target.focus();
  }
  if (data && data.error === 'ORDER_UNKNOWN_ITEM') void loadCatalog(); // the catalog changed since the page loaded it
}

function showConfirmation(data, print) {
  const box = $('order-confirmation');
  const { order } = data;
  const lines = [`Order ${order.orderId.slice(0, 8)} placed: ${order.summary} ${order.currency}`];
  if (print) {
    lines.push(data.printError ? `The slip was not printed: ${data.printError.message}` : `Delivery slip printing (${data.jobIds.map((id) => `job ${id}`).join(', ')}).`);
  }
  box.replaceChildren(...lines.map((text) => {
    const p = document.createElement('p');
    p.textContent = text;
    return p;
  }));
  box.dataset.orderId = order.orderId;
  box.dataset.jobs = data.jobIds.join(' ');
  box.dataset.printed = String(print && !data.printError);
  box.hidden = false;
}

function resetForm() {
  for (const row of rows()) row.querySelector('input').value = '0';
  $('order-note').value = '';
  $('order-number').value = prefilled;
  clearErrors();
  update();
}

async function submit(print) {
  if (busy) return;
  clearErrors();
  update();
  const items = [];
  for (const row of rows()) {
    const input = row.querySelector('input');
    const { state, value } = quantityOf(input);
    if (state === 'invalid' && value === null) {
      input.setAttribute('aria-invalid', 'true');
      $('order-error').textContent = `Not placed: type the quantity of ${row.querySelector('.name').textContent} as a number from 1 to ${MAX_QTY}`;
      input.focus();
      return;
    }
    if (state !== 'none') items.push({ code: row.dataset.code, qty: value });
  }
  // people type numbers with spaces, dashes and brackets: the phone wants the digits
  const number = $('order-number').value.replace(/[\s().-]/g, '');
  const body = { number: number === '' ? null : number, items, note: $('order-note').value, print };
  busy = true;
  $('order-form').setAttribute('aria-busy', 'true');
  for (const button of $('order-form').querySelectorAll('button[type="submit"]')) button.disabled = true;
  try {
    const res = await fetch('/api/orders', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    let data = null;
    try {
      data = await res.json();
    } catch {
      // not JSON: the status says enough
    }
    if (res.status === 201 && data && data.order) {
      showConfirmation(data, print);
      resetForm();
    } else {
      showError(data || { message: `the phone answered HTTP ${res.status}` }, items);
    }
  } catch (error) {
    showError({ message: `the phone did not answer (${error.message})` }, items);
  } finally {
    busy = false;
    $('order-form').removeAttribute('aria-busy');
    for (const button of $('order-form').querySelectorAll('button[type="submit"]')) button.disabled = false;
  }
}

/** Sets the panel up; without the virtual phone's channel (real boards) the caller comes by polling. */
export function initOrders({ pushedCaller }) {
  const form = $('order-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit(event.submitter ? event.submitter.value === 'print' : false);
  });
  $('catalog-rows').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-step]');
    if (!button) return;
    const input = button.parentElement.querySelector('input');
    const { value } = quantityOf(input);
    const current = Number.isFinite(value) ? Math.trunc(value) : 0;
    input.value = String(Math.min(MAX_QTY, Math.max(0, current + Number(button.dataset.step))));
    delete input.dataset.serverError;
    input.removeAttribute('aria-invalid');
    update();
  });
  form.addEventListener('input', (event) => {
    if (event.target instanceof HTMLElement) {
      delete event.target.dataset.serverError;
      event.target.removeAttribute('aria-invalid');
    }
    update();
  });
  $('order-note').maxLength = MAX_NOTE;
  void loadCatalog();
  void pollCaller();
  if (!pushedCaller) setInterval(() => void pollCaller(), CALLER_POLL_MS);
}
