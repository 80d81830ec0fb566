/**
 * Text read back from the audit store (a chain ID, a key ID, a sequence SQLite kept as
 * text), as it may be shown to a person. Whoever can write to the store chooses that text:
 * terminal control sequences in it (cursor up, erase line, conceal) could print "ok" over
 * a real "BAD" line of `audit:verify`, and bidirectional overrides could reorder what a
 * line seems to say. Every C0 and C1 control character, DEL, and every bidirectional
 * control is written as a `\uXXXX` escape instead; everything else is kept.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
