import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TallyError } from '../../src/errors.ts';
import { normalizeHeaderName, resolveColumns } from '../../src/analysis/read/columns.ts';
import { detectDelimiter, readRecords } from '../../src/analysis/read/dialect.ts';
import { decodeHead } from '../../src/analysis/read/encoding.ts';
import { analyzeHead } from '../../src/analysis/head.ts';
import { sniffUpload } from '../../src/api/upload/sniff-upload.ts';
import type { JobOptions } from '../../src/analysis/options.ts';

const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

function invalid(head: Buffer | string, options: JobOptions = {}): string {
  try {
    analyzeHead(typeof head === 'string' ? buf(head) : head, options);
  } catch (error) {
    expect(error).toBeInstanceOf(TallyError);
    expect((error as TallyError).code).toBe('INVALID_CSV');
    expect((error as TallyError).status).toBe(422);
    return (error as TallyError).message;
  }
  throw new Error('expected INVALID_CSV');
}

describe('detectDelimiter', () => {
  it.each([
    ['date,amount\n2024-01-01,5\n', ','],
    ['date;amount\n2024-01-01;5\n', ';'],
    ['date\tamount\n2024-01-01\t5\n', '\t'],
    ['date|amount\n2024-01-01|5\n', '|'],
    // decimal commas in a ";" file: "," appears on data lines only
    ['Datum;Betrag;Kunde\n01.02.2024;1.234,56;A\n02.02.2024;99,90;B\n', ';'],
    // commas inside quotes do not count
    ['date;note;amount\n2024-01-01;"a, b, c";5\n2024-01-02;"d, e";6\n', ';'],
    // a quoted newline does not end the record
    ['date,note,amount\n2024-01-01,"two\nlines",5\n2024-01-02,x,6\n', ','],
    // header-only file: the most frequent candidate
    ['a;b;c', ';'],
    // more delimiters in the header than ";" but inconsistent on data lines
    ['date;amount,with,commas\n2024-01-01;5\n2024-01-02;6\n', ';'],
    // the last (possibly cut) line does not decide
    ['date,amount\n2024-01-01,5\n2024-01-02,6\n2024-01-0', ','],
    ['single', ','],
  ])('%j → %j', (text, delimiter) => {
    expect(detectDelimiter(text)).toBe(delimiter);
  });
});

describe('readRecords (head only)', () => {
  it('reads RFC 4180 quoting and skips blank lines', () => {
    const { records, lastComplete } = readRecords(
      '\r\na,"b ""x"", y",c\r\n\r\n1,"two\r\nlines",3\n4,5',
      ',',
      10,
    );
    expect(records).toEqual([
      ['a', 'b "x", y', 'c'],
      ['1', 'two\r\nlines', '3'],
      ['4', '5'],
    ]);
    expect(lastComplete).toBe(false);
  });
});

describe('normalizeHeaderName and resolveColumns', () => {
  it.each([
    ['Created_At', 'createdat'],
    ['  ORDER-DATE ', 'orderdate'],
    ['Customer   Email', 'customeremail'],
    ['Created (UTC)', 'created'],
    ['\uFEFFDate', 'date'],
    ['Total$', 'total$'],
    // v1.1: written together, in capitals, with dots, a qualifier, a leading space or "*"
    ['InvoiceDate', 'invoicedate'],
    ['invoice_date', 'invoicedate'],
    [' Invoice Date', 'invoicedate'],
    ['Invoice Date (UTC)', 'invoicedate'],
    ['ORDERDATE', 'orderdate'],
    ['NETAMOUNT', 'netamount'],
    ['Inv.Date', 'invdate'],
    ['*InvoiceDate', 'invoicedate'],
    ['Created date (UTC)', 'createddate'],
    [' Valor bruto', 'valorbruto'],
  ])('%j → %j', (name, normalized) => {
    expect(normalizeHeaderName(name)).toBe(normalized);
  });

  it('takes the first name in the table order, not the first header', () => {
    // "paid at" is listed after "created at", "transaction date" after "invoice date"
    const map = resolveColumns(
      ['Paid At', 'Transaction-Date', 'Invoice_Date', 'Gross', 'Amount', 'Email', 'Customer ID'],
      {},
    );
    expect(map.names).toEqual({
      date: 'Invoice_Date',
      amount: 'Amount',
      customer: 'Customer ID',
    });
    expect(map.index.date).toBe(2);
    expect(map.amountFromQuantity).toBe(false);
  });

  it('falls back to quantity × unit price', () => {
    const map = resolveColumns(['Date', 'Qty', 'Price', 'SKU', 'Market', 'Currency Code'], {});
    expect(map.amountFromQuantity).toBe(true);
    expect(map.names).toEqual({
      date: 'Date',
      quantity: 'Qty',
      unitPrice: 'Price',
      product: 'SKU',
      region: 'Market',
      currency: 'Currency Code',
    });
  });

  it('lets options.columns override and removes the mapped header from guessing', () => {
    const map = resolveColumns(['Date', 'When', 'Total', 'Net'], {
      columns: { date: 'When', amount: 'net' },
    });
    expect(map.names).toEqual({ date: 'When', amount: 'Net' });
  });

  it('the first of two identical headers wins', () => {
    expect(resolveColumns(['date', 'Date', 'amount'], {}).index.date).toBe(0);
  });
});

