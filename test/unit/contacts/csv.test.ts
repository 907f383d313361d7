import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { exportContactsCsvText, importContactsCsv } from '../../../src/contacts/csv.js';
import { ContactsRepository } from '../../../src/contacts/repository.js';
import type { Contact } from '../../../src/contacts/types.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { FakeClock } from '../../support/fake-clock.js';

async function open(country = 'US') {
  return ContactsRepository.open({ store: new MemoryStore(), clock: new FakeClock(), country: () => country });
}

async function contactsOf(repository: ContactsRepository): Promise<Contact[]> {
  const all: Contact[] = [];
  for await (const contact of repository.all()) all.push(contact);
  return all.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** What a round trip must keep: everything but ids and times, numbers compared as a set (they come back grouped by column). */
function comparable(contact: Contact) {
  const { id: _id, createdAt: _createdAt, updatedAt: _updatedAt, numbers, ...rest } = contact;
  return { ...rest, numbers: [...numbers].sort((a, b) => (a.entered < b.entered ? -1 : 1)) };
}

function lines(...rows: string[]): string {
  return `${rows.join('\r\n')}\r\n`;
}

describe('contacts CSV', () => {
  it('exports and imports back the same contacts', async () => {
    const source = await open();
    await source.create({
      name: 'Wang Li',
      company: 'Garden Rd Noodles, Ltd.',
      numbers: [{ number: '(212) 555-1234', label: 'mobile' }, { number: '212 555 9999', label: 'work' }, '+86 138 0013 8000', { number: '212 555 7777', label: 'fax' }],
      email: 'li@example.com',
      address: '12 Garden Rd\nBack door, 2nd floor',
      tags: ['vip', 'wholesale'],
      notes: 'Says "hi"; pays cash,\nalways late',
      fields: { 'Member No': '00042', Floor: '3' },
      due: [{ kind: 'renewal', date: '2026-12-01', note: 'car policy' }, { kind: 'payment', date: '2026-11-30' }, { kind: 'payment', date: '2027-01-15' }],
    });
    await source.create({ name: '王丽', numbers: [{ number: '2125550101', label: 'home' }], notes: '老客户' });
    await source.create({ name: '김민준', company: '서울상사', numbers: ['3125550100'], fields: { Floor: '1' } });
    await source.create({ name: '=HYPERLINK("http://x")', numbers: ['718 555 0100'], notes: '-minus first', tags: ['@home'] });

    const text = await exportContactsCsvText(source);
    expect(text.startsWith('\ufeffname,company,phone,mobile,work,home,phone (fax),email,address,tags,notes,renewal_due,appointment_due,payment_due,Floor,Member No\r\n')).toBe(true);
    // a spreadsheet must not run a cell as a formula
    expect(text).toContain(`"'=HYPERLINK(""http://x"")"`);

    const target = await open();
    const result = await importContactsCsv(target, text);
    expect(result).toEqual({ created: 4, updated: 0, unchanged: 0, skipped: 0, errors: [] });
    expect((await contactsOf(target)).map(comparable)).toEqual((await contactsOf(source)).map(comparable));

    // the same file again changes nothing
    expect(await importContactsCsv(target, text)).toEqual({ created: 0, updated: 0, unchanged: 4, skipped: 0, errors: [] });
  });

  it('reports bad rows by their line in the file and imports the good ones', async () => {
    const repository = await open();
    const text = lines(
      'Name,Phone,Notes,Renewal Due,Email',
      'Wang Li,212 555 1234,"first line',
      'second line, with a comma',
      'third line",2026-12-01,',
      'Bad Date,312 555 0100,,12/01/2026,',
      'Bad Number,call me,,,',
      ',415 555 0100,,,',
      'Bad Email,646 555 0100,,,not-an-address',
      'Too Many,646 555 0199,,,,extra',
      'Anna,718 555 0100,,,',
    );
    const result = await importContactsCsv(repository, text);
    expect(result).toMatchObject({ created: 2, updated: 0, skipped: 5 });
    expect(result.errors).toEqual([
      { row: 5, column: 'Renewal Due', message: expect.stringMatching(/'12\/01\/2026' is not a date written as YYYY-MM-DD/) },
      { row: 6, column: 'Phone', message: expect.stringMatching(/'call me' is not a phone number/) },
      { row: 7, column: 'Name', message: expect.stringMatching(/Name is empty: a new contact needs a name/) },
      { row: 8, column: 'Email', message: expect.stringMatching(/'not-an-address' is not an e-mail address/) },
      { row: 9, column: null, message: expect.stringMatching(/6 cells but the header has 5 columns/) },
    ]);
    expect(repository.findByNumber('2125551234')?.entry).toMatchObject({ name: 'Wang Li', note: 'first line second line, with a comma third line', due: { kind: 'renewal', date: '2026-12-01' } });
    expect(repository.findByNumber('7185550100')?.entry.name).toBe('Anna');
  });

  it('counts lines the same when the file arrives in pieces (split line breaks and characters)', async () => {
    const text = `\ufeff${lines('姓名,电话,备注', '王丽,13800138000,"老客户', '送到后门"', '李四,abc,', '张三,13900139000,')}`;
    const bytes = Buffer.from(text);
    const pieces = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    const whole = await importContactsCsv(await open('CN'), text);
    const piecewise = await importContactsCsv(await open('CN'), Readable.from(pieces));
    expect(piecewise).toEqual(whole);
    expect(whole).toMatchObject({ created: 2, errors: [{ row: 4, column: '电话', message: expect.stringMatching(/'abc' is not a phone number/) }] });
  });

  it('reads a UTF-8 BOM, header names in any case, Chinese and Korean headers, and extra columns as custom fields', async () => {
    const repository = await open('CN');
    await importContactsCsv(repository, `\ufeff${lines('姓名,手机,公司,地址,标签,会员等级', '王丽,138 0013 8000,重庆火锅店,解放碑 12 号,vip; 老客户,金卡')}`);
    const wang = await repository.get(repository.findByNumber('13800138000')!.id);
    expect(wang).toMatchObject({
      name: '王丽',
      company: '重庆火锅店',
      address: '解放碑 12 号',
      tags: ['vip', '老客户'],
      numbers: [{ e164: '+8613800138000', entered: '138 0013 8000', label: 'mobile' }],
      fields: { 会员等级: '金卡' },
    });
    const korean = await open('KR');
    await importContactsCsv(korean, lines('이름,전화,회사,주소,메모', '김민준,010-1234-5678,서울상사,서울시 중구,단골'));
    expect(korean.findByNumber('+82 10 1234 5678')?.entry).toMatchObject({ name: '김민준', company: '서울상사', note: '단골' });
    const shouting = await open();
    const result = await importContactsCsv(shouting, lines('NAME,PHONE2,E-Mail,Payment_Due', 'Anna,212 555 0100,anna@example.com,2026-12-01'));
    expect(result.errors).toEqual([]);
    expect(shouting.findByNumber('2125550100')?.entry).toMatchObject({ name: 'Anna', due: { kind: 'payment', date: '2026-12-01' } });
  });

  it('merges a row into the contact that has its number, or skips it, or creates another, as asked', async () => {
    const repository = await open();
    const existing = await repository.create({ name: 'Wang Li', numbers: [{ number: '212 555 1234', label: 'mobile' }], email: 'old@example.com', notes: 'keep me', tags: ['vip'] });
    const row = lines('name,phone,work,email,notes,payment_due', ',+1 212-555-1234,212 555 9999,new@example.com,,2026-12-01');

    expect(await importContactsCsv(repository, row, { onDuplicate: 'skip' })).toMatchObject({ created: 0, updated: 0, skipped: 1, errors: [] });
    expect((await repository.get(existing.id))!.email).toBe('old@example.com');

    expect(await importContactsCsv(repository, row)).toMatchObject({ created: 0, updated: 1, skipped: 0, errors: [] });
    const merged = (await repository.get(existing.id))!;
    expect(merged).toMatchObject({
      name: 'Wang Li',
      email: 'new@example.com',
      notes: 'keep me',
      tags: ['vip'],
      due: [{ kind: 'payment', date: '2026-12-01', note: null }],
    });
    // the number already there keeps its label; the new one is added
    expect(merged.numbers).toEqual([
      { e164: '+12125551234', entered: '+1 212-555-1234', label: 'mobile' },
      { e164: '+12125559999', entered: '212 555 9999', label: 'work' },
    ]);
    expect(merged.updatedAt.name).toBe(existing.updatedAt.name);

    const created = await importContactsCsv(repository, lines('name,phone', 'Night Shift,2125551234'), { onDuplicate: 'create' });
    expect(created).toMatchObject({ created: 1, updated: 0 });
    expect(repository.count).toBe(2);
  });

  it('merges rows of the same file that share a number', async () => {
    const repository = await open();
    const result = await importContactsCsv(repository, lines('name,phone,email,tags', 'Wang Li,212 555 1234,,', ',2125551234,li@example.com,vip'));
    expect(result).toMatchObject({ created: 1, updated: 1, errors: [] });
    expect(repository.count).toBe(1);
    expect(await repository.get(repository.findByNumber('2125551234')!.id)).toMatchObject({ name: 'Wang Li', email: 'li@example.com', tags: ['vip'] });
  });

  it('refuses input over the size limit', async () => {
    const repository = await open();
    const text = lines('name,phone', ...Array.from({ length: 200 }, (_, i) => `Customer ${i},212555${String(i).padStart(4, '0')}`));
    await expect(importContactsCsv(repository, text, { maxBytes: 1000 })).rejects.toMatchObject({ code: 'CONTACT_IMPORT_TOO_LARGE', message: expect.stringMatching(/split it into smaller files/) });
    expect(repository.count).toBe(0);
    const stream = Readable.from([Buffer.from(text.slice(0, 600)), Buffer.from(text.slice(600))]);
    await expect(importContactsCsv(repository, stream, { maxBytes: 1000 })).rejects.toMatchObject({ code: 'CONTACT_IMPORT_TOO_LARGE' });
  });

  it('explains a header it cannot use, repeated columns, a quote never closed and numbers a spreadsheet mangled', async () => {
    const repository = await open();
    expect(await importContactsCsv(repository, lines('who,what', 'Anna,212 555 0100'))).toMatchObject({
      created: 0, skipped: 1, errors: [{ row: 1, column: null, message: expect.stringMatching(/no name or phone column/) }],
    });
    expect(await importContactsCsv(repository, '')).toMatchObject({ errors: [{ row: 1, message: expect.stringMatching(/empty/) }] });

    const repeated = await importContactsCsv(repository, lines('name,email,phone,Email', 'Anna,a@example.com,212 555 0100,b@example.com'));
    expect(repeated.errors).toEqual([{ row: 1, column: 'Email', message: expect.stringMatching(/repeats 'email'/) }]);
    expect(repository.findByNumber('2125550100')?.entry.name).toBe('Anna');

    const mangled = await importContactsCsv(repository, lines('name,phone', 'Excel,1.38001E+10', 'Open,"212 555 0199', 'Never,212 555 0198'));
    expect(mangled.errors).toEqual([
      { row: 2, column: 'phone', message: expect.stringMatching(/scientific notation; format the column as Text/) },
      { row: 3, column: null, message: expect.stringMatching(/quote \(".*never closed/) },
    ]);
  });
});
