/**
 * Key cells (customer, product, region) and other file text that reaches the result
 * (header names, currency texts). The rule (docs/reference.md, "Values"):
 *
 * - surrounding whitespace is trimmed; a key that is then empty is blank: it counts in the
 *   totals but is no key (no customer, no product, no region);
 * - control characters are removed, not the row: C0 controls other than tab, LF and CR
 *   (U+0000–U+0008, U+000B, U+000C, U+000E–U+001F), DEL and the C1 controls
 *   (U+007F–U+009F). They are invisible, carry no meaning in a name, and PostgreSQL's jsonb
 *   cannot hold U+0000 at all. The date and amount of such a row are fine, so its revenue
 *   counts; a key made of control characters only is blank.
 */

/** True for a character the rule above removes. */
function isControl(c: number): boolean {
  return (c < 32 && c !== 9 && c !== 10 && c !== 13) || (c >= 0x7f && c <= 0x9f);
}

/** `text` without the control characters of the rule above (not trimmed). */
export function withoutControls(text: string): string {
  let i = 0;
  const n = text.length;
  while (i < n && !isControl(text.charCodeAt(i))) i++;
  if (i === n) return text;
  let out = text.slice(0, i);
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (!isControl(c)) out += text[i];
  }
  return out;
}

/**
 * The key of a key cell: trimmed, control characters removed; '' for a blank cell. The hot
 * path is one unsigned compare per character (printable ASCII is 32..126); only other
 * characters are looked at closely, and real keys almost never hold a control character.
 */
export function keyOf(text: string): string {
  const t = text.trim();
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if ((c - 32) >>> 0 >= 95 && isControl(c)) return withoutControls(t).trim();
  }
  return t;
}

/** v1.2: cells that mean "no value" (docs/reference.md, "Values"): a key reading so is blank. */
const NA_LIKE = new Set(['na', 'n/a', 'null', 'none', '-', '--', '(blank)', '(none)']);

/** Is this key (trimmed, as `keyOf` gives it) one of the NA-like texts? Cheap on real keys. */
export function isNaLike(key: string): boolean {
  if (key.length > 7) return false;
  // Each NA-like text starts with n, N, '-' or '(': one compare turns most keys away.
  const c = key.charCodeAt(0);
  if ((c | 0x20) !== 0x6e && c !== 45 && c !== 40) return false;
  return NA_LIKE.has(key.toLowerCase());
}
