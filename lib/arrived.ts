/** Text a message may repeat: short, printable ASCII, nothing that quotes or marks up. */
const REPEATABLE = /^[ !#-&(-;=?-[\]-~]{0,40}$/;
/** An ID number anywhere in the text (GB 11643: 17 digits and a check character). */
const ID_NUMBER = /\d{17}[\dXx]/;

/**
 * What arrived, for a message that says what was expected and what arrived (CONVENTIONS
 * habit 2) without repeating personal data: a short printable value that holds no ID
 * number is quoted as it came; anything else (an ID number, a name in Chinese, markup,
 * a page of text) is described by its kind and length. The caller put it there, but the
 * message goes on to whatever the front end logs and shows.
 */
export function arrived(value: unknown): string {
  if (typeof value === 'string') return REPEATABLE.test(value) && !ID_NUMBER.test(value) ? JSON.stringify(value) : `a text of ${[...value].length} characters`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  return value === undefined ? 'nothing' : 'an object';
}
