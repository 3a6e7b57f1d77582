// Text from the file (or from a server echoing it) reaches a terminal only through here:
// control characters, terminal escape sequences and the Unicode characters that reorder or
// hide text (bidi overrides and isolates, zero-width marks, line separators) are written as
// visible escapes, \x1b or \u202e, so a message cannot repaint the screen or disguise itself.

// C0 controls except the ones a message may use for layout, DEL, C1 controls, and the
// invisible formatting characters: ALM, ZWSP..RLM, LS/PS, LRE..RLO, word joiner and
// invisible operators, LRI..PDI, BOM/ZWNBSP, interlinear annotations.
const UNSAFE_INLINE =
  /[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;
const UNSAFE_KEEP_LAYOUT =
  /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;

function escapeChar(ch: string): string {
  const c = ch.charCodeAt(0);
  return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
}

/** One-line text with every control or invisible formatting character escaped. */
export function escapeControl(s: string): string {
  return s.replace(UNSAFE_INLINE, escapeChar);
}

/** The same, keeping newlines and tabs (multi-line messages such as SQL). */
export function escapeControlKeepLayout(s: string): string {
  return s.replace(UNSAFE_KEEP_LAYOUT, escapeChar);
}
