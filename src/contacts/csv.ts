import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse, type CsvError, type Options as ParseOptions } from 'csv-parse';
import { stringify } from 'csv-stringify';
import { DesklineError } from '../core/errors.js';
import { classifyColumn, dueColumn, phoneColumn, type ColumnRole } from './columns.js';
import { CONTACT_LIMITS, dateProblem, isCalendarDate } from './model.js';
import type { ContactsRepository, ImportOutcome } from './repository.js';
import { DUE_KINDS, type Contact, type ContactDueInput, type ContactIssue, type ContactPatch, type DuplicatePolicy } from './types.js';

/**
 * Contacts as CSV, the way shops keep them in a spreadsheet: a header row, then one contact per row.
 * Columns: name, company, phone (phone2.., mobile, work, home, 'phone (label)'; a cell may hold several
 * numbers separated by ';'), email, address, tags (';'-separated), notes, renewal_due / appointment_due /
 * payment_due (YYYY-MM-DD, optionally followed by a note; several separated by ';'); any other column is a
 * custom field. Export writes the same columns (UTF-8 with a BOM, for Excel), so a file exported and imported
 * again gives the same contacts (numbers come back grouped by column).
 */

export const MAX_CSV_BYTES = 20 * 1024 * 1024;
/**
 * Rows written to the store together. Contacts are spread over the shards by id, so a batch rewrites nearly
 * every shard: fewer, bigger batches write far less (5,000 rows are a few megabytes in memory).
 */
const BATCH_ROWS = 5000;
/** Errors listed one by one; the rest are counted in a last one. */
const MAX_LISTED_ERRORS = 500;
/** A record longer than this is a runaway quote, not a contact. */
const MAX_RECORD_BYTES = 128 * 1024;
const SEPARATOR = ';';

export interface CsvImportOptions {
  /** a row whose number belongs to an existing contact: merge into it (default), skip it, or create another */
  onDuplicate?: DuplicatePolicy;
  maxBytes?: number;
}

/** A problem with one row: its line in the file (a header problem is line 1), the column, what to do. */
export interface CsvRowError {
  row: number;
  column: string | null;
  message: string;
}

export interface CsvImportResult {
  created: number;
  updated: number;
  /** rows matching a contact that already said the same */
  unchanged: number;
  /** rows not imported: bad ones (see errors) and, with onDuplicate 'skip', those matching a contact */
  skipped: number;
  errors: CsvRowError[];
}

interface Column {
  header: string;
  role: ColumnRole | null;
}

/** A record's cells and the line it starts on. */
interface RecordAt {
  cells: string[];
  line: number;
}

interface ParsedRow {
  line: number;
  input: ContactPatch;
  /** the column each entry of input.numbers / input.due came from */
  numberColumns: string[];
  dueColumns: string[];
}

/** A spreadsheet runs a cell starting with one of these as a formula: export prefixes it with ', import removes that. */
const FORMULA_START = /^[=+\-@\t\r]/;

function fromCell(cell: string): string {
  const text = cell.trim();
  return text.startsWith("'") && FORMULA_START.test(text.slice(1)) ? text.slice(1) : text;
}

function toCell(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** Line breaks in a record's raw text (CRLF, LF or CR), so errors name the line a spreadsheet shows. */
class LineCounter {
  #next = 1;
  #endedWithCr = false;

  /** The first line of a record whose raw text is `raw`. */
  advance(raw: string | undefined): number {
    const start = this.#next;
    const text = raw ?? '';
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === '\r') {
        this.#next++;
        if (text[i + 1] === '\n') i++;
      } else if (c === '\n' && !(i === 0 && this.#endedWithCr)) this.#next++;
    }
    if (text.length > 0) this.#endedWithCr = text.endsWith('\r');
    return start;
  }
}

function byteLimit(maxBytes: number, onExceeded: () => Error): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer | string, _encoding, callback) {
      bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      if (bytes > maxBytes) callback(onExceeded());
      else callback(null, chunk);
    },
  });
}

function tooLarge(maxBytes: number, what: string): DesklineError {
  return new DesklineError('CONTACT_IMPORT_TOO_LARGE', `${what} is larger than ${Math.round(maxBytes / 1024 / 1024)} MB; split it into smaller files and import them one by one`);
}

/**
 * Import contacts from CSV text or a stream. Bad rows are reported (line, column, what to do) and skipped;
 * good rows are imported in batches. Throws CONTACT_IMPORT_TOO_LARGE for input over `maxBytes` (a stream
 * is only known to be too large once read that far: rows before were imported, the error's details say how many).
 */
