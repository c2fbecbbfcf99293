import { describe, expect, it } from 'vitest';
import { KeyIndex, hashKey, hashUnits } from '../../src/analysis/aggregate/key-index.ts';

// A spill merge looks keys up from their UTF-16LE bytes (findUnits) in tables whose other
// keys may have come in as strings (find): both must give one key one id.

const keys = ['', 'c1', 'ç12', '客户-7', '\u{1F642} smile', 'x'.repeat(300), 'Zoë\u0000end'];
const bytesOf = (key: string) => Buffer.concat([Buffer.alloc(3), Buffer.from(key, 'utf16le')]);

describe('KeyIndex from code units', () => {
  it('hashes a key the same from its bytes as from its string', () => {
    for (const key of keys) expect(hashUnits(bytesOf(key), 3, key.length)).toBe(hashKey(key));
  });

  it('finds from bytes the keys inserted as strings, and inserts from bytes what it did not find', () => {
    const index = new KeyIndex();
    const half = keys.slice(0, 4);
    for (const key of half) {
      expect(index.find(key)).toBe(-1);
      index.insert();
    }
    for (const [id, key] of keys.entries()) {
      const bytes = bytesOf(key);
      const found = index.findUnits(bytes, 3, key.length, hashUnits(bytes, 3, key.length));
      expect(found).toBe(id < half.length ? id : -1);
      if (found < 0) expect(index.insert()).toBe(id);
    }
    for (const [id, key] of keys.entries()) {
      expect(index.find(key)).toBe(id);
      expect(index.keyOf(id)).toBe(key);
    }
  });
});