describe('analyzeHead', () => {
  it('answers delimiter, header and columns', () => {
    expect(
      analyzeHead(buf('\uFEFFOrder,Created at,Total,Email\r\n1,2024-01-01,5,a@b.c\r\n'), {}),
    ).toMatchObject({
      delimiter: ',',
      header: ['Order', 'Created at', 'Total', 'Email'],
      columns: { date: 'Created at', amount: 'Total', customer: 'Email' },
      encoding: 'utf-8',
    });
  });

  it('uses options.delimiter over detection', () => {
    // detection would pick ";" (two per line, consistent)
    const info = analyzeHead(buf('date|amount;x;y\n2024-01-01|5;6;7\n'), {
      delimiter: '|',
      columns: { amount: 'amount;x;y' },
    });
    expect(info.header).toEqual(['date', 'amount;x;y']);
  });

  it('accepts a head cut in the middle of a line and of a UTF-8 character', () => {
    const full = buf('date,amount,customer\n2024-01-01,5,Müller\n');
    const cut = full.subarray(0, full.indexOf(0xbc)); // inside "ü" (c3 bc)
    expect(analyzeHead(cut, {}).columns).toEqual({ date: 'date', amount: 'amount', customer: 'customer' });
  });

  it('decompresses a gzip head (the upload check; the worker inflates its stream)', async () => {
    const head = gzipSync(buf('date,amount\n2024-01-01,5\n'));
    expect(await sniffUpload(head, {})).toMatchObject({ compression: 'gzip', header: ['date', 'amount'] });
  });

  it('names the headers it found when no amount column exists', () => {
    expect(invalid('Order,When,Total$\n1,2024-01-01,5\n', { columns: { date: 'When' } })).toBe(
      'No amount column found (nor quantity and unit price, nor credit and debit). Headers: "Order", "When", "Total$". Map one with options.columns.amount.',
    );
  });

  it('names the headers it found when no date column exists (two columns of dates: none inferred)', () => {
    expect(invalid('Order,When,Shipped,Total\n1,2024-01-01,2024-01-03,5\n')).toBe(
      'No date column found. Headers: "Order", "When", "Shipped", "Total". Map one with options.columns.date.',
    );
    expect(invalid('Order,When,Total\n')).toBe(
      'No date column found. Headers: "Order", "When", "Total". Map one with options.columns.date.',
    );
  });

  it('v1.2: takes the one column whose head cells all read as dates when no header names one', () => {
    expect(
      analyzeHead(buf('Order,When,Total\n1,2024-01-01,5\n2,,6\n3,01/02/2024 10:00,7\n'), {}).columns,
    ).toEqual({
      date: 'When',
      amount: 'Total',
    });
  });

  it('v1.2: refuses an options.exclude column that is not in the header', () => {
    expect(invalid('date,amount,Type\n2024-01-01,5,charge\n', { exclude: { Status: ['failed'] } })).toBe(
      'options.exclude names the column "Status", but the header has no such column.',
    );
    expect(analyzeHead(buf('date,amount,Type\n'), { exclude: { type: ['payout'] } }).columns.type).toBe(
      'Type',
    );
  });

  it('refuses a mapped column that is not in the header', () => {
    expect(invalid('date,amount\n', { columns: { customer: 'Client' } })).toBe(
      'options.columns.customer is "Client", but the header has no such column. Headers: "date", "amount".',
    );
  });

  it.each([
    ['binary (NUL bytes)', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x08]), /binary/],
    ['UTF-16 without a BOM', Buffer.from('date,amount\n', 'utf16le'), /utf-16le/],
    ['control bytes', buf('date,amount\n2024-01-01,\u00015\n'), /binary/],
    ['empty', Buffer.alloc(0), /empty/],
    ['blank lines only', buf('\r\n\r\n  \n'), /empty/],
    ['data without a header', buf('2024-01-01,12.50,\n2024-01-02,13.00,\n'), /looks like data/],
  ])('refuses %s', (_what, head, message) => {
    expect(invalid(head)).toMatch(message);
  });

  it('refuses a broken gzip head (the upload check unwraps gzip)', async () => {
    await expect(sniffUpload(Buffer.from([0x1f, 0x8b, 0x08, 0xff, 0xff]), {})).rejects.toThrow(/gzip/);
  });

  it('refuses a first row longer than the whole head', () => {
    const head = buf(`date,amount,${'x'.repeat(70_000)}`).subarray(0, 65_536);
    expect(invalid(head)).toMatch(/longer than 64 KiB/);
  });

  it('decodeHead strips the BOM', () => {
    expect(decodeHead(buf('\uFEFFa,b'))).toEqual({ text: 'a,b', encoding: 'utf-8' });
  });

  it.each([
    ['UTF-8', buf('date,amount,Kunde\n2024-01-01,5,Müller\n'), 'utf-8'],
    [
      'UTF-16LE with a BOM',
      Buffer.from('\uFEFFdate,amount,Kunde\n2024-01-01,5,Müller\n', 'utf16le'),
      'utf-16le',
    ],
    [
      'UTF-16BE with a BOM',
      Buffer.from('\uFEFFdate,amount,Kunde\n2024-01-01,5,Müller\n', 'utf16le').swap16(),
      'utf-16be',
    ],
    [
      'Windows-1252 (not UTF-8)',
      Buffer.from('date,amount,Kunde\n2024-01-01,5,Müller\n', 'latin1'),
      'windows-1252',
    ],
  ])('reads %s and says which', (_what, head, encoding) => {
    expect(analyzeHead(head, {}).encoding).toBe(encoding);
    expect(decodeHead(head).text).toBe('date,amount,Kunde\n2024-01-01,5,Müller\n');
  });

  it('reads the encoding options.encoding names, and a BOM beats it', () => {
    const latin2 = Buffer.from([
      0x64, 0x61, 0x74, 0x65, 0x2c, 0x61, 0x6d, 0x6f, 0x75, 0x6e, 0x74, 0x2c, 0xb3, 0x0a,
    ]);
    expect(decodeHead(latin2, 'iso-8859-2').text).toBe('date,amount,ł\n');
    expect(decodeHead(latin2).text).toBe('date,amount,³\n'); // windows-1252 reads 0xb3 as ³
    expect(decodeHead(buf('\uFEFFa,b'), 'windows-1252')).toEqual({ text: 'a,b', encoding: 'utf-8' });
  });

  it('keeps header names out of the content-free summary', () => {
    try {
      analyzeHead(buf('Order,SSN 123-45-6789,Total\n1,x,5\n'), {});
      throw new Error('expected a refusal');
    } catch (error) {
      const e = error as TallyError;
      expect(e.message).toMatch(/SSN 123-45-6789/);
      const details = e.details as { summary: string; headers: string[] };
      expect(details.summary).toBe(
        "No date column found among the file's 3 columns. Map one with options.columns.date.",
      );
      expect(details.headers).toEqual(['Order', 'SSN 123-45-6789', 'Total']);
    }
  });
});
