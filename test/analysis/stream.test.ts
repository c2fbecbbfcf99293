import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TallyError, isInputError } from '../../src/errors.ts';
import type { JobOptions } from '../../src/analysis/options.ts';
import { analyzeCsvStream } from '../../src/analysis/analyze-stream.ts';
import { validated } from '../../src/analysis/analyze-stream.ts';
import type { AnalyzeHooks } from '../../src/analysis/analyze-stream.ts';
import { jobErrorRecord } from '../../src/analysis/read/input-error.ts';

/** Yields `data` in chunks of `size` bytes. */
async function* chunks(data: Buffer, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) {
    await Promise.resolve();
    yield data.subarray(i, i + size);
  }
}

function run(text: string | Buffer, options: JobOptions = {}, hooks?: AnalyzeHooks, size?: number) {
  const data = typeof text === 'string' ? Buffer.from(text) : text;
  return analyzeCsvStream(chunks(data, size), { filename: 'f.csv', bytes: data.length, options }, hooks);
}

async function failure(p: Promise<unknown>): Promise<TallyError> {
  const error = await p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TallyError);
  return error as TallyError;
}

function rows(n: number, line: (i: number) => string): string {
  let s = '';
  for (let i = 0; i < n; i++) s += line(i);
  return s;
}

describe('analyzeCsvStream', () => {
  it('reads a file fed one byte at a time exactly like one fed at once', async () => {
    const text =
      'date,amount,customer\r\n2024-01-01,"1,000.00",a\r\n2024-01-02,"x\r\ny",b\r\n2024-01-03,2,"c\r\nd"\r\n';
    const whole = await run(text);
    const bytewise = await run(text, {}, {}, 1);
    expect(bytewise).toEqual(whole);
    expect(whole.rows.rejectedSamples).toEqual([{ line: 3, reason: 'amount "x\\r\\ny" is not a number' }]);
    expect(whole.currencies[0]!.totals.revenue).toBe(1002);
  });

  it('reports progress in source bytes and data rows', async () => {
    const text = `date,amount\n${rows(5000, (i) => `2024-01-${String((i % 28) + 1).padStart(2, '0')},1.00\n`)}`;
    const gz = gzipSync(text);
    const seen: { bytesProcessed: number; rowsProcessed: number }[] = [];
    const r = await run(gz, {}, { onProgress: (p) => seen.push(p) }, 1000);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toEqual({ bytesProcessed: gz.length, rowsProcessed: 5000 });
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.bytesProcessed).toBeGreaterThanOrEqual(seen[i - 1]!.bytesProcessed);
      expect(seen[i]!.rowsProcessed).toBeGreaterThanOrEqual(seen[i - 1]!.rowsProcessed);
    }
    expect(r.rows.valid).toBe(5000);
    expect(r.input.bytes).toBe(gz.length);
  });

  it('refuses a gzip bomb with DECOMPRESSED_TOO_LARGE', async () => {
    const bomb = gzipSync(Buffer.concat([Buffer.from('date,amount\n'), Buffer.alloc(5_000_000, 0x20)]));
    const error = await failure(run(bomb, {}, { maxDecompressedBytes: 1_000_000 }));
    expect(error.code).toBe('DECOMPRESSED_TOO_LARGE');
    expect(error.message).toMatch(/decompresses to more than/);
  });

  it('refuses corrupt gzip data with INVALID_CSV', async () => {
    const good = gzipSync(`date,amount\n${rows(20_000, () => '2024-01-01,1\n')}`);
    const cut = good.subarray(0, good.length - 100);
    const error = await failure(run(cut));
    expect(error.code).toBe('INVALID_CSV');
    expect(error.message).toMatch(/gzip/);
  });

  it('stops at an unclosed quote with a line number instead of reading the file into one record', async () => {
    const text = `date,amount,note\n2024-01-01,1,ok\n2024-01-02,2,"never closed\n${rows(50_000, () => '2024-01-03,3,more text here\n')}`;
    const error = await failure(run(text, {}, { maxRecordBytes: 64 * 1024 }));
    expect(error.code).toBe('INVALID_CSV');
    expect(error.message).toMatch(/^line 3: a record is longer than 64 KiB/);
  });

  it('rejects a quote left open at the very end and keeps the rows before it', async () => {
    const r = await run('date,amount,note\n2024-01-01,1,ok\n2024-01-02,2,"open\nstill open\n');
    expect(r.rows).toEqual({
      total: 2,
      valid: 1,
      rejected: 1,
      excluded: 0,
      exclusions: [],
      rejectedSamples: [
        { line: 3, reason: 'a quote (") opened in this row is never closed before the end of the file' },
      ],
    });
  });

  it('fails with NO_VALID_ROWS naming the first problems', async () => {
    const error = await failure(run('date,amount\nsoon,5\n2024-01-01,lots\n'));
    expect(error.code).toBe('NO_VALID_ROWS');
    expect(error.message).toBe(
      'None of the 2 data rows could be read. Tally took the date column "date" and the amount column "amount". ' +
        '1 row had a date Tally could not read (numeric dates read month first (MDY), as decided from the first 1,000 rows). ' +
        'If the dates are in another column, set options.columns.date; if they are day first (DMY), set options.dateFormat to "DMY". ' +
        '1 row had an amount that is not a number. If the amounts are in another column, set options.columns.amount; ' +
        'if they use a decimal comma, set options.decimalSeparator to ",". ' +
        'First problems: line 2: date "soon" is not a date; line 3: amount "lots" is not a number.',
    );
    // The job's error_message gets the summary: nothing from the file in it.
    const { message, details } = jobErrorRecord(error);
    expect(message).not.toMatch(/soon|lots|"date"|"amount"/);
    expect(message).toMatch(/^None of the 2 data rows could be read\. 1 row had a date/);
    expect(details).toMatchObject({ help: error.message, rejectedSamples: [{ line: 2 }, { line: 3 }] });
    const empty = await failure(run('date,amount\n\n\n'));
    expect(empty.code).toBe('NO_VALID_ROWS');
    expect(empty.message).toMatch(/no data rows/);
  });

  it('fails with INVALID_CSV on a bad head, as analyzeHead does', async () => {
    expect((await failure(run('id,name\n1,x\n'))).message).toMatch(/^No date column found/);
    expect((await failure(run(Buffer.from([0, 1, 2, 3])))).message).toMatch(/binary/);
    expect((await failure(run(''))).message).toMatch(/empty/);
  });

  it('throws signal.reason when aborted, before and during the analysis', async () => {
    const before = new AbortController();
    const reason = new Error('cancelled by the user');
    before.abort(reason);
    await expect(run('date,amount\n2024-01-01,1\n', {}, { signal: before.signal })).rejects.toBe(reason);

    const during = new AbortController();
    const text = `date,amount\n${rows(200_000, () => '2024-01-01,1.00\n')}`;
    const p = run(
      text,
      {},
      {
        signal: during.signal,
        onProgress: (prog) => {
          if (prog.rowsProcessed > 10_000) during.abort(reason);
        },
      },
    );
    await expect(p).rejects.toBe(reason);
  });

  it('closes the source when it stops early', async () => {
    let closed = false;
    async function* source(): AsyncGenerator<Buffer> {
      try {
        await Promise.resolve();
        yield Buffer.from('id,name\n');
        yield Buffer.from('1,x\n');
      } finally {
        closed = true;
      }
    }
    await expect(analyzeCsvStream(source(), { filename: 'f', bytes: 0, options: {} })).rejects.toThrow(
      /No date column/,
    );
    expect(closed).toBe(true);
  });

  it('keeps the event loop turning during a long analysis', async () => {
    const text = Buffer.from(
      `date,amount,customer\n${rows(150_000, (i) => `2024-0${(i % 9) + 1}-15,${i % 97}.25,c${i % 5000}\n`)}`,
    );
    const began = performance.now();
    let last = began;
    let maxGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 1);
    try {
      // one huge chunk: the analysis must slice it itself
      const r = await analyzeCsvStream(
        (async function* () {
          await Promise.resolve();
          yield text;
        })(),
        { filename: 'f', bytes: text.length, options: {} },
      );
      expect(r.rows.valid).toBe(150_000);
    } finally {
      clearInterval(timer);
    }
    // Relative, not absolute: an analysis that never yields leaves one gap as long as the
    // whole run. A fixed 250 ms bound failed on a loaded machine (gaps of 300–600 ms while
    // other processes held both cores) although the analysis yielded every 15 ms of CPU.
    const totalMs = performance.now() - began;
    expect(ticks).toBeGreaterThan(5);
    expect(maxGap).toBeLessThan(totalMs / 4);
  });

  it('takes the currency from the column, then options, then the amount text', async () => {
    const text =
      'date,amount,currency\n2024-01-01,€5,\n2024-01-02,7,gbp\n2024-01-03,$1,\n2024-01-04,2 CHF,\n';
    const r = await run(text);
    expect(r.currencies.map((c) => [c.currency, c.totals.revenue])).toEqual([
      ['GBP', 7],
      ['EUR', 5],
      ['CHF', 2],
      [null, 1],
    ]);
    const withDefault = await run(text, { currency: 'usd' });
    expect(withDefault.currencies.map((c) => [c.currency, c.totals.revenue])).toEqual([
      ['USD', 8],
      ['GBP', 7],
    ]);
  });

  it('rejects an amount with an unknown word and names it', async () => {
    const r = await run('date,amount\n2024-01-01,12 pcs\n2024-01-01,3\n');
    expect(r.rows.rejectedSamples).toEqual([{ line: 2, reason: 'amount "12 pcs" is not a number' }]);
  });

  it('hints at the decimal comma when a "," file has "1.234,56" amounts the v1.2 rule cannot settle', async () => {
    // "1,000.50" has a point after a comma, so the head is not all `…,dd` (reference "Values")
    const r = await run('date,amount\n2024-01-01,"1.234,56"\n2024-01-01,"1,000.50"\n');
    expect(r.rows.rejectedSamples[0]!.reason).toBe(
      'amount "1.234,56" is not a number (decimal comma? set options.decimalSeparator to ",")',
    );
    const fixed = await run('date,amount\n2024-01-01,"1.234,56"\n2024-01-01,3\n', { decimalSeparator: ',' });
    expect(fixed.currencies[0]!.totals.revenue).toBe(1237.56);
    // v1.2: every comma amount ends in ",dd" with no point after the comma → decimal comma
    const auto = await run('date,amount\n2024-01-01,"1.234,56"\n2024-01-01,3\n');
    expect(auto.currencies[0]!.totals.revenue).toBe(1237.56);
  });

  it('decides slash dates from at least the first 1,000 rows', async () => {
    // 1,000 ambiguous rows, then one that proves day-first: it counts, as it is within the
    // head only if the head is larger than 1,000 rows — it is not, so MDY stays.
    const ambiguous = rows(1000, () => '01/02/2024,1\n');
    const late = await run(`date,amount\n${ambiguous}13/02/2024,1\n`);
    expect(late.rows.rejectedSamples).toEqual([
      {
        line: 1002,
        reason:
          'date "13/02/2024" is not a date month first (MDY), as decided from the first 1,000 rows; set options.dateFormat to "DMY" if the file is day first (DMY)',
      },
    ]);
    expect(late.currencies[0]!.totals.firstDate).toBe('2024-01-02');
    const early = await run(`date,amount\n13/02/2024,1\n${ambiguous}`);
    expect(early.rows.rejected).toBe(0);
    expect(early.currencies[0]!.totals.firstDate).toBe('2024-02-01');
  });

  it('caps rejected samples at 100 but counts them all', async () => {
    const r = await run(`date,amount\n${rows(250, () => 'x,1\n')}2024-01-01,1\n`);
    expect(r.rows.rejected).toBe(250);
    expect(r.rows.rejectedSamples).toHaveLength(100);
    expect(r.rows.rejectedSamples[99]!.line).toBe(101);
  });

  it('keeps sums exact beyond 2^53 micro-units', async () => {
    // 3 × 4,000,000,000.01 = 12,000,000,000.03; each addend is below 2^52 µ, the sum is not.
    const r = await run(
      'date,amount,customer\n2024-01-01,4000000000.01,a\n2024-01-02,4000000000.01,a\n2024-01-03,4000000000.01,a\n2024-01-04,12345678901234.56,b\n',
    );
    const c = r.currencies[0]!;
    expect(c.totals.revenue).toBe(12_357_678_901_234.59);
    expect(c.topCustomers!.map((x) => x.revenue)).toEqual([12_345_678_901_234.56, 12_000_000_000.03]);
  });

  describe('hostile cells and dates', () => {
    it('rejects the row of a 400-digit amount and goes on', async () => {
      const r = await run(`date,amount,customer\n2024-01-01,"${'1'.repeat(400)}",a\n2024-01-02,5.00,b\n`);
      expect(r.rows).toMatchObject({ total: 2, valid: 1, rejected: 1 });
      expect(r.rows.rejectedSamples[0]!.reason).toMatch(
        /^amount "1{57}\.\.\." has more than 15 digits before the decimal point; Tally reads amounts below 10\^15$/,
      );
      expect(r.currencies[0]!.totals.revenue).toBe(5);
    });

    it('rejects quantity × unit price of 10^15 or more', async () => {
      const r = await run('date,qty,unit price\n2024-01-01,100000000,100000000\n2024-01-02,2,1.50\n');
      expect(r.rows.rejectedSamples).toEqual([
        { line: 2, reason: 'quantity × unit price is 10^15 or more, beyond the amounts Tally reads' },
      ]);
      expect(r.currencies[0]!.totals.revenue).toBe(3);
    });

    it('removes NUL and other control characters from keys after the head, and keeps the row', async () => {
      const filler = rows(2000, (i) => `2024-01-01,1.00,c${i % 10},p,r\n`); // > 64 KiB? no: ~36 KB
      const text = `date,amount,customer,product,region\n${filler}${rows(1500, () => '2024-01-02,1.00,pad,p,r\n')}2024-02-01,7.00,"ev\u0000il\u0007",\u0000,\u0085EU\n`;
      expect(Buffer.byteLength(text)).toBeGreaterThan(64 * 1024);
      const r = await run(text);
      expect(r.rows.rejected).toBe(0);
      const c = r.currencies[0]!;
      expect(c.topCustomers!.find((x) => x.revenue === 7)!.key).toBe('evil');
      expect(c.byProduct!.map((x) => x.key)).toEqual(['p']); // "\u0000" alone is blank: no key
      expect(c.byRegion!.map((x) => x.key)).toEqual(['r', 'EU']);
      const json = JSON.stringify(r);
      expect(json.includes('\\u0000') || json.includes('\u0000')).toBe(false);
    });

    it('keeps the result small whatever the dates: out-of-window rows rejected, a span over 600 months refused', async () => {
      let years = '';
      for (let y = 1; y <= 9999; y += 25) years += `${String(y).padStart(4, '0')}-01-15,1.00,c${y}\n`;
      const error = await failure(run(`date,amount,customer\n${years}`));
      expect(error.code).toBe('INVALID_CSV');
      // years 1, 26, 51, …: the window 1990..2099 keeps 2001 (line 82) … 2076 (line 85): 901 months
      expect(error.message).toMatch(
        /^The dates run from 2001-01-15 \(line 82\) to 2076-01-15 \(line 85\): 901 months/,
      );
      expect(jobErrorRecord(error).message).toBe(
        'The dates span 901 months, more than the 600 (50 years) Tally reports. Check the dates at lines 82 and 85, or map the right column with options.columns.date.',
      );
      const fine = await run('date,amount\n1995-01-01,1\n2044-12-31,2\n'); // 600 months exactly
      expect(fine.currencies[0]!.monthly).toHaveLength(600);
    });

    it('takes at most 20 currencies and rejects rows of a 21st', async () => {
      const codes =
        'AED AUD BRL CAD CHF CNY CZK DKK EUR GBP HKD HUF INR JPY KRW MXN NOK NZD PLN SEK USD'.split(' ');
      const text = `date,amount,currency\n${codes.map((c) => `2024-01-01,1,${c}\n`).join('')}`;
      const r = await run(text);
      expect(r.currencies).toHaveLength(20);
      expect(r.rows.rejectedSamples).toEqual([
        { line: 22, reason: 'currency "USD" would be the 21st in this file; Tally reads at most 20' },
      ]);
    });
  });

  describe('encodings in the stream', () => {
    it('reads Windows-1252 to the end, and a UTF-8 file with a stray byte after the head as UTF-8', async () => {
      const latin = Buffer.from(
        `date,amount,customer\n${rows(5000, () => '2024-01-01,1.00,Müller\n')}`,
        'latin1',
      );
      const r = await run(latin, {}, {}, 1000);
      expect(r.input.encoding).toBe('windows-1252');
      expect(r.currencies[0]!.topCustomers).toEqual([
        { key: 'Müller', revenue: 5000, transactions: 5000, share: 1 },
      ]);

      const head = Buffer.from(`date,amount,customer\n${rows(5000, () => '2024-01-01,1.00,Müller\n')}`);
      const stray = Buffer.concat([head, Buffer.from('2024-01-02,2.00,M\xfcller\n', 'latin1')]);
      const u = await run(stray);
      expect(u.input.encoding).toBe('utf-8');
      expect(u.currencies[0]!.topCustomers!.map((x) => x.key)).toEqual(['Müller', 'M\ufffdller']);
    });

    it('lets the first non-ASCII bytes after a plain-ASCII head decide, even cut across chunks', async () => {
      const ascii = `date,amount,customer\n${rows(5000, () => '2024-01-01,1.00,Muller\n')}`;
      const tail = '2024-01-02,2.00,Müller\n2024-01-03,3.00,Zoë\n';
      const latinBytes = Buffer.concat([Buffer.from(ascii), Buffer.from(tail, 'latin1')]);
      const utf8Bytes = Buffer.from(ascii + tail);
      // whole, and cut right after the first non-ASCII byte (inside "ü" for UTF-8)
      for (const cut of [false, true]) {
        const latin = await run(latinBytes, {}, {}, cut ? latinBytes.indexOf(0xfc) + 1 : 65_536);
        expect(latin.input.encoding).toBe('windows-1252');
        expect(latin.currencies[0]!.topCustomers!.map((x) => x.key)).toEqual(['Muller', 'Zoë', 'Müller']);
        const utf8 = await run(utf8Bytes, {}, {}, cut ? utf8Bytes.indexOf(0xc3) + 1 : 65_536);
        expect(utf8.input.encoding).toBe('utf-8');
        expect(utf8.currencies[0]!.topCustomers!.map((x) => x.key)).toEqual(['Muller', 'Zoë', 'Müller']);
      }
      // A lone 1252 byte as the very last byte of the file.
      const last = await run(
        Buffer.concat([Buffer.from(ascii), Buffer.from('2024-01-02,2.00,Caf\xe9', 'latin1')]),
      );
      expect(last.input.encoding).toBe('windows-1252');
      expect(last.currencies[0]!.topCustomers!.map((x) => x.key)).toContain('Café');
    });

    it('reads UTF-16 without a BOM when options.encoding says so', async () => {
      const data = Buffer.from('date,amount,customer\n2024-01-01,1.50,Łódź\n', 'utf16le');
      await expect(run(data)).rejects.toThrow(/binary/);
      const r = await run(data, { encoding: 'utf-16le' }, {}, 3);
      expect(r.input.encoding).toBe('utf-16le');
      expect(r.currencies[0]!.topCustomers![0]!.key).toBe('Łódź');
    });
  });

  it('turns a result that fails its schema into a final input error, never a retry', () => {
    let error: unknown;
    try {
      validated({ schemaVersion: 1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TallyError);
    expect(isInputError(error)).toBe(true);
    expect((error as TallyError).message).toMatch(
      /^The analysis of this file produced figures a result cannot hold \(at input, rows/,
    );
  });
});