export async function importContactsCsv(repository: ContactsRepository, source: string | Readable, options: CsvImportOptions = {}): Promise<CsvImportResult> {
  const result: CsvImportResult = { created: 0, updated: 0, unchanged: 0, skipped: 0, errors: [] };
  let batch: ParsedRow[] = [];
  let header: Column[] = [];
  const errors = new ErrorList();
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    const outcomes = await repository.importMany(rows.map((r) => r.input), options.onDuplicate ?? 'merge');
    outcomes.forEach((outcome, i) => count(outcome, rows[i], header, result, errors.report));
  };
  try {
    await scanContactsCsv(source, options.maxBytes ?? MAX_CSV_BYTES, errors.report, () => result.skipped++, async (row, columns) => {
      header = columns;
      batch.push(row);
      if (batch.length >= BATCH_ROWS) await flush();
    });
    await flush();
  } catch (error) {
    if (error instanceof DesklineError && error.code === 'CONTACT_IMPORT_TOO_LARGE') {
      throw new DesklineError(error.code, `${error.message} (${result.created} contacts were created and ${result.updated} updated before the limit)`, { details: result });
    }
    throw error;
  }
  result.errors = errors.sorted();
  return result;
}

/** Errors of a CSV file: the first MAX_LISTED_ERRORS listed, the rest counted in a last one. */
class ErrorList {
  readonly #errors: CsvRowError[] = [];
  #unlisted = 0;
  #lastRow = 1;
  readonly report = (error: CsvRowError) => {
    this.#lastRow = Math.max(this.#lastRow, error.row);
    if (this.#errors.length < MAX_LISTED_ERRORS) this.#errors.push(error);
    else this.#unlisted++;
  };
  sorted(): CsvRowError[] {
    const errors = [...this.#errors].sort((a, b) => a.row - b.row);
    if (this.#unlisted > 0) errors.push({ row: this.#lastRow, column: null, message: `${this.#unlisted} more problems are not listed; fix the ones above and import the file again` });
    return errors;
  }
}

/** One row of a contacts CSV file as a contact input, with the line it starts on. */
export interface CsvContactRow {
  line: number;
  input: ContactPatch;
}

/**
 * Read a contacts CSV file (the columns importContactsCsv reads) into contact inputs without importing them:
 * for the cloud side (`deskline admin contacts push`). Row problems are reported as by import; the inputs are
 * checked by the contact rules only when used (parseContactInput).
 */
export async function readContactsCsv(source: string | Readable, options: { maxBytes?: number } = {}): Promise<{ rows: CsvContactRow[]; errors: CsvRowError[] }> {
  const rows: CsvContactRow[] = [];
  const errors = new ErrorList();
  await scanContactsCsv(source, options.maxBytes ?? MAX_CSV_BYTES, errors.report, () => undefined, (row) => {
    rows.push({ line: row.line, input: row.input });
  });
  return { rows, errors: errors.sorted() };
}

/** The parsing shared by import and read: header, rows, problems (reported), rows that could not be read (skip). */
async function scanContactsCsv(
  source: string | Readable,
  maxBytes: number,
  report: (error: CsvRowError) => void,
  skip: () => void,
  onRow: (row: ParsedRow, columns: Column[]) => Promise<void> | void,
): Promise<void> {
  if (typeof source === 'string' && Buffer.byteLength(source) > maxBytes) throw tooLarge(maxBytes, 'the CSV text');
  const lines = new LineCounter();
  // with `raw`, on_record gets the cells with the record's raw text
  const parseOptions: ParseOptions<RecordAt, { record: string[]; raw: string }> = {
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_BYTES,
    raw: true,
    on_record: ({ record, raw }) => ({ cells: record, line: lines.advance(raw) }),
    on_skip: (error: CsvError | undefined, raw: string | undefined) => {
      const line = lines.advance(raw);
      skip();
      report({
        row: line,
        column: null,
        message: error?.code === 'CSV_QUOTE_NOT_CLOSED'
          ? 'a quote (") opened in this row is never closed, so the rest of the file could not be read; close the quote or remove it'
          : `this row could not be read as CSV (${error?.message ?? 'unknown problem'}); check its quotes and separators`,
      });
      return undefined;
    },
  };
  // on_record turns the cells into a RecordAt, which the non-generic overload cannot express
  const parser = parse(parseOptions as unknown as ParseOptions);

  let header: 'expected' | 'unusable' | Column[] = 'expected';
  const consume = async (records: AsyncIterable<RecordAt>) => {
    for await (const { cells, line } of records) {
      if (cells.every((cell) => cell.trim() === '')) continue;
      if (header === 'expected') {
        header = readHeader(cells, report) ?? 'unusable';
        continue;
      }
      if (header === 'unusable') {
        skip();
        continue;
      }
      const parsed = readRow(cells, line, header);
      if ('errors' in parsed) {
        skip();
        parsed.errors.forEach(report);
        continue;
      }
      await onRow(parsed, header);
    }
  };

  const input = typeof source === 'string' ? Readable.from([source]) : source;
  await pipeline(input, byteLimit(maxBytes, () => tooLarge(maxBytes, 'the CSV file')), parser, consume);
  if (header === 'expected') report({ row: 1, column: null, message: 'the file is empty; the first row must name the columns (name, phone, ...)' });
}

/** The columns of the header row, or null when no row could be imported with them (reported). */
function readHeader(cells: string[], report: (error: CsvRowError) => void): Column[] | null {
  const seen = new Map<string, string>();
  const columns = cells.map((cell): Column => {
    const header = fromCell(cell);
    if (!header) return { header, role: null };
    const role = classifyColumn(header);
    // single-valued columns and custom fields appear once; number columns may repeat
    const identity = role.kind === 'phone' ? null : role.kind === 'field' ? `field:${role.key.toLowerCase()}` : role.kind === 'due' ? `due:${role.due}` : role.kind;
    if (identity !== null) {
      const first = seen.get(identity);
      if (first !== undefined) {
        report({ row: 1, column: header, message: `this column repeats '${first}'; its values are ignored (merge the two columns into one)` });
        return { header, role: null };
      }
      seen.set(identity, header);
    }
    if (role.kind === 'field' && role.key.length > CONTACT_LIMITS.fieldName) {
      report({ row: 1, column: header, message: `a custom field's name is at most ${CONTACT_LIMITS.fieldName} characters; shorten the header, its values are ignored until then` });
      return { header, role: null };
    }
    return { header, role };
  });
  if (!columns.some((c) => c.role?.kind === 'name' || c.role?.kind === 'phone')) {
    report({ row: 1, column: null, message: 'no name or phone column, so no row was imported: the first row must name the columns (name, company, phone, mobile, email, address, tags, notes, ...)' });
    return null;
  }
  return columns;
}

const EXCEL_SCIENTIFIC = /^\d+(\.\d+)?e\+?\d+$/i;

function readRow(cells: string[], line: number, columns: Column[]): ParsedRow | { errors: CsvRowError[] } {
  const errors: CsvRowError[] = [];
  if (cells.slice(columns.length).some((cell) => cell.trim() !== '')) {
    errors.push({ row: line, column: null, message: `this row has ${cells.length} cells but the header has ${columns.length} columns; check for an unquoted comma or a missing quote` });
    return { errors };
  }
  const input: ContactPatch = {};
  const numbers: Array<{ number: string; label: string | null }> = [];
  const numberColumns: string[] = [];
  const due: ContactDueInput[] = [];
  const dueColumns: string[] = [];
  const fields: Array<[string, string]> = [];
  cells.forEach((cell, i) => {
    const value = fromCell(cell);
    const column = columns[i];
    const role = column?.role;
    if (!value || !role) return;
    switch (role.kind) {
      case 'name':
      case 'company':
      case 'email':
      case 'address':
      case 'notes':
        input[role.kind] = value;
        break;
      case 'tags':
        input.tags = value.split(SEPARATOR).map((tag) => tag.trim()).filter(Boolean);
        break;
      case 'phone':
        for (const part of value.split(SEPARATOR)) {
          const number = part.trim();
          if (!number) continue;
          if (EXCEL_SCIENTIFIC.test(number)) {
            errors.push({ row: line, column: column.header, message: `'${number}' is a number a spreadsheet turned into scientific notation; format the column as Text and type the number again` });
            continue;
          }
          numbers.push({ number, label: role.label });
          numberColumns.push(column.header);
        }
        break;
      case 'due':
        for (const part of value.split(SEPARATOR)) {
          const item = /^(\S+)(?:\s+(.*))?$/.exec(part.trim());
          if (!item) continue;
          if (!isCalendarDate(item[1])) {
            errors.push({ row: line, column: column.header, message: dateProblem(item[1]) });
            continue;
          }
          due.push({ kind: role.due, date: item[1], note: item[2]?.trim() || null });
          dueColumns.push(column.header);
        }
        break;
      case 'field':
        fields.push([role.key, value]);
        break;
    }
  });
  if (errors.length > 0) return { errors };
  if (numbers.length > 0) input.numbers = numbers;
  if (due.length > 0) input.due = due;
  if (fields.length > 0) input.fields = Object.fromEntries(fields);
  return { line, input, numberColumns, dueColumns };
}

/** The column a validation issue is about. */
function columnOf(issue: ContactIssue, row: ParsedRow, columns: Column[]): string | null {
  const [field, index] = issue.path.split('.');
  const header = (kind: string) => columns.find((c) => c.role?.kind === kind)?.header ?? null;
  switch (field) {
    case 'numbers':
      return index === undefined ? null : (row.numberColumns[Number(index)] ?? null);
    case 'due':
      return index === undefined ? null : (row.dueColumns[Number(index)] ?? null);
    case 'fields': {
      const key = issue.path.slice('fields.'.length);
      return columns.find((c) => c.role?.kind === 'field' && c.role.key === key)?.header ?? null;
    }
    case 'name':
    case 'company':
    case 'email':
    case 'address':
    case 'notes':
    case 'tags':
      return header(field) ?? field;
    default:
      return null;
  }
}

function count(outcome: ImportOutcome, row: ParsedRow, columns: Column[], result: CsvImportResult, report: (error: CsvRowError) => void): void {
  switch (outcome.result) {
    case 'created': result.created++; break;
    case 'updated': result.updated++; break;
    case 'unchanged': result.unchanged++; break;
    case 'skipped': result.skipped++; break;
    case 'invalid':
      result.skipped++;
      for (const issue of outcome.issues) {
        const column = columnOf(issue, row, columns);
        const startsWithVerb = /^(is|has|expected) /.test(issue.message);
        report({ row: row.line, column, message: startsWithVerb ? `${column ?? issue.path} ${issue.message}` : issue.message });
      }
      break;
  }
}

const STANDARD_LABELS = new Set<string | null>([null, 'mobile', 'work', 'home']);

/** Write every contact as CSV (UTF-8 with a BOM, CRLF) in the columns import reads. */
export async function exportContactsCsv(repository: ContactsRepository, out: Writable): Promise<{ count: number }> {
  // first pass: which custom fields and number labels exist, so every row has the same columns
  const labels = new Set<string>();
  const fieldNames = new Map<string, string>();
  for await (const contact of repository.all()) {
    for (const number of contact.numbers) if (!STANDARD_LABELS.has(number.label)) labels.add(number.label!);
    for (const name of Object.keys(contact.fields)) if (!fieldNames.has(name.toLowerCase())) fieldNames.set(name.toLowerCase(), name);
  }
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const labelColumns = [...labels].sort(byText);
  const fieldColumns = [...fieldNames.values()].sort(byText);
  const header = [
    'name', 'company', 'phone', 'mobile', 'work', 'home', ...labelColumns.map(phoneColumn),
    'email', 'address', 'tags', 'notes', ...DUE_KINDS.map(dueColumn), ...fieldColumns,
  ];
  let count = 0;
  const rowOf = (contact: Contact): string[] => {
    const numbers = (label: string | null) => contact.numbers.filter((n) => n.label === label).map((n) => n.entered).join(`${SEPARATOR} `);
    const dues = (kind: string) => contact.due
      .filter((d) => d.kind === kind)
      .map((d) => (d.note ? `${d.date} ${d.note.replaceAll(SEPARATOR, ',')}` : d.date))
      .join(`${SEPARATOR} `);
    const fieldValue = (name: string) => {
      const key = Object.keys(contact.fields).find((k) => k.toLowerCase() === name.toLowerCase());
      return key === undefined ? '' : contact.fields[key];
    };
    return [
      toCell(contact.name), toCell(contact.company ?? ''),
      numbers(null), numbers('mobile'), numbers('work'), numbers('home'), ...labelColumns.map(numbers),
      toCell(contact.email ?? ''), toCell(contact.address ?? ''), toCell(contact.tags.join(`${SEPARATOR} `)), toCell(contact.notes ?? ''),
      ...DUE_KINDS.map(dues), ...fieldColumns.map((name) => toCell(fieldValue(name))),
    ];
  };
  async function* rows(): AsyncGenerator<string[]> {
    yield header.map(toCell);
    for await (const contact of repository.all()) {
      count++;
      yield rowOf(contact);
    }
  }
  await pipeline(Readable.from(rows()), stringify({ bom: true, record_delimiter: 'windows' }), out);
  return { count };
}

/** The CSV export as text (tests, small exports). */
export async function exportContactsCsvText(repository: ContactsRepository): Promise<string> {
  const chunks: Buffer[] = [];
  await exportContactsCsv(repository, new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  }));
  return Buffer.concat(chunks).toString('utf8');
}
