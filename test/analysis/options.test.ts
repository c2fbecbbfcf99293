import { describe, expect, it } from 'vitest';
import { canonicalEncoding, jobOptionsSchema } from '../../src/analysis/options.ts';

describe('options.encoding', () => {
  it.each([
    ['utf-8', 'utf-8'],
    ['UTF8', 'utf-8'],
    ['latin1', 'windows-1252'], // the WHATWG Encoding Standard reads Latin-1 labels as 1252
    ['cp1252', 'windows-1252'],
    ['iso-8859-2', 'iso-8859-2'],
    ['utf-16le', 'utf-16le'],
    ['Shift_JIS', 'shift_jis'],
  ])('%j is read as %j', (label, name) => {
    expect(jobOptionsSchema.parse({ encoding: label })).toEqual({ encoding: name });
  });

  it.each(['klingon', '', 'iso-2022-kr' /* the "replacement" encoding: everything U+FFFD */])(
    'refuses %j with a message naming encodings',
    (label) => {
      const parsed = jobOptionsSchema.safeParse({ encoding: label });
      expect(parsed.success).toBe(false);
      expect(parsed.error!.issues[0]!.message).toMatch(/text encoding such as "utf-8", "windows-1252"/);
      expect(canonicalEncoding(label)).toBeNull();
    },
  );
});
